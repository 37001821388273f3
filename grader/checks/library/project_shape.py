"""`project_shape`: the model's second method (the autoencoder's `project`) returns the `(N, width)`
code."""

from __future__ import annotations

from grader.checks.base import Check, ModelContext, Verdict, shape_text
from grader.protocol.wire import Failed, Missing, TensorInfo
from grader.spec import ModelSpec


class ProjectShape(Check):
    name = "project_shape"
    order = 60
    default_points = 0.5

    def applies_to(self, model: ModelSpec) -> bool:
        return model.project is not None

    def grade(self, context: ModelContext) -> Verdict:
        spec = context.spec
        assert spec.project is not None
        method = spec.project.method
        want = [len(context.split.test_x), spec.args[spec.project.width_arg]]
        observed = context.evidence.observation
        project = observed.project if observed is not None else None
        if project is None or isinstance(project, Missing):
            return Verdict("failed", "project.missing", {"method": method}, expected=shape_text(want), found="—")
        if isinstance(project, Failed):
            return Verdict("error", "project.raised", {"method": method, "error": context.describe_error(project.error)},
                           expected=shape_text(want))
        if not isinstance(project, TensorInfo) or project.shape != want:
            found = shape_text(project.shape) if isinstance(project, TensorInfo) else "?"
            return Verdict("failed", "project.wrong_shape", {"method": method}, expected=shape_text(want), found=found)
        return Verdict("passed", "project.passed", {"method": method}, expected=shape_text(want), found=shape_text(want))
