"""A class's models evaluated together (issue 15): the trusted side trains the models of one
structure in one stacked loop (grader.evaluate.trusted.evaluate_together), a batch's threads send
their models as groups (grader.evaluate.grouping), and every submission gets the result of being
graded alone."""

from __future__ import annotations

import dataclasses
import math
import textwrap
from concurrent.futures import ThreadPoolExecutor

import pytest
from fixtures import recorded
from test_capture import JOBS, REFERENCE, captured, classes, data_for

from grader.evaluate import trusted
from grader.evaluate.graph import GraphError
from grader.evaluate.grouping import GroupingEvaluator
from grader.i18n import Messages
from grader.pipeline import grade_execution
from grader.protocol.wire import encode


def scaled_mlpc(factor: float) -> type:
    """The reference MLPC with its own initial values (the spec's `init = "student"` keeps them):
    the same structure as every other student's, other numbers."""
    source = textwrap.dedent(f"""
    class MLPC(nn.Module):
        def __init__(self, n_input, n_hidden, n_output):
            super().__init__()
            self.l1 = nn.Linear(n_input, n_hidden)
            self.l2 = nn.Linear(n_hidden, n_output)
            with torch.no_grad():
                self.l1.weight.mul_({factor})

        def forward(self, x):
            return torch.sigmoid(self.l2(torch.sigmoid(self.l1(x))))
    """)
    return classes(source)["MLPC"]


def request(model_id: str, cls: type, keep_student_init: bool = True) -> trusted.ModelRequest:
    return trusted.ModelRequest(captured(model_id, cls), None, JOBS[model_id].recipe, data_for(model_id), math.inf,
                                keep_student_init)


def facts(evaluated: trusted.Evaluated) -> dict:
    """What an evaluation computed, but for the seconds its training took."""
    training = encode(evaluated.training)
    for run in training["runs"]:
        run.pop("seconds", None)
    return {"observation": encode(evaluated.observation), "training": training,
            "flags": (evaluated.student_init, evaluated.seed_independent, evaluated.suspicious)}


def test_models_evaluated_together_get_what_each_gets_alone_and_a_refused_one_costs_nothing():
    broken = request("mlpc", scaled_mlpc(1.5))
    broken = dataclasses.replace(broken, capture=dataclasses.replace(broken.capture, graph=None))
    requests = [request("mlpc", scaled_mlpc(factor)) for factor in (0.5, 1.0, 2.0)]
    requests += [broken, request("mlr", REFERENCE["MLR"], keep_student_init=False), request("mlpc", scaled_mlpc(3.0))]
    together = trusted.evaluate_together(requests)
    assert isinstance(together[3], GraphError) and str(together[3]) == "no graph"
    for index in (0, 1, 2, 4, 5):
        alone = trusted.evaluate_together([requests[index]])[0]
        assert isinstance(alone, trusted.Evaluated) and isinstance(together[index], trusted.Evaluated)
        assert facts(together[index]) == facts(alone), index
    # The four MLPCs trained as one group: their seconds are one share of it.
    seconds = {run.seconds for index in (0, 1, 2, 5) for run in together[index].training.runs}  # type: ignore[union-attr]
    assert len(seconds) == 1


class Counting(GroupingEvaluator):
    """A grouping evaluation that keeps the size of every group it sends."""

    def __init__(self) -> None:
        super().__init__(scratch_parent=recorded.SCRATCH_PARENT, window_s=0.5)
        self.sizes: list[int] = []

    def evaluate_together(self, requests):  # type: ignore[no-untyped-def]
        self.sizes.append(len(requests))
        return super().evaluate_together(requests)


CLASS = ["solution_py", "hanako_lesson", "jiro_mistakes", "taro_sequential", "faulty_a", "faulty_b"]


def test_a_class_graded_together_gets_the_results_of_each_submission_graded_alone():
    """Six recorded submissions graded at once through one grouping evaluation (their models in
    groups across submissions), against each graded alone (its recorded answers, computed one
    model at a time): the same results, field for field, but for the timings."""
    assignment = recorded.assignment_named("iris_basics")
    messages = Messages("en", assignment.messages)
    with Counting() as evaluator:
        def together(name: str):  # type: ignore[no-untyped-def]
            return grade_execution(recorded.submission(name), assignment, recorded.execution(name, assignment),
                                   messages, 0.0, evaluator).result

        with ThreadPoolExecutor(max_workers=len(CLASS)) as threads:
            results = dict(zip(CLASS, threads.map(together, CLASS)))
    assert max(evaluator.sizes) > len(assignment.spec.models), evaluator.sizes  # models of several submissions
    timings = {"duration_s", "graded_at", "training_s"}
    for name in CLASS:
        alone = recorded.replay(name).result
        assert results[name].model_dump(exclude=timings) == alone.model_dump(exclude=timings), name


@pytest.mark.parametrize("closing", ["waiting", "idle"])
def test_closing_answers_every_waiting_model_and_ends_the_process(closing):
    evaluator = GroupingEvaluator(scratch_parent=recorded.SCRATCH_PARENT, window_s=60.0 if closing == "waiting" else 0.0)
    line = captured("mlr", REFERENCE["MLR"])
    split = recorded.assignment_named("iris_basics").splits()["mlr"]
    data = {"train_x": split.train_x, "train_y": split.train_y, "test_x": split.test_x, "probe_x": split.test_x[:4]}
    with ThreadPoolExecutor(max_workers=1) as thread:
        if closing == "waiting":  # the window holds it: closing answers it
            answer = thread.submit(evaluator.evaluate, line, None, JOBS["mlr"].recipe, data, 30.0, False, 256)
            evaluator.close()
            assert answer.result(timeout=30).error == "the trusted evaluation was closed"
        else:
            assert evaluator.evaluate(line, None, JOBS["mlr"].recipe, data, 30.0, False, 256).observation is not None
            evaluator.close()
    assert not evaluator.cgroups
    assert evaluator.evaluate(line, None, JOBS["mlr"].recipe, data, 30.0, False, 256).error == \
        "the trusted evaluation was closed"
