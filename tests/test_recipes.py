"""Recipes beyond the lesson's: the losses of grader.train.losses (with class weights), SGD with
momentum (and Nesterov's), AdamW and weight decay, learning-rate schedules and gradient clipping,
each checked where the spec loads."""

from __future__ import annotations

import shutil

import pytest
import torch
from fixtures.submissions import ASSIGNMENT_DIR, solution_class_sources, substitute
from test_datasets import WINE_SPEC, wine_assignment

from grader.pipeline import grade_file, load_assignment
from grader.protocol.wire import Recipe
from grader.spec import AssignmentError
from grader.train.loop import SeedRun, fit, make_optimizer, make_schedule
from grader.train.losses import LOSSES, loss_for

# The lesson's logistic regression without its sigmoid: it outputs logits, for cross-entropy.
LOGITS = "import torch\n\n\n" + substitute(solution_class_sources()["LR"], [("torch.sigmoid(h1)", "h1")]) + "\n"


def wire_recipe(**changes: object) -> Recipe:
    fields: dict[str, object] = {"optimizer": "adam", "lr": 0.05, "epochs": 5, "batch_size": 10, "seeds": [0],
                                 "train_seeds_together": True, **changes}
    return Recipe(**fields)  # type: ignore[arg-type]


def test_each_loss_is_torchs_on_one_hot_or_value_targets():
    logits = torch.tensor([[2.0, -1.0, 0.5], [0.1, 0.2, 3.0]])
    one_hot = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    labels = torch.tensor([0, 2])
    assert torch.allclose(LOSSES["cross_entropy"](logits, one_hot), torch.nn.CrossEntropyLoss()(logits, labels))
    log_probabilities = torch.log_softmax(logits, dim=1)
    assert torch.allclose(LOSSES["nll"](log_probabilities, one_hot), torch.nn.NLLLoss()(log_probabilities, labels))
    probabilities = torch.sigmoid(logits)
    assert torch.allclose(LOSSES["bce"](probabilities, one_hot), torch.nn.BCELoss()(probabilities, one_hot))
    assert torch.allclose(LOSSES["bce_with_logits"](logits, one_hot), torch.nn.BCEWithLogitsLoss()(logits, one_hot))
    assert torch.allclose(LOSSES["mae"](logits, one_hot), torch.nn.L1Loss()(logits, one_hot))


def test_class_weights_weigh_cross_entropy_and_nll_as_torch_does():
    logits = torch.tensor([[2.0, -1.0, 0.5], [0.1, 0.2, 3.0], [0.3, 0.1, -0.2]])
    one_hot, labels = torch.eye(3)[[0, 2, 1]], torch.tensor([0, 2, 1])
    weights = [1.0, 3.0, 0.5]
    weight = torch.tensor(weights)
    assert torch.allclose(loss_for("cross_entropy", class_weights=weights)(logits, one_hot),
                          torch.nn.CrossEntropyLoss(weight=weight)(logits, one_hot))
    log_probabilities = torch.log_softmax(logits, dim=1)
    assert torch.allclose(loss_for("nll", class_weights=weights)(log_probabilities, one_hot),
                          torch.nn.NLLLoss(weight=weight)(log_probabilities, labels))
    # A softmax output trains with the loss that computes the same on probabilities, weights included.
    assert torch.allclose(loss_for("cross_entropy", "softmax", weights)(torch.softmax(logits, dim=1), one_hot),
                          torch.nn.CrossEntropyLoss(weight=weight)(logits, one_hot))


def test_the_schedules_set_the_learning_rate_of_each_epoch():
    def rates(**changes: object) -> list[float]:
        parameter = torch.nn.Parameter(torch.zeros(1))
        recipe = wire_recipe(lr=1.0, epochs=4, **changes)
        optimizer = make_optimizer(recipe, [parameter])
        schedule = make_schedule(recipe, optimizer)
        seen = []
        for _ in range(recipe.epochs):
            seen.append(round(optimizer.param_groups[0]["lr"], 6))
            optimizer.step()  # no gradient: a step that changes nothing, as torch wants one before the schedule's
            if schedule is not None:
                schedule.step()
        return seen

    assert rates() == [1.0, 1.0, 1.0, 1.0]
    assert rates(schedule="step", step_epochs=2, gamma=0.1) == [1.0, 1.0, 0.1, 0.1]
    assert rates(schedule="cosine") == [1.0, 0.853553, 0.5, 0.146447]


def test_clipping_bounds_each_seeds_gradient_norm():
    x, y = torch.randn(20, 4, generator=torch.Generator().manual_seed(2)) * 100, torch.eye(3)[torch.arange(20) % 3]
    recipe = wire_recipe(optimizer="sgd", lr=1.0, epochs=1, batch_size=20, loss="cross_entropy", clip_norm=0.01)
    run = SeedRun.build(lambda: torch.nn.Linear(4, 3), 0)
    before = [p.detach().clone() for p in run.instance.parameters()]
    fit([run], recipe, x, y, deadline=float("inf"))
    step = torch.cat([(p.detach() - b).flatten() for p, b in zip(run.instance.parameters(), before)])
    assert float(step.norm()) <= 0.01 + 1e-6  # lr 1 times a gradient clipped to a norm of 0.01


def test_the_optimizers_are_made_as_the_recipe_says():
    parameters = [torch.nn.Parameter(torch.zeros(3))]
    sgd = make_optimizer(wire_recipe(optimizer="sgd", momentum=0.9, nesterov=True, weight_decay=0.01), parameters)
    assert isinstance(sgd, torch.optim.SGD)
    assert (sgd.defaults["momentum"], sgd.defaults["nesterov"], sgd.defaults["weight_decay"]) == (0.9, True, 0.01)
    adamw = make_optimizer(wire_recipe(optimizer="adamw", weight_decay=0.1), parameters)
    assert isinstance(adamw, torch.optim.AdamW) and adamw.defaults["weight_decay"] == 0.1


@pytest.mark.parametrize("changes", [
    {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True},
    {"schedule": "step", "step_epochs": 2, "gamma": 0.5, "clip_norm": 0.05, "class_weights": [1.0, 2.0, 0.5]},
    {"schedule": "cosine", "clip_norm": 0.5},
])
def test_seeds_trained_together_match_seeds_trained_alone_with_cross_entropy(changes):
    """Momentum, a schedule, clipping (each seed's own norm) and class weights included."""
    x, y = torch.randn(40, 4, generator=torch.Generator().manual_seed(1)), torch.eye(3)[torch.arange(40) % 3]
    recipe = wire_recipe(loss="cross_entropy", seeds=[0, 1], **changes)

    def trained(seeds: list[int]) -> list[list[float]]:
        runs = [SeedRun.build(lambda: torch.nn.Linear(4, 3), seed) for seed in seeds]
        return fit(runs, recipe, x, y, deadline=float("inf"))

    assert trained([0, 1]) == trained([0]) + trained([1])  # bit for bit


@pytest.mark.parametrize("recipe, message", [
    ('loss = "cross_entropy"', 'recipe.loss (mlr): cross_entropy needs a class target (target = "class"), not columns [3]'),
    ('loss = "mse"\nmomentum = 0.9', "momentum and nesterov are sgd's: adam has none"),
    ('loss = "mse"\noptimizer = "sgd"\nnesterov = true', "nesterov needs a momentum above 0"),
    ('loss = "mse"\nclass_weights = [1.0, 2.0]', "class_weights weigh cross_entropy or nll, not mse"),
    ('loss = "mse"\nschedule = "linear"', "recipe.schedule: Input should be 'none', 'step' or 'cosine'"),
])
def test_a_recipe_that_cannot_train_is_refused_with_its_key(tmp_path, recipe, message):
    folder = tmp_path / "lesson"
    shutil.copytree(ASSIGNMENT_DIR, folder)
    spec = (folder / "assignment.toml").read_text(encoding="utf-8")
    spec = spec.replace('optimizer = "adam"\n', "").replace('loss = "mse"', recipe if "optimizer" in recipe
                                                            else 'optimizer = "adam"\n' + recipe)
    (folder / "assignment.toml").write_text(spec, encoding="utf-8")
    with pytest.raises(AssignmentError) as refused:
        load_assignment(str(folder))
    assert message in str(refused.value)


def test_a_logits_classifier_trained_with_cross_entropy_and_nesterov_momentum_gets_full_marks(tmp_path):
    spec = WINE_SPEC.replace("[recipe]\n", '[recipe]\nloss = "cross_entropy"\noptimizer = "sgd"\nlr = 0.1\n'
                                           "momentum = 0.9\nnesterov = true\n").replace(
        'layers = ["linear", "sigmoid"]', 'layers = ["linear"]')
    solution = tmp_path / "logits.py"
    solution.write_text(LOGITS, encoding="utf-8")
    result = grade_file(solution, wine_assignment(tmp_path, spec), lang="en").result
    assert (result.status, result.score, result.max_score) == ("graded", 5.0, 5.0), [
        (c.id, c.message) for c in result.checks if c.status != "passed"]
    assert result.metrics["lr.test_accuracy"] >= 0.9
