"""sine_lstm (grader/assignments/sine_lstm): sequences its data.py generates under a seed, an LSTM
with its hidden size a named argument, MSE, and the report's sequence plot. The bundled examples
replay their recorded runs (tests/fixtures/record_observations.py)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from conftest import model_checks, replayed

from grader.outputs.report.html import render_report
from grader.result import CheckResult, Graded
from grader.spec import AssignmentError, load_assignment
from grader.spec.datasets.generated import GeneratedDataError, generate


@pytest.fixture(scope="module")
def sine():
    return load_assignment("sine_lstm")


def _graded(name: str) -> tuple[Graded, dict[str, CheckResult]]:
    graded = replayed(name)
    return graded, model_checks(graded.result, "lstm")


@pytest.mark.parametrize("name", ["sine_solution_py", "sine_solution_ipynb"])
def test_the_reference_scores_full_marks_and_its_report_draws_the_sequences(name, sine):
    graded, checks = _graded(name)
    assert graded.result.score == graded.result.max_score == 5
    assert checks["capture"].status == "passed"  # the LSTM's graph, trained by the trusted side
    assert checks["structure"].found == "lstm(1,16,layers=1,bidirectional=false) → linear(16,1)"
    assert float(checks["test_mse"].found) < 0.012
    page = render_report(graded, sine)
    assert "Sequences and their predicted next value (test data)" in page
    assert "The first 3 test sequences (lines)" in page


def test_an_mlp_in_place_of_the_lstm_fails_structure_saying_so():
    graded, checks = _graded("sine_mlp")
    assert (checks["structure"].status, checks["structure"].message) == (
        "failed", "forward has no lstm layer; the assignment's layers need one.")
    assert graded.result.score == 4


def test_a_prediction_per_step_fails_the_shape_and_skips_the_metric():
    graded, checks = _graded("sine_every_step")
    assert checks["forward_shape"].status == "failed" and checks["forward_shape"].found == "(150, 20, 1)"
    assert checks["test_mse"].status == "skipped"
    assert graded.result.score == 2


def test_a_hidden_size_written_into_init_is_said_to_ignore_the_argument():
    graded, checks = _graded("sine_fixed_hidden")
    structure = checks["structure"]
    assert structure.message == ("The layers do not follow the constructor argument n_hidden (the layers when "
                                 "rebuilt with n_hidden = 5).")
    assert structure.expected == "lstm(1,5) → linear(5,1)"
    assert structure.found == "lstm(1,32,layers=1,bidirectional=false) → linear(32,1)"


def test_the_generated_data_is_the_same_for_the_same_seed_and_split_apart(sine):
    split = sine.splits()["lstm"]
    assert split.train_x.shape == (450, 20, 1) and split.test_x.shape == (150, 20, 1) and split.test_y.shape == (150, 1)
    again = load_assignment("sine_lstm").splits()["lstm"]
    assert np.array_equal(again.test_x, split.test_x) and np.array_equal(again.test_y, split.test_y)
    other = sine.spec.dataset.model_copy(update={"seed": 1})
    assert not np.array_equal(generate(other, sine.data_files["data.py"]).features, generate(sine.spec.dataset, sine.data_files["data.py"]).features)
    public = sine.public().splits()["lstm"]
    assert (len(public.train_x), len(public.test_x)) == (360, 90)  # self-checks: a fifth of the training rows


def test_the_data_file_is_part_of_the_spec_hash(sine, tmp_path):
    folder = tmp_path / "sine_lstm"
    shutil.copytree(sine.folder, folder)
    data = folder / "data.py"
    data.write_text(data.read_text(encoding="utf-8").replace("noise=0.05", "noise=0.06"), encoding="utf-8")
    assert load_assignment(str(folder)).spec_sha256 != sine.spec_sha256


@pytest.mark.parametrize(("source", "error"), [
    (None, "data.py: not found: [dataset] generator = 'sine_waves' is a function written in that file"),
    (b"def other(rng):\n    return {}\n", "data.py: no function 'sine_waves'"),
    (b"def sine_waves(rng, **options):\n    raise RuntimeError('no')\n", "sine_waves(...) raised RuntimeError: no"),
    (b"def sine_waves(rng, **options):\n    return {'x': [[1.0]] * 5}\n", "must return a dict with \"x\" and \"y\""),
    (b"import numpy as np\ndef sine_waves(rng, **o):\n    return {'x': np.zeros((5, 20, 1)), 'y': np.zeros((4, 1))}\n",
     "\"y\" must have one row per row of \"x\" (5)"),
    (b"import numpy as np\ndef sine_waves(rng, **o):\n    return {'x': np.full((5, 20, 1), np.nan), 'y': np.zeros((5, 1))}\n",
     "a value that is not finite"),
    (b"import numpy as np\ndef sine_waves(rng, **o):\n    return {'x': np.zeros((5, 10, 1)), 'y': np.zeros((5, 1))}\n",
     "models.0.features (lstm): the data's inputs hold 10 numbers each, the model reads 20"),
])
def test_a_generator_that_cannot_be_graded_is_refused_when_the_spec_loads(sine, tmp_path, source, error):
    folder = tmp_path / "sine_lstm"
    shutil.copytree(sine.folder, folder)
    (folder / "data.py").unlink()
    if source is not None:
        (folder / "data.py").write_bytes(source)
    with pytest.raises(AssignmentError) as raised:
        load_assignment(str(folder))
    assert error in str(raised.value)
    assert str(folder / "data.py") in str(raised.value)


def test_generated_data_needs_a_generator_and_a_generator_needs_generated_data():
    with pytest.raises(GeneratedDataError.__mro__[1]):  # a ValueError, which pydantic names with its key
        from grader.spec.schema import Dataset

        Dataset(name="iris", generator="sine_waves")
