"""The registry of checks: which checks a model has, in which order, for how many points, and the
grading of one model by them.

The checks are the `Check` subclasses defined in the modules of `grader.checks.library`, found
there once per process: adding a check is adding a module there (and its catalogue entries). An
assignment adds its own (`[[checks]]` in its spec, functions in its `checks.py`: grader.checks.custom).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from functools import lru_cache

from grader.checks.base import Check, ModelContext, ModelEvidence, Verdict
from grader.checks.checks_file import CheckFunctions
from grader.checks.custom import CustomCheck
from grader.i18n import Messages
from grader.result import CheckResult, ModelOutcome
from grader.spec import Assignment, LoadedAssignment, ModelSpec
from grader.spec.datasets import Split


@lru_cache(maxsize=1)
def all_checks() -> tuple[Check, ...]:
    """Every check of the library, in order."""
    from grader.checks import library

    found: dict[str, Check] = {}
    for info in pkgutil.iter_modules(library.__path__):
        module = importlib.import_module(f"{library.__name__}.{info.name}")
        for value in vars(module).values():
            if inspect.isclass(value) and issubclass(value, Check) and value.__module__ == module.__name__:
                if value.name in found:
                    raise ValueError(f"two checks are named {value.name!r}")
                found[value.name] = value()
    return tuple(sorted(found.values(), key=lambda check: (check.order, check.name)))


def checks_for(spec: Assignment, model: ModelSpec) -> list[Check]:
    """The model's checks in order: the library's that apply, then the instructor's that name it."""
    own = [CustomCheck(declaration) for declaration in spec.checks]
    return [check for check in (*all_checks(), *own) if check.applies_to(model)]


def check_names(spec: Assignment, model: ModelSpec) -> list[str]:
    """The model's check names in order (its check ids are `<model>.<name>`)."""
    return [check.id_for(model) for check in checks_for(spec, model)]


def max_points(spec: Assignment, model: ModelSpec) -> float:
    return sum(check.points_for(model) for check in checks_for(spec, model))


def max_score(spec: Assignment) -> float:
    """The automatic score's maximum: every check of every model (written answers are not in it)."""
    return round(sum(max_points(spec, model) for model in spec.models), 2)


def spec_problems(spec: Assignment) -> list[str]:
    """What the spec says about checks that no check knows: `models.N.points.<name>` or
    `models.N.checks.<name>` naming no check, and options a check does not take."""
    known = {check.name: check for check in all_checks()}
    point_keys = {check.points_key or check.name for check in all_checks()}
    problems = [f"checks.{index}.id: {check.id!r} is the name of a check of the grader's; choose another"
                for index, check in enumerate(spec.checks) if check.id in point_keys | set(known)]
    for index, model in enumerate(spec.models):
        for key in model.points:
            if key not in point_keys:
                problems.append(f"models.{index}.points.{key}: no check is named {key!r} "
                                f"(known: {', '.join(sorted(point_keys))})")
        for name, options in model.checks.items():
            check = known.get(name)
            if check is None:
                problems.append(f"models.{index}.checks.{name}: no check is named {name!r} "
                                f"(known: {', '.join(sorted(known))})")
                continue
            problems += [f"models.{index}.checks.{name}: {problem}" for problem in check.option_problems(options)]
        for key in model.visibility:
            if key not in point_keys:
                problems.append(f"models.{index}.visibility.{key}: no check is named {key!r} "
                                f"(known: {', '.join(sorted(point_keys))}; an instructor's check says its own)")
        problems += [f"models.{index}.sections.{key}: no check is named {key!r} (known: {', '.join(sorted(point_keys))})"
                     for key in model.sections if key not in point_keys]
    return problems


def grade_model(assignment: LoadedAssignment, model: ModelSpec, split: Split, evidence: ModelEvidence,
                messages: Messages, functions: CheckFunctions | None = None) -> ModelOutcome:
    """Grade one model by its checks, in order. A check may stop the rest (a class that is not
    defined): they are then skipped with its reason. `functions`: the assignment's `checks.py`,
    loaded once for all its models (loaded here when not given)."""
    spec = assignment.spec
    outcome = ModelOutcome(checks=[], metric_name=model.metric.name, test_targets=split.test_y,
                           test_classes=split.test_classes, class_names=split.class_names, test_inputs=split.test_x)
    if functions is None:
        functions = CheckFunctions.load(assignment)
    context = ModelContext(model, spec.recipe_for(model), split, messages, evidence, outcome, functions=functions)
    stopped_by: str | None = None
    for check in checks_for(spec, model):
        verdict = Verdict("skipped", stopped_by) if stopped_by else check.grade(context)
        result = _result(model, check, verdict, messages)
        outcome.checks.append(result)
        context.results[check.id_for(model)] = result
        stopped_by = stopped_by or verdict.stop_rest
    return outcome


def _result(model: ModelSpec, check: Check, verdict: Verdict, messages: Messages) -> CheckResult:
    points = check.points_for(model)
    fraction = verdict.fraction if verdict.fraction is not None else (1.0 if verdict.status == "passed" else 0.0)
    params = {"expected": verdict.expected, "found": verdict.found, **verdict.params}
    message = verdict.text if verdict.text is not None else messages.text(verdict.key, **params)
    hint = verdict.hint if verdict.hint is not None else messages.hint(verdict.hint_key or verdict.key, **params)
    section = model.sections.get(check.points_key or check.name)
    return CheckResult(
        id=f"{model.id}.{check.id_for(model)}", model=model.id, status=verdict.status,
        score=round(points * fraction, 2), max_score=points, message=message, hint=hint,
        expected=verdict.expected, found=verdict.found, visibility=check.visibility_for(model),
        title=check.title(messages) or "", note=verdict.note, section=section.get(messages.lang) if section else "",
    )
