"""What real student code does, and what the grader must then say (issue 11): the right hint for the
kind of model, eval mode where the predictions are made, tuple outputs, renamed classes and hard-coded
sizes, packages the sandbox lacks, warnings at the student's line, errors of statements that ran.

Most cases are recorded submissions (`faulty_h`, `faulty_i` in fixtures/submissions.py) graded again
from their recording; the harness's own parts are tested directly, in this process.
"""

from __future__ import annotations

import copy
import sys

import pytest
import torch
from conftest import grade_full, replayed
from fixtures.recorded import observations
from fixtures.submissions import LR_DROPOUT_NOT_CAPTURED, module_source, write_module

from grader.harness import stand_ins
from grader.harness.session import _at_the_students_line
from grader.harness.training import _report
from grader.i18n import Messages
from grader.outputs.report.html import render_report
from grader.protocol.wire import EVAL_METHOD_SUFFIX, ModelJob, Recipe

CATALOGUE = Messages("en")  # the generic texts, without the lesson's own words


def checks_of(name: str) -> dict[str, object]:
    return {c.id: c for c in replayed(name).result.checks}


# ---- the right hint for the right kind of model -------------------------------------------------------------
def test_a_classifier_without_its_output_sigmoid_is_told_that_its_outputs_are_probabilities():
    lr = checks_of("faulty_a")["lr.structure"]
    assert lr.message == CATALOGUE.text("structure.missing_output_activation", activation="sigmoid")
    assert lr.hint.startswith("A classifier's outputs are probabilities")


def test_a_regression_with_a_sigmoid_on_its_output_is_told_so_in_the_structure_and_the_metric():
    checks = checks_of("faulty_h")
    structure, metric = checks["mlpr.structure"], checks["mlpr.test_mse"]
    assert structure.message == CATALOGUE.text("structure.extra_output_activation", activation="sigmoid")
    assert "does not stay between 0 and 1" in structure.hint and "classifier" not in structure.hint
    # The low score's hint is what the layers say, not a guess.
    assert metric.status == "failed" and metric.hint == structure.hint


def test_a_regression_without_its_hidden_sigmoid_is_not_told_about_classifiers():
    mlpr = checks_of("faulty_i")["mlpr.structure"]
    assert mlpr.message == "There is no sigmoid between the linear layers."
    assert "single linear map" in mlpr.hint and "classifier" not in mlpr.hint and "probabilit" not in mlpr.hint


@pytest.mark.parametrize("name", ["faulty_a", "faulty_b", "faulty_d", "faulty_f", "faulty_g", "faulty_h", "faulty_i"])
def test_no_regression_or_autoencoder_is_given_a_classifiers_hint(name):
    for check in replayed(name).result.checks:
        if check.model in ("mlr", "mlpr", "ae"):
            assert "classifier" not in check.hint and "probabilit" not in check.hint, (check.id, check.hint)


def test_the_generic_hint_depends_on_the_task():
    regression = CATALOGUE.hint("hint.output_activation_extra.regression", activation="sigmoid")
    reconstruction = CATALOGUE.hint("hint.output_activation_extra.reconstruction", activation="sigmoid")
    assert "regression predicts values of any size" in regression and "reconstructs its inputs" in reconstruction


def test_constant_predictions_are_named_with_their_likely_causes():
    mlr = checks_of("faulty_g")["mlr.test_mse"]  # the input never reaches the output
    assert "predicts the same value for every test sample" in mlr.message
    assert "always predicting the training targets' mean scores 0.6185" in mlr.message  # what it converged to
    assert "saturated sigmoid or dead ReLUs" in mlr.hint
    mlpc = checks_of("faulty_f")["mlpc.test_accuracy"]
    assert "predicts one class for all of them" in mlpc.message


# ---- eval mode where the predictions are made -----------------------------------------------------------------
def test_a_captured_forward_that_reads_self_training_is_sent_in_both_modes():
    graph = observations("faulty_i").captures["mlpc"].graph
    methods = {method.method: method for method in graph.methods}
    assert set(methods) == {"forward", f"forward{EVAL_METHOD_SUFFIX}"}

    def dropout_training(method: str) -> list[object]:
        return [node.kwargs.get("training") for node in methods[method].nodes if node.target.endswith("dropout")]

    assert dropout_training("forward") == [True] and dropout_training(f"forward{EVAL_METHOD_SUFFIX}") == [False]
    assert checks_of("faulty_i")["mlpc.test_accuracy"].status == "passed"


def test_a_model_graded_in_the_sandbox_is_probed_in_eval_mode():
    # Batch norm in train mode refuses a batch of one ("Expected more than 1 value per channel").
    lr = checks_of("faulty_i")
    assert lr["lr.capture"].status == "failed" and lr["lr.forward_shape"].status == "passed"


def test_the_sandbox_predicts_in_eval_mode():
    namespace: dict[str, object] = {}
    exec(module_source({"LR": LR_DROPOUT_NOT_CAPTURED}), namespace)  # noqa: S102 - a test submission
    cls = namespace["LR"]
    torch.manual_seed(0)
    instance = cls(4, 3)
    test_x = torch.rand(150, 4)
    job = ModelJob(id="lr", class_names=["LR"], match_methods=[], args=[4, 3], hidden_arg=None, probe_hidden=5,
                   project_method=None, budget_s=10, capture=False, train_x=[], train_y=[], test_x=[], probe_x=[], input_shape=[4], output_width=3,
                   recipe=Recipe(optimizer="adam", lr=0.05, epochs=1, batch_size=75, seeds=[0],
                                 train_seeds_together=False))
    with torch.no_grad():  # dropout off: in train mode half of the inputs would be zeroed
        expected = copy.deepcopy(instance).eval()(test_x)
    report = _report(cls, job, 0, instance, [1.0], test_x)  # the instance as training leaves it: in train mode
    assert torch.allclose(torch.tensor(report["predictions"]["values"], dtype=torch.float64), expected.double())


# ---- tuple outputs --------------------------------------------------------------------------------------------
def test_a_tuple_output_fails_the_shape_alone_and_skips_what_needs_a_tensor():
    checks = checks_of("faulty_h")
    assert checks["ae.forward_shape"].message == (
        "forward returned a tuple of 2 ((75, 4), (75, 2)); the assignment expects one tensor of shape (75, 4).")
    for name in ("ae.grad_flow", "ae.test_mse"):  # not "no parameter gets a gradient"
        assert (checks[name].status, checks[name].message) == (
            "skipped", "Not checked: forward returned a tuple, not one tensor (see the output shape).")
    assert checks["ae.project_shape"].status == "passed"


# ---- "not found" names what was found; constructor arguments ---------------------------------------------------
def test_a_renamed_model_is_named_with_the_rename_that_would_make_it_count():
    mlpc = checks_of("faulty_h")["mlpc.defined"]
    assert "The torch.nn.Module classes in the file: IrisNet()." in mlpc.message
    assert "IrisNet looks like this model (built as IrisNet(), it maps 4 inputs to 3 outputs)" in mlpc.message
    assert mlpc.message.endswith("rename the class MLPC.")


def test_a_class_with_its_sizes_written_in_is_graded_and_only_its_constructor_check_fails():
    result = replayed("faulty_h").result
    mlr = {c.id: c for c in result.checks if c.model == "mlr"}
    assert mlr["mlr.defined"].status == "failed" and mlr["mlr.defined"].found == "MLR()"
    assert "takes 1 positional argument but 3 were given; the assignment builds it as MLR(n_input, n_output)" in (
        mlr["mlr.defined"].message)
    assert all(c.status == "passed" for name, c in mlr.items() if name != "mlr.defined")
    assert sum(c.score for c in mlr.values()) == 4.5  # all but the 0.5 of `defined`


def test_a_constructor_that_refuses_the_arguments_says_how_the_assignment_builds_it():
    ae = checks_of("faulty_i")["ae.defined"]
    assert ae.status == "error" and ae.message.endswith("the assignment builds it as AE(n_input, n_hidden, n_output).")
    assert "(self, n_input, n_hidden, n_output)" in ae.hint


# ---- packages the sandbox lacks ---------------------------------------------------------------------------------
@pytest.fixture
def finder():
    seen: list[str] = []
    installed = stand_ins.install(seen.append)
    yield seen
    sys.meta_path.remove(installed)
    for name in [n for n in sys.modules if n.split(".")[0] == "japanize_matplotlib"]:
        del sys.modules[name]


def test_a_missing_package_imports_as_a_stand_in_that_fails_only_when_used(finder):
    import japanize_matplotlib  # noqa: F401 - not installed: the stand-in
    from japanize_matplotlib.sub import helper

    assert finder == ["japanize_matplotlib"]  # said once, for the package
    with pytest.raises(ModuleNotFoundError, match=r"No module named 'japanize_matplotlib': the grading sandbox does not"
                                                   r" have it \(japanize_matplotlib.sub.helper was used\)"):
        helper(1)
    assert "google" not in stand_ins.STAND_IN_PACKAGES  # `try: import google.colab` must still fail


def test_a_package_the_sandbox_has_is_imported_for_real(finder):
    import pandas

    assert pandas.DataFrame({"a": [1]}).shape == (1, 1) and finder == []


# ---- warnings and errors at the student's own line ----------------------------------------------------------------
def test_a_warning_torch_attributes_to_the_grader_is_shown_at_the_students_line():
    shown: list[tuple[str, int]] = []
    show = _at_the_students_line(lambda message, category, filename, lineno, file=None, line=None:
                                 shown.append((filename, lineno)))
    code = compile("import grader.harness.trace as t\nwarn_from(t.__file__)\n", "<cell 4>", "exec")

    def warn_from(filename: str) -> None:
        show(UserWarning("implicit dim"), UserWarning, filename, 37)

    exec(code, {"warn_from": warn_from})  # noqa: S102 - a stand-in for the student's cell
    show(UserWarning("elsewhere"), UserWarning, "/usr/lib/python3/x.py", 5)
    assert shown == [("<cell 4>", 2), ("/usr/lib/python3/x.py", 5)]


def test_an_error_of_a_statement_that_ran_is_in_the_result_and_the_report(tmp_path, assignment):
    path = write_module(tmp_path, "raises.py", prelude="SCALE = int('<b>one hundred</b>')\nWIDTH = 3")
    graded = grade_full(path)
    result = graded.result
    assert [(e.cell, e.line, e.text) for e in result.code_errors] == [(1, 4, "SCALE = int('<b>one hundred</b>')")]
    assert result.code_errors[0].error == "ValueError: invalid literal for int() with base 10: '<b>one hundred</b>'"
    assert result.score == result.max_score  # it lost nothing else
    page = render_report(graded, assignment)
    assert "Errors while the code ran (1)" in page and "<b>one" not in page  # the student's text is escaped
    assert "cell 1, line 4</span> <code>SCALE = int(&#39;&lt;b&gt;one hundred&lt;/b&gt;&#39;)</code>" in page

