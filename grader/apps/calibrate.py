"""`grader calibrate -a PATH SOLUTION --seeds 30 [--write]`: thresholds measured, not guessed.

The reference solution is graded with many seeds (each model trained from that many initialisations
under the assignment's recipe), and so are two baselines: a constant prediction (the training
targets' mean; for a classifier, the majority class) and the reference trained one epoch only (as
good as untrained). A student's metric is the aggregate (best or median, as the recipe says) over
the recipe's k seeds, and a student's correct model is, to the grader, the reference with other
initialisations: so the seeds are cut into groups of k, each aggregated, and for each metric

    full_credit = the worst group's aggregate, eased by `margin` (an MSE times 1 + margin; an
                  accuracy lowered by margin of what it lacks to 1): every group of a correct
                  model gets full credit, with room for honest variation;
    zero_credit = halfway from full credit to the better baseline: a model that has gone half the
                  way to a trivial one scores nothing.

On iris_basics (30 seeds) this proposes the MSE full credits set there by hand (MLR 0.059 for 0.06,
AE 0.15 for 0.15; MLPR 0.046) and zero credits near them (0.33, 0.64 for 0.3, 0.6), and is stricter
on the classifiers (0.96 for 0.9: their worst group of three seeds still reached 73 of 75 rows).

With `--write` the proposals go into assignment.toml, its comments and layout kept (tomlkit).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tomlkit

from grader.checks.metrics import KINDS
from grader.pipeline import grade_file
from grader.spec import SPEC_FILE, LoadedAssignment, parse_assignment
from grader.spec.datasets import Split
from grader.spec.messages import read_messages
from grader.spec.schema import Metric, ModelSpec, Recipe

MARGIN = 0.25


@dataclass(frozen=True)
class Calibration:
    model: str
    metric: Metric
    reference: list[float]  # the reference's metric on each seed
    untrained: list[float]  # the reference after one epoch, on each seed
    constant: float  # the constant prediction's metric
    full_credit: float | None  # proposed; None: the reference is no better than a baseline
    zero_credit: float | None


def with_recipes(loaded: LoadedAssignment, seeds: list[int], epochs: int | None = None) -> LoadedAssignment:
    """The assignment with every recipe (the assignment's and the models' own) given these seeds,
    and these epochs where given."""
    def changed(recipe: Recipe) -> Recipe:
        update: dict[str, object] = {"seeds": seeds}
        if epochs is not None:
            update["epochs"] = epochs
        return recipe.model_copy(update=update)

    spec = loaded.spec
    models = [m.model_copy(update={"recipe": changed(m.recipe)}) if m.recipe is not None else m for m in spec.models]
    return loaded.model_copy(update={"spec": spec.model_copy(update={"recipe": changed(spec.recipe), "models": models})})


def constant_baseline(model: ModelSpec, split: Split) -> float:
    """The metric of predicting one value for every test row: the training targets' mean (a metric
    on values), or the most common training class (a metric on classes)."""
    train_y, test_y = np.asarray(split.train_y, dtype=np.float64), np.asarray(split.test_y, dtype=np.float64)
    kind = KINDS[model.metric.kind]
    if not kind.on_classes:
        constant = np.broadcast_to(train_y.mean(axis=0, keepdims=True), test_y.shape)
        return kind.compute(constant, test_y, np.asarray(split.test_classes))
    train_classes = train_y.argmax(axis=1) if train_y.ndim == 2 and train_y.shape[1] > 1 else np.rint(train_y).ravel()
    majority = int(np.bincount(train_classes.astype(int)).argmax())
    scores = np.zeros((len(test_y), max(int(train_y.shape[1]) if train_y.ndim == 2 else 1, majority + 1)))
    scores[:, majority] = 1.0
    return kind.compute(scores, test_y, np.asarray(split.test_classes))


def groups(values: list[float], size: int, how: str, lower_is_better: bool) -> list[float]:
    """The aggregate of each run of `size` seeds, as a student's k seeds are aggregated."""
    best = min if lower_is_better else max
    cut = [values[i:i + size] for i in range(0, len(values) - size + 1, size)] or ([values] if values else [])
    return [best(group) if how == "best" else statistics.median(group) for group in cut]


def propose(metric: Metric, aggregates: list[float], baseline: float, margin: float) -> tuple[float | None, float | None]:
    if not aggregates:
        return None, None
    if KINDS[metric.kind].lower_is_better:
        worst = max(aggregates)
        full = worst * (1 + margin)
        if full >= baseline:
            return None, None
        full_credit, zero_credit = _significant(full, math.ceil), _significant((full + baseline) / 2, math.floor)
        # A reference barely better than the baseline: the two round to one value, which no spec
        # accepts; zero credit one step (of full credit's last digit) above it.
        step = 10.0 ** (math.floor(math.log10(full_credit)) - 1) if full_credit > 0 else 0.01
        return full_credit, zero_credit if zero_credit > full_credit else round(full_credit + step, 12)
    worst = min(aggregates)
    full = worst - margin * (1 - worst)
    if full <= baseline:
        return None, None
    full_credit, zero_credit = math.floor(full * 100) / 100, math.ceil((full + baseline) / 2 * 100) / 100
    return full_credit, zero_credit if zero_credit < full_credit else round(full_credit - 0.01, 2)


def _significant(value: float, rounding: Callable[[float], int], digits: int = 2) -> float:
    """`value` to `digits` significant digits, rounded by `rounding` (up for a full credit MSE)."""
    if value <= 0:
        return 0.0
    scale = 10.0 ** (digits - 1 - math.floor(math.log10(value)))
    return round(rounding(value * scale) / scale, 12)


def calibrate(loaded: LoadedAssignment, solution: Path, seeds: int, margin: float = MARGIN) -> list[Calibration]:
    seed_list = list(range(seeds))
    trained = grade_file(solution, with_recipes(loaded, seed_list), lang="en")
    untrained = grade_file(solution, with_recipes(loaded, seed_list, epochs=1), lang="en")
    splits = loaded.splits()
    found = []
    for model in loaded.spec.models:
        reference = _finite(trained.outcomes[model.id].per_seed) if model.id in trained.outcomes else []
        barely = _finite(untrained.outcomes[model.id].per_seed) if model.id in untrained.outcomes else []
        constant = constant_baseline(model, splits[model.id])
        candidates = [constant] + ([statistics.median(barely)] if barely else [])
        baseline = min(candidates) if KINDS[model.metric.kind].lower_is_better else max(candidates)
        recipe = loaded.spec.recipe_for(model)
        aggregates = groups(reference, len(recipe.seeds), recipe.aggregate, KINDS[model.metric.kind].lower_is_better)
        full, zero = propose(model.metric, aggregates, baseline, margin)
        found.append(Calibration(model.id, model.metric, reference, barely, constant, full, zero))
    return found


def _finite(values: list[float | None]) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]


def table(found: list[Calibration], seeds: int) -> list[str]:
    lines = [f"{'model':6} {'metric':14} {'reference over ' + str(seeds) + ' seeds (min / median / max)':44} "
             f"{'constant':>9} {'1 epoch':>9}   now (full, zero)    proposed (full, zero)"]
    for c in found:
        ref = (f"{min(c.reference):.4g} / {statistics.median(c.reference):.4g} / {max(c.reference):.4g}"
               f" ({len(c.reference)})") if c.reference else "no finite value"
        barely = f"{statistics.median(c.untrained):.4g}" if c.untrained else "-"
        proposed = (f"{c.full_credit:g}, {c.zero_credit:g}" if c.full_credit is not None
                    else "none: the reference is no better than a baseline")
        now = f"{c.metric.full_credit:g}, {c.metric.zero_credit:g}"
        lines.append(f"{c.model:6} {c.metric.name:14} {ref:44} {c.constant:9.4g} {barely:>9}   {now:19} {proposed}")
    return lines


def write(loaded: LoadedAssignment, found: list[Calibration]) -> Path:
    """The proposals into assignment.toml (comments and layout kept); the file must still load."""
    path = loaded.folder / SPEC_FILE
    document = tomlkit.parse(path.read_text(encoding="utf-8"))
    by_id = {c.model: c for c in found if c.full_credit is not None and c.zero_credit is not None}
    for model in document["models"]:
        chosen = by_id.get(str(model["id"]))
        if chosen is not None:
            model["metric"]["full_credit"] = chosen.full_credit
            model["metric"]["zero_credit"] = chosen.zero_credit
    text = tomlkit.dumps(document)
    parse_assignment(text.encode("utf-8"), loaded.folder, read_messages(loaded.folder),  # still a valid spec
                     loaded.checks_source, loaded.data_files)
    path.write_text(text, encoding="utf-8")
    return path
