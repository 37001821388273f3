"""The instructor's checks of iris_checks: each a function of a `CheckContext` that returns an
`Outcome` (grader/checks/api.py), declared with its points and texts in assignment.toml.

They run on the grader's trusted side with the student's model as data: its captured graph's
layers and parameters, and `predict`, which runs the rebuilt graph in the trusted evaluation.
"""

from __future__ import annotations

import numpy as np
import torch

from grader.checks.api import CheckContext, Outcome


def at_most_parameters(model: CheckContext) -> Outcome:
    """No more parameters than `options.max`."""
    most = int(model.options["max"])
    count = model.parameter_count
    verdict = Outcome.passed if count <= most else Outcome.failed
    return verdict(expected=f"≤ {most:,}", found=f"{count:,}", count=f"{count:,}", max=f"{most:,}")


def dropout_between_hidden_layers(model: CheckContext) -> Outcome:
    """A dropout after the first hidden layer and before the second: between the first two linear
    layers of the data flow (an activation may come on either side of it)."""
    linear = [index for index, layer in enumerate(model.layers) if layer.startswith("linear")]
    shown = " → ".join(model.layers)
    if len(linear) < 3:  # two hidden layers need three linear ones
        return Outcome.failed(layers=shown)
    between = model.layers[linear[0] + 1:linear[1]]
    verdict = Outcome.passed if "dropout" in between else Outcome.failed
    return verdict(layers=shown)


def ignores_feature(model: CheckContext) -> Outcome:
    """The trained model's predictions do not change when the column `options.feature` of the test
    inputs is shuffled over the rows (an invariance: the model does not use that column)."""
    feature = int(model.options["feature"])
    inputs = np.array(model.data.test_x, dtype=np.float64)
    shuffled = inputs.copy()
    shuffled[:, feature] = np.random.default_rng(0).permutation(shuffled[:, feature])
    before, after = model.predict_many([inputs, shuffled])
    change = float(np.max(np.abs(before - after)))
    verdict = Outcome.passed if change <= 1e-5 else Outcome.failed
    return verdict(expected="0", found=f"{change:.3g}", change=f"{change:.3g}", feature=feature,
                   name=model.options.get("name", f"column {feature}"))


def better_than_linear(model: CheckContext) -> Outcome:
    """The graded test accuracy is at least `options.margin` above that of a linear model (one
    nn.Linear) trained on the same rows under the same recipe."""
    margin = float(model.options["margin"])
    if model.metric is None:
        return Outcome.failed(accuracy="?", linear="?", margin=f"{margin:.0%}")
    width_in, width_out = model.data.train_x.shape[1], model.data.train_y.shape[1]
    linear = model.train(lambda: torch.nn.Linear(width_in, width_out))
    baseline = model.accuracy(model.outputs_of(linear, model.data.test_x))
    verdict = Outcome.passed if model.metric >= baseline + margin else Outcome.failed
    return verdict(expected=f"≥ {baseline + margin:.3f}", found=f"{model.metric:.3f}", accuracy=f"{model.metric:.3f}",
                   linear=f"{baseline:.3f}", margin=f"{margin * 100:g} points")
