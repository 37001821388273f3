"""Every layer kind of a normal course works end to end: a model built of it is captured, verified
on the trusted side, matched by its structure pattern, rebuilt with another hidden size, trained
under the recipe and scored. One generated data set (sequences of 8 steps of 2 values, their last
step's sum), five models read it: a GRU, a plain RNN, a 1-d convolution with pooling, an MLP with
layer norm and dropout, an MLP with batch norm; and an embedding reads sentences of indices."""

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
    ("rnn", "RNNet", "n_hidden", [8, 2], ["rnn(2,n_hidden)", "linear(n_hidden,1)"]),
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


class RNNet(nn.Module):
    def __init__(self, n_hidden):
        super().__init__()
        self.rnn = nn.RNN(2, n_hidden, batch_first=True)
        self.head = nn.Linear(n_hidden, 1)

    def forward(self, x):
        out, _ = self.rnn(x)
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
FIXED = (SOLUTION.replace("nn.GRU(2, n_hidden,", "nn.GRU(2, 8,").replace("nn.RNN(2, n_hidden,", "nn.RNN(2, 8,")
         .replace("nn.Linear(n_hidden, 1)", "nn.Linear(8, 1)")
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


# An embedding reads indices: sentences of 6 words of a vocabulary of 20, the share of words below 5.
WORDS_DATA = '''
import numpy as np


def sentences(rng, n=400, length=6, vocabulary=20):
    x = rng.integers(0, vocabulary, size=(n, length))
    return {"x": x, "y": (x < 5).mean(axis=1, keepdims=True) + rng.normal(0.0, 0.05, size=(n, 1))}
'''
WORDS_SPEC = SPEC.split("[[models]]")[0].replace('generator = "sequences"', 'generator = "sentences"') + '''
[[models]]
id = "bag"
title = { ja = "埋め込み", en = "Embedding" }
class_names = ["Bag"]
args = { n_dim = 8 }
features = "all"
input_shape = [6]
inputs = "indices"
vocabulary = 20
target = [0]
outputs = 1
structure = { pattern = ["embedding(20,n_dim)", "linear(n_dim,1)"], hidden_arg = "n_dim" }
metric = { name = "test_mse", kind = "mse", full_credit = 0.01, zero_credit = 0.05 }
'''
BAG = '''
from torch import nn


class Bag(nn.Module):
    def __init__(self, n_dim):
        super().__init__()
        self.embedding = nn.Embedding(20, n_dim)
        self.head = nn.Linear(n_dim, 1)

    def forward(self, x):
        return self.head(self.embedding(x).mean(dim=1))
'''


def words(tmp_path, spec: str = WORDS_SPEC, data: str = WORDS_DATA):
    folder = tmp_path / "words"
    folder.mkdir(exist_ok=True)
    (folder / "assignment.toml").write_text(spec, encoding="utf-8")
    (folder / "data.py").write_text(data, encoding="utf-8")
    return load_assignment(str(folder))


@pytest.mark.parametrize(("source", "structure"), [
    (BAG, ("passed", "The layers are as expected: embedding(20,8) → linear(8,1)")),
    (BAG.replace("nn.Embedding(20, n_dim)", "nn.Embedding(20, 8)").replace("nn.Linear(n_dim, 1)", "nn.Linear(8, 1)"),
     ("failed", "The layers do not follow the constructor argument n_dim (the layers when rebuilt with n_dim = 5).")),
])
def test_an_embedding_reads_its_indices_on_the_trusted_side(tmp_path, source, structure):
    assignment = words(tmp_path)
    split = assignment.splits()["bag"]
    assert split.indices and split.train_x.shape == (300, 6)
    submission = tmp_path / "bag.py"
    submission.write_text(source, encoding="utf-8")
    result = grade_file(submission, assignment, lang="en").result
    checks = {c.id: c for c in result.checks}
    assert checks["bag.capture"].status == "passed"
    assert (checks["bag.structure"].status, checks["bag.structure"].message) == structure
    assert checks["bag.test_mse"].status == "passed" and result.metrics["bag.test_mse"] < 0.01


def test_an_embedding_not_captured_reads_its_indices_in_the_sandbox(tmp_path):
    """A model the spec has graded the old way (capture off) is trained by the harness, on int64 too."""
    assignment = words(tmp_path, WORDS_SPEC + "checks = { capture = { enabled = false } }\n")
    submission = tmp_path / "bag.py"
    submission.write_text(BAG, encoding="utf-8")
    result = grade_file(submission, assignment, lang="en").result
    assert "bag.capture" not in {c.id for c in result.checks}
    assert result.score == result.max_score and result.metrics["bag.test_mse"] < 0.01, [
        (c.id, c.message) for c in result.checks if c.status != "passed"]


@pytest.mark.parametrize(("change", "error"), [
    (lambda spec, data: (spec.replace("vocabulary = 20\n", ""), data),
     'inputs = "indices" needs a `vocabulary` (how many indices there are)'),
    (lambda spec, data: (spec.replace("vocabulary = 20", "vocabulary = 10"), data),
     "data.py: models.0.vocabulary (bag): the inputs must be whole numbers from 0 to 9 (they run from 0 to 19)"),
    (lambda spec, data: (spec, data.replace("x = rng.integers(0, vocabulary, size=(n, length))",
                                            "x = rng.integers(0, vocabulary, size=(n, length)) + 0.5")),
     "the inputs must be whole numbers from 0 to 19 (they run from 0.5 to 19.5)"),
    (lambda spec, data: (spec.replace('split = "random"', 'split = "random"\npreprocess = "standardize"'), data),
     "models.0.inputs (bag): indices are read as they are, and dataset.preprocess = 'standardize' would scale them"),
])
def test_index_inputs_that_do_not_fit_are_refused_when_the_spec_loads(tmp_path, change, error):
    from grader.spec import AssignmentError

    spec, data = change(WORDS_SPEC, WORDS_DATA)
    with pytest.raises(AssignmentError) as refused:
        words(tmp_path, spec, data)
    assert error in str(refused.value)
