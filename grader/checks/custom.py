"""The instructor's own checks: a `Check` for each `[[checks]]` declaration of the spec, grading
with a function of the assignment's `checks.py` (the API it is handed: grader.checks.api).

`checks.py` is the instructor's code, trusted as the spec is: it runs here, on the trusted side,
never where the student's code runs, and what it is handed of the student's model is data (the
verified graph and the facts computed on it). A check that raises is an `error` for that check
alone: students read that it could not be run; the traceback goes to the result's instructor-only
`note`.
"""

from __future__ import annotations

import string
import traceback
import types
from collections.abc import Mapping
from typing import Any

import numpy as np

from grader.checks.api import CheckContext, Data, ModelError, Outcome, Parameter
from grader.checks.base import Check, ModelContext, Verdict
from grader.checks.checks_file import CheckFunctions
from grader.i18n import Messages
from grader.protocol.wire import Construct
from grader.result import Status
from grader.spec import CHECKS_FILE, InstructorCheck, LoadedAssignment, ModelSpec, Texts, Visibility

MAX_NOTE_CHARS = 4000  # of a traceback kept in the result


def declaration_problems(assignment: LoadedAssignment) -> list[str]:
    """What is wrong with the instructor's checks, said when the assignment loads: `checks.py` does
    not load, a declared function is not in it, a text's placeholder is not a name."""
    if not assignment.spec.checks:
        return []
    loaded = CheckFunctions.load(assignment)
    if loaded.error:
        return [f"{CHECKS_FILE} could not be loaded:\n{loaded.error}"]
    problems = []
    for index, declaration in enumerate(assignment.spec.checks):
        if declaration.function not in loaded.functions:
            known = ", ".join(sorted(loaded.functions)) or "none"
            problems.append(f"checks.{index}.function: {CHECKS_FILE} has no function {declaration.function!r} "
                            f"(it has: {known})")
        for key, texts in (("title", declaration.title), ("message", declaration.message),
                           ("passed", declaration.passed), ("hint", declaration.hint)):
            for lang, text in (texts.model_dump() if texts is not None else {}).items():
                problem = _template_problem(text)
                if problem:
                    problems.append(f"checks.{index}.{key}.{lang}: {problem}")
    return problems


class CustomCheck(Check):
    """One declaration of the spec's `[[checks]]`, graded after the library's checks (it may read the metric)."""

    order = 1000

    def __init__(self, declaration: InstructorCheck) -> None:
        self.declaration = declaration
        self.name = declaration.id
        self.default_points = declaration.points  # a model's `points` cannot name it (spec_problems)

    def applies_to(self, model: ModelSpec) -> bool:
        return model.id in self.declaration.models

    def visibility_for(self, model: ModelSpec) -> Visibility:
        return self.declaration.visibility

    def title(self, messages: Messages) -> str:
        return self.declaration.title.get(messages.lang)

    def grade(self, context: ModelContext) -> Verdict:
        evidence, declaration = context.evidence, self.declaration
        verification = evidence.verification
        if evidence.runner is None or verification is None or verification.status != "verified":
            return Verdict("skipped", "instructor_check.unverified")
        function = context.functions.functions.get(declaration.function)
        if function is None:
            return self._error(context, context.functions.error or f"{CHECKS_FILE} has no function {declaration.function}")
        try:
            outcome = function(self._api(context))
            if not isinstance(outcome, Outcome):
                raise TypeError(f"{declaration.function} returned {type(outcome).__name__}, not an Outcome")
        except ModelError as exc:  # the student's model failed on the check's inputs: the student's to fix
            return Verdict("failed", "instructor_check.model_failed", {"error": str(exc)},
                           text=context.messages.text("instructor_check.model_failed", error=str(exc)),
                           hint=self._text(declaration.hint, context.messages, {}))
        except Exception:  # noqa: BLE001 - the instructor's code: its error is this check's alone
            return self._error(context, traceback.format_exc())
        params = {"expected": outcome.expected, "found": outcome.found, **outcome.params}
        status: Status = "passed" if outcome.fraction >= 1.0 else "failed"
        texts = declaration.message if status != "passed" else (declaration.passed or declaration.title)
        return Verdict(status, "instructor_check.outcome", params, expected=outcome.expected, found=outcome.found,
                       fraction=outcome.fraction, text=self._text(texts, context.messages, params),
                       hint=self._text(declaration.hint, context.messages, params) if status != "passed" else "")

    def _api(self, context: ModelContext) -> CheckContext:
        observation, split, runner = context.evidence.observation, context.split, context.evidence.runner
        assert runner is not None and observation is not None  # a verified model has both
        construction = observation.construction
        parameters = tuple(Parameter(p.name, tuple(p.shape)) for p in construction.parameters) \
            if isinstance(construction, Construct) else ()
        data = Data(train_x=_read_only(split.train_x), train_y=_read_only(split.train_y),
                    test_x=_read_only(split.test_x), test_y=_read_only(split.test_y),
                    test_classes=_read_only(split.test_classes), class_names=split.class_names)
        return CheckContext(
            model=context.spec.id, task=context.spec.task, options=types.MappingProxyType(dict(self.declaration.options)),
            layers=tuple(observation.layers or ()), parameters=parameters, metric_name=context.spec.metric.name,
            metric=context.outcome.metric_value, data=data, recipe=context.recipe,
            graded_seed=context.outcome.chosen_seed, decision_threshold=context.outcome.decision_threshold,
            _runner=runner)

    def _error(self, context: ModelContext, note: str) -> Verdict:
        return Verdict("error", "instructor_check.error", text=context.messages.text("instructor_check.error"),
                       hint="", note=note[-MAX_NOTE_CHARS:])

    @staticmethod
    def _text(texts: Texts | None, messages: Messages, params: Mapping[str, object]) -> str:
        if texts is None:
            return ""
        template = texts.get(messages.lang)
        try:
            return string.Formatter().vformat(template, (), _Unfilled(params))
        except (ValueError, TypeError, KeyError, IndexError):  # a format spec the value does not take ({n:d} of "?")
            return template


class _Unfilled(dict[str, object]):
    """The outcome's values, and `?` for a placeholder it did not fill."""

    def __missing__(self, key: str) -> object:
        return "?"


def _template_problem(text: str) -> str:
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError as exc:
        return f"not a valid text ({exc}; write {{{{ and }}}} for braces)"
    bad = [name for name in names if not name.isidentifier()]
    return f"placeholders are names ({{count}}), not {', '.join(repr(n) for n in bad)}" if bad else ""


def _read_only(array: Any) -> np.ndarray:
    copy = np.array(array, copy=True)
    copy.setflags(write=False)
    return copy
