"""Every layer kind of a normal course works end to end: a model built of it is captured, verified
on the trusted side, matched by its structure pattern, rebuilt with another hidden size, trained
under the recipe and scored. One generated data set (sequences of 8 steps of 2 values, their next
sum), four models read it: a GRU, a 1-d convolution with pooling, an MLP with layer norm and
dropout, an MLP with batch norm."""

from __future__ import annotations

import pytest

from grader.pipeline import grade_file, load_assignment

DATA = '''
import numpy as np


def sequences(rng, n=240):
    x = rng.normal(0.0, 1.0, size=(n, 8, 2))
    return {"x": x, "y": x[:, -1, :].sum(axis=1, keepdims=True)}
'''
MODEL = '''
[[models]]
id = "{id}"
title = {{ ja = "{id}", en = "{id}" }}
class_names = ["{cls}"]
args = {{ {arg} = 8 }}
features = "all"
input_shape = {shape}
target = [0]
outputs = 1
structure = {{ pattern = {pattern}, hidden_arg = "{arg}" }}
metric = {{ name = "test_mse", kind = "mse", full_credit = 0.5, zero_credit = 3.0 }}
'''
MODELS = [
    ("gru", "GRUNet", "n_hidden", [8, 2], ["gru(2,n_hidden)", "linear(n_hidden,1)"]),
    ("conv", "ConvNet", "n_channels", [2, 8], ["conv1d(2,n_channels,k=3)", "relu", "maxpool1d(2)", "linear(*,1)"]),
    ("layernorm", "NormMLP", "n_hidden", [16], ["linear(16,n_hidden)", "layernorm(n_hidden)", "relu", "dropout",
                                                "linear(n_hidden,1)"]),
    ("batchnorm", "BatchMLP", "n_hidden", [16], ["linear(16,n_hidden)", "batchnorm(n_hidden)", "relu",
                                                 "linear(n_hidden,1)"]),
]
SPEC = '''
id = "kinds"
lang = "en"
title = { ja = "層の種類", en = "Layer kinds" }

[dataset]
name = "generated"
generator = "sequences"
split = "random"

[recipe]
lr = 0.01
epochs = 60
batch_size = 32
seeds = [0]
''' + "".join(MODEL.format(id=i, cls=c, arg=a, shape=s, pattern=str(p).replace("'", '"')) for i, c, a, s, p in MODELS)
SOLUTION = '''
import torch
from torch import nn


class GRUNet(nn.Module):
    def __init__(self, n_hidden):
        super().__init__()
        self.gru = nn.GRU(2, n_hidden, batch_first=True)
        self.head = nn.Linear(n_hidden, 1)

    def forward(self, x):
        out, _ = self.gru(x)
        return self.head(out[:, -1])


class ConvNet(nn.Module):
    def __init__(self, n_channels):
        super().__init__()
        self.conv = nn.Conv1d(2, n_channels, kernel_size=3, padding=1)
        self.pool = nn.MaxPool1d(2)
        self.head = nn.Linear(n_channels * 4, 1)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv(x)))
        return self.head(x.flatten(1))


class NormMLP(nn.Module):
    def __init__(self, n_hidden):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(16, n_hidden), nn.LayerNorm(n_hidden), nn.ReLU(), nn.Dropout(0.1),
                                  nn.Linear(n_hidden, 1))

    def forward(self, x):
        return self.body(x)


class BatchMLP(nn.Module):
    def __init__(self, n_hidden):
        super().__init__()
        self.fc1 = nn.Linear(16, n_hidden)
        self.norm = nn.BatchNorm1d(n_hidden)
        self.fc2 = nn.Linear(n_hidden, 1)

    def forward(self, x):
        return self.fc2(torch.relu(self.norm(self.fc1(x))))
'''


# Every size written in: the models work, but none follows its constructor's argument.
FIXED = (SOLUTION.replace("nn.GRU(2, n_hidden,", "nn.GRU(2, 8,").replace("nn.Linear(n_hidden, 1)", "nn.Linear(8, 1)")
         .replace("nn.Conv1d(2, n_channels,", "nn.Conv1d(2, 8,").replace("n_channels * 4", "32")
         .replace("nn.Linear(16, n_hidden)", "nn.Linear(16, 8)").replace("nn.LayerNorm(n_hidden)", "nn.LayerNorm(8)")
         .replace("nn.BatchNorm1d(n_hidden)", "nn.BatchNorm1d(8)"))


def grade(tmp_path_factory, source: str):
    folder = tmp_path_factory.mktemp("kinds") / "kinds"
    folder.mkdir()
    (folder / "assignment.toml").write_text(SPEC, encoding="utf-8")
    (folder / "data.py").write_text(DATA, encoding="utf-8")
    submission = folder.parent / "solution.py"
    submission.write_text(source, encoding="utf-8")
    return grade_file(submission, load_assignment(str(folder)), lang="en")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    return grade(tmp_path_factory, SOLUTION)


@pytest.fixture(scope="module")
def fixed(tmp_path_factory):
    return grade(tmp_path_factory, FIXED)


@pytest.mark.parametrize("model", [m[0] for m in MODELS])
def test_a_model_of_each_layer_kind_is_captured_matched_and_trained(graded, model):
    checks = {c.id.split(".", 1)[1]: c for c in graded.result.checks if c.id.startswith(model + ".")}
    assert {name: c.status for name, c in checks.items() if c.status != "passed"} == {}, [
        (c.id, c.message) for c in checks.values() if c.status != "passed"]
    assert {"capture", "structure", "forward_shape", "grad_flow", "test_mse"} <= set(checks)
    assert checks["capture"].message.startswith("Captured as a graph")
    assert graded.result.metrics[f"{model}.test_mse"] < 0.5


@pytest.mark.parametrize(("model", "argument"), [(m[0], m[2]) for m in MODELS])
def test_the_class_built_again_with_another_size_shows_a_size_written_in(fixed, model, argument):
    """The grader builds each class again with `probe_hidden` (5) for its argument: sizes written in stay 8."""
    checks = {c.id.split(".", 1)[1]: c for c in fixed.result.checks if c.id.startswith(model + ".")}
    assert (checks["structure"].status, checks["structure"].message) == (
        "failed", f"The layers do not follow the constructor argument {argument} (the layers when rebuilt with "
                  f"{argument} = 5).")
    assert checks["test_mse"].status == "passed"  # the model itself works
