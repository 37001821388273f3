"""digits_cnn (grader/assignments/digits_cnn): a CNN on the 8×8 digits, graded on its captured graph
with a structure pattern, named constructor arguments, image inputs and cross-entropy. The bundled
examples replay their recorded runs (tests/fixtures/record_observations.py)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import model_checks, replayed

from grader.checks.base import ModelEvidence
from grader.checks.library.structure_pattern import pattern_difference
from grader.pipeline import load_assignment as load_checked
from grader.protocol import ops
from grader.result import CheckResult, Result
from grader.spec import AssignmentError, load_assignment
from grader.spec.datasets import splits_for
from grader.spec.datasets.digits import load as digits_table
from grader.spec.layer_pattern import KINDS, Pattern, PatternError, Token
from grader.spec.schema import Assignment


@pytest.fixture(scope="module")
def digits():
    return load_assignment("digits_cnn")


def _checks(name: str) -> tuple[Result, dict[str, CheckResult]]:
    result = replayed(name).result
    return result, model_checks(result, "cnn")


@pytest.mark.parametrize("name", ["digits_solution_py", "digits_solution_ipynb"])
def test_the_reference_scores_full_marks(name):
    result, checks = _checks(name)
    assert checks["grad_flow"].section == ""  # the spec names no section for it
    assert result.score == result.max_score == 5.5
    assert checks["capture"].status == "passed"  # graded on its graph, by the trusted side
    assert checks["structure"].found == "conv2d(1,8,k=3,s=1,p=1) → relu → maxpool2d(2,s=2,p=0) → linear(128,10)"
    assert checks["test_accuracy"].found == "0.9756"


def test_a_model_without_a_convolution_fails_structure_saying_so():
    result, checks = _checks("digits_no_conv")
    structure = checks["structure"]
    assert (structure.status, structure.message) == ("failed", "forward has no conv2d layer; the assignment's layers need one.")
    assert structure.found == "linear(64,32) → relu → linear(32,10)"
    assert checks["test_accuracy"].status == "passed"  # an MLP reads the digits well: the pattern is what tells
    assert result.score == 4.5


def test_a_softmax_before_cross_entropy_costs_the_structure_point_alone():
    result, checks = _checks("digits_softmax")
    structure = checks["structure"]
    assert structure.status == "failed"
    assert structure.message.startswith("forward ends with softmax, but the loss cross_entropy takes logits")
    assert structure.section == "Exercise: the CNN class (1. the convolution ... 3. the linear layer)"  # the spec's
    # Trained with the loss that fits a softmax output: the same accuracy as the reference's.
    assert (checks["test_accuracy"].status, checks["test_accuracy"].found) == ("passed", "0.9756")
    assert result.score == 4.5


def test_channels_written_into_init_do_not_follow_n_channels():
    result, checks = _checks("digits_fixed_channels")
    structure = checks["structure"]
    assert structure.status == "failed"
    assert structure.message == ("The layers do not follow the constructor argument n_channels (the layers when "
                                 "rebuilt with n_channels = 4).")
    assert structure.expected.startswith("conv2d(1,4,k=3)")
    assert structure.found.startswith("conv2d(1,8,k=3,s=1,p=1)")
    assert checks["capture"].status == "passed"  # torch.max_pool2d and x.view are allowed in a graph


def test_wrong_sizes_and_wrong_order_are_told_apart(digits):
    model = digits.spec.models[0]
    conv5 = ["conv2d(1,8,k=5,s=1,p=2)", "relu", "maxpool2d(2,s=2,p=0)", "linear(128,10)"]
    pool_first = ["maxpool2d(2,s=2,p=0)", "conv2d(1,8,k=3,s=1,p=1)", "relu", "linear(128,10)"]
    assert pattern_difference(model, "cross_entropy", conv5).key == "structure.pattern_sizes"
    assert pattern_difference(model, "cross_entropy", pool_first).key == "structure.pattern_layers"
    two_blocks = ["conv2d(1,8,k=3,s=1,p=1)", "relu", "conv2d(8,16,k=3,s=1,p=1)", "relu", "maxpool2d(2,s=2,p=0)",
                  "dropout", "linear(256,32)", "relu", "linear(32,10)"]
    assert pattern_difference(model, "cross_entropy", two_blocks) is None  # `(conv2d relu)*`, `(linear relu)?`


def test_the_split_is_stratified_seeded_and_the_pixels_scaled_on_the_training_rows(digits):
    split = splits_for(digits.spec)["cnn"]
    assert split.train_x.shape == (1347, 1, 8, 8) and split.test_x.shape == (450, 1, 8, 8)
    assert np.bincount(split.test_classes).tolist() == [44, 46, 44, 46, 45, 46, 45, 45, 44, 45]
    assert split.train_x.min() == 0.0 and split.train_x.max() == 1.0
    again = splits_for(load_assignment("digits_cnn").spec)["cnn"]
    assert np.array_equal(again.test_x, split.test_x)  # the same rows every time
    public = splits_for(digits.spec.public())["cnn"]
    assert (len(public.train_x), len(public.test_x)) == (1078, 269)  # self-checks: a fifth of the training rows
    table = digits_table()
    train, test = table.rows(digits.spec.dataset)
    assert not (train & test).any() and (train | test).all()
    held = table.held_out(train, 0.2, 0)  # the rows self-checks score on: training rows, never test rows
    assert not (held & ~train).any() and held.sum() == 269


def _spec(**model_changes: object) -> dict:
    model = {"id": "cnn", "title": {"ja": "CNN", "en": "CNN"}, "class_names": ["CNN"], "args": {"n_channels": 8},
             "features": "all", "input_shape": [1, 8, 8], "target": "class", "outputs": 10,
             "structure": {"pattern": ["conv2d(1,n_channels,k=3)", "relu", "linear(*,10)"], "hidden_arg": "n_channels"},
             "metric": {"name": "test_accuracy", "kind": "accuracy", "full_credit": 0.9, "zero_credit": 0.5}}
    model.update(model_changes)
    return {"id": "x", "title": {"ja": "x", "en": "x"}, "dataset": {"name": "digits", "split": "stratified"},
            "recipe": {"loss": "cross_entropy"}, "models": [model]}


@pytest.mark.parametrize(("changes", "error"), [
    ({"input_shape": [1, 8, 7]}, "input_shape [1, 8, 7] holds 56 numbers, but the model reads 64 feature columns"),
    ({"outputs": 9}, "models.0.outputs (cnn): 9 outputs, but the target needs 10 (one per class)"),
    ({"structure": {"pattern": ["conv2d(1,n_filters,k=3)"]}}, "n_filters is not a constructor argument"),
    ({"structure": {"pattern": ["conv3d(1,8)"]}}, "'conv3d' is no layer kind the grader knows"),
    ({"structure": {"pattern": ["(conv2d relu"]}}, "a ( without its )"),
    ({"structure": {"pattern": ["conv2d"], "hidden_arg": "n_hidden"}}, "structure.hidden_arg: 'n_hidden' is not one of the args"),
    ({"structure": {"pattern": ["conv2d"], "layers": ["linear"]}}, "give the layers either as `layers`"),
    ({"outputs": None}, "with a `pattern`, give `outputs`"),
])
def test_a_spec_that_does_not_fit_its_data_or_its_pattern_names_the_key(changes, error):
    with pytest.raises(ValueError, match=None) as raised:
        Assignment.model_validate(_spec(**changes))
    assert error in str(raised.value)


def test_a_parity_split_key_beside_a_random_split_is_refused(tmp_path):
    spec = _spec()
    spec["dataset"]["train_rows"] = "even"
    with pytest.raises(ValueError, match="train_rows and test_rows are the \"parity\" split's"):
        Assignment.model_validate(spec)
    (tmp_path / "assignment.toml").write_text('id = "x"\ntitle = {ja = "x", en = "x"}\n[dataset]\nname = "mnist"\n'
                                              '[[models]]\n', encoding="utf-8")
    with pytest.raises(AssignmentError, match="unknown data set 'mnist'"):
        load_assignment(str(tmp_path))


def test_the_pattern_reads_groups_counts_families_and_wildcards():
    pattern = Pattern.parse(["(conv relu){1,2}", "pool", "linear(*,10)"])
    found = [Token.parse(t) for t in ["conv1d(3,4,k=3)", "relu", "conv2d(4,4,k=3)", "relu", "avgpool2d(2)", "linear(9,10)"]]
    assert pattern.matches(found)
    assert not pattern.matches(found[4:])  # no convolution block
    assert not Pattern.parse(["(conv relu){1,2}", "pool", "linear(*,10)"]).matches(found[:2] * 3 + found[4:])
    assert Pattern.parse(["linear(4,*)", "any*"]).matches([Token.parse("linear(4,3)"), Token.parse("lstm(3,5)")])
    with pytest.raises(PatternError, match="the sizes come before the options"):
        Pattern.parse(["conv2d(k=3,1)"])


def test_every_layer_token_the_grader_writes_is_a_kind_a_pattern_may_name():
    tokens = {kind.token for kind in ops.LAYERS.values()} | {t for t in ops.FUNCTIONS.values() if t}
    tokens |= {t for t in ops.METHODS.values() if t}
    assert tokens <= KINDS, tokens - KINDS


SOLUTION_LAYERS = ["conv2d(1,8,k=3,s=1,p=1)", "relu", "maxpool2d(2,s=2,p=0)", "linear(128,10)"]
LAYER_CASES = [
    (["conv2d(1,8,k=5,s=1,p=2)", *SOLUTION_LAYERS[1:]], None,
     "The layers are of the right kinds and in order, but their sizes (channels, kernel size, widths) differ from "
     "the assignment's."),
    (["maxpool2d(2,s=2,p=0)", *SOLUTION_LAYERS[:2], SOLUTION_LAYERS[3]], None,
     "The kinds or the order of the layers differ from the assignment's."),
    (SOLUTION_LAYERS, "probabilities",
     "forward's output is not probabilities (it does not end with softmax or sigmoid); the loss cross_entropy takes "
     "probabilities."),
    (SOLUTION_LAYERS, "log_probabilities",
     "forward does not end with log_softmax; the loss cross_entropy takes log-probabilities."),
]


@pytest.mark.parametrize(("layers", "output", "message"), LAYER_CASES)
def test_each_way_the_layers_differ_from_the_pattern_has_its_own_message(layers, output, message):
    """The reference's recorded evidence with other layers found, or another `structure.output`."""
    from test_checks import check_of, grade_recorded

    digits = load_assignment("digits_cnn")
    if output is not None:
        model = digits.spec.models[0]
        structure = model.structure.model_copy(update={"output": output})
        spec = digits.spec.model_copy(update={"models": [model.model_copy(update={"structure": structure})]})
        digits = digits.model_copy(update={"spec": spec})

    def found(evidence: ModelEvidence) -> ModelEvidence:
        return dataclasses.replace(evidence, observation=dataclasses.replace(evidence.observation, layers=layers))

    structure = check_of(grade_recorded("digits_solution_py", "cnn", assignment=digits, facts=found), "cnn.structure")
    assert (structure.status, structure.message) == ("failed", message)


def test_the_report_names_the_lesson_s_section_beside_a_check(digits):
    from grader.outputs.report.html import render_report

    page = render_report(replayed("digits_softmax", lang="ja"), digits)
    assert "<strong>教材の該当箇所:</strong> 課題: CNN クラス (1. 畳み込み層 … 3. 線形層)" in page


def test_a_section_for_a_check_that_does_not_exist_is_refused(tmp_path):
    import shutil

    folder = tmp_path / "digits"
    shutil.copytree(load_assignment("digits_cnn").folder, folder)
    spec = (folder / "assignment.toml").read_text(encoding="utf-8").replace("sections = { structure", "sections = { shape")
    (folder / "assignment.toml").write_text(spec, encoding="utf-8")
    with pytest.raises(AssignmentError, match="models.0.sections.shape: no check is named 'shape'"):
        load_checked(str(folder))  # the checks' names are the pipeline's to know
