"""The reference solutions score full marks on every seed of the recipe, not only on the best one."""

from pathlib import Path

import pytest

from grader.pipeline import grade_file
from grader.spec import load_assignment

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", ["solution.py", "solution.ipynb"])
def test_every_seed_reaches_full_credit(name: str) -> None:
    assignment = load_assignment("iris_basics")
    graded = grade_file(ROOT / "solutions" / "iris_basics" / name, assignment, lang="en")
    assert graded.result.score == graded.result.max_score == 25
    for model in assignment.spec.models:
        per_seed = graded.outcomes[model.id].per_seed
        assert len(per_seed) == len(assignment.spec.recipe_for(model).seeds)
        for value in per_seed:
            assert value is not None
            if model.metric.kind == "mse":
                assert value <= model.metric.full_credit, (model.id, per_seed)
            else:
                assert value >= model.metric.full_credit, (model.id, per_seed)
