"""Measure a reference solution's test metrics over many seeds, to set an assignment's thresholds.

    .venv/bin/python scripts/calibrate.py solutions/iris_basics/solution.py -a iris_basics --seeds 20

Trains every model of the assignment under its recipe with seeds 0..N-1 (instead of the recipe's
own seeds) and prints, per model, the metric's min / median / max and the worst seed. Thresholds
are then set with a margin beyond the worst seed, so that a correct class never loses points to an
unlucky initialisation.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from grader.checks.metrics import aggregate
from grader.evaluate.execute import execute
from grader.i18n import Messages
from grader.intake.submission import read_submission
from grader.pipeline import grade_execution
from grader.spec import LoadedAssignment, load_assignment


def with_seeds(assignment: LoadedAssignment, seeds: list[int]) -> LoadedAssignment:
    spec = assignment.spec
    models = [m.model_copy(update={"recipe": spec.recipe_for(m).model_copy(update={"seeds": seeds})}) for m in spec.models]
    return assignment.model_copy(update={"spec": spec.model_copy(update={"models": models, "timeout_s": 3600})})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("solution", type=Path)
    parser.add_argument("-a", "--assignment", default="iris_basics")
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args()
    original = load_assignment(args.assignment)
    assignment = with_seeds(original, list(range(args.seeds)))
    started = time.perf_counter()
    submission = read_submission(args.solution)
    messages = Messages("en", assignment.messages)
    graded = grade_execution(submission, assignment, execute(submission, assignment), messages, started)
    print(f"{args.solution}: {args.seeds} seeds, {time.perf_counter() - started:.1f} s")
    print(f"{'model':6} {'metric':14} {'min':>8} {'median':>8} {'max':>8} {'worst seed':>10} {'worst group':>11}"
          "  thresholds (full / zero)")
    for model in assignment.spec.models:
        values = [v for v in graded.outcomes[model.id].per_seed if v is not None]
        if not values:
            print(f"{model.id:6} no valid runs")
            continue
        lower_is_better = model.metric.kind == "mse"
        worst = max(values) if lower_is_better else min(values)
        worst_seed = graded.outcomes[model.id].per_seed.index(worst)
        # What a student with a correct class would score: the recipe's rule over disjoint groups of
        # as many seeds as the recipe uses.
        recipe = original.spec.recipe_for(next(m for m in original.spec.models if m.id == model.id))
        size = len(recipe.seeds)
        groups = [aggregate(values[i:i + size], model.metric.kind, recipe.aggregate) for i in range(0, len(values) - size + 1, size)]
        worst_group = max(groups) if lower_is_better else min(groups)
        print(f"{model.id:6} {model.metric.name:14} {min(values):8.4f} {statistics.median(values):8.4f} "
              f"{max(values):8.4f} {worst_seed:10d} {worst_group:11.4f}  {model.metric.full_credit:g} / {model.metric.zero_credit:g}")


if __name__ == "__main__":
    main()
