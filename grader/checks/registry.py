"""The registry of checks: which checks a model has, in which order, for how many points, and the
grading of one model by them.

The checks are the `Check` subclasses defined in the modules of `grader.checks.library`, found
there once per process: adding a check is adding a module there (and its catalogue entries).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from functools import lru_cache

from grader.checks.base import Check, ModelContext, ModelEvidence, Verdict
from grader.i18n import Messages
from grader.result import CheckResult, ModelOutcome
from grader.spec import Assignment, ModelSpec, Recipe
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


def checks_for(model: ModelSpec) -> list[Check]:
    return [check for check in all_checks() if check.applies_to(model)]


def check_names(model: ModelSpec) -> list[str]:
    """The model's check names in order (its check ids are `<model>.<name>`)."""
    return [check.id_for(model) for check in checks_for(model)]


def points_for(model: ModelSpec, check: Check) -> float:
    return model.points.get(check.points_key or check.name, check.default_points)


def max_points(model: ModelSpec) -> float:
    return sum(points_for(model, check) for check in checks_for(model))


def max_score(spec: Assignment) -> float:
    """The automatic score's maximum: every check of every model (written answers are not in it)."""
    return round(sum(max_points(model) for model in spec.models), 2)


def spec_problems(spec: Assignment) -> list[str]:
    """What the spec says about checks that no check knows: `models.N.points.<name>` or
    `models.N.checks.<name>` naming no check, and options a check does not take."""
    known = {check.name: check for check in all_checks()}
    point_keys = {check.points_key or check.name for check in all_checks()}
    problems = []
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
    return problems


def grade_model(spec: ModelSpec, recipe: Recipe, split: Split, evidence: ModelEvidence,
                messages: Messages) -> ModelOutcome:
    """Grade one model by its checks, in order. A check may stop the rest (a class that is not
    defined): they are then skipped with its reason."""
    outcome = ModelOutcome(checks=[], metric_name=spec.metric.name, test_targets=split.test_y,
                           test_classes=split.test_classes, class_names=split.class_names)
    context = ModelContext(spec, recipe, split, messages, evidence, outcome)
    stopped_by: str | None = None
    for check in checks_for(spec):
        verdict = Verdict("skipped", stopped_by) if stopped_by else check.grade(context)
        result = _result(spec, check, verdict, messages)
        outcome.checks.append(result)
        context.results[check.id_for(spec)] = result
        stopped_by = stopped_by or verdict.stop_rest
    return outcome


def _result(spec: ModelSpec, check: Check, verdict: Verdict, messages: Messages) -> CheckResult:
    points = points_for(spec, check)
    fraction = verdict.fraction if verdict.fraction is not None else (1.0 if verdict.status == "passed" else 0.0)
    params = {"expected": verdict.expected, "found": verdict.found, **verdict.params}
    return CheckResult(
        id=f"{spec.id}.{check.id_for(spec)}", model=spec.id, status=verdict.status,
        score=round(points * fraction, 2), max_score=points,
        message=messages.text(verdict.key, **params), hint=messages.hint(verdict.hint_key or verdict.key, **params),
        expected=verdict.expected, found=verdict.found,
    )
