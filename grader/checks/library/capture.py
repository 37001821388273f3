"""`capture`: the model was captured as a graph, so every fact and score of it was computed by the
grader on that graph, outside the student's process (verified). No points of its own: it says how
far the model's score can be trusted. Every model is captured unless the spec says
`[models.checks.capture] enabled = false` (it is then graded inside the sandbox, as before the
capture, and this check is not listed). A model the harness could not capture (Python control flow
on a tensor's value, numpy inside forward, ...) is graded inside the sandbox in a second run and is
`unverified`; with `require = true` its remaining checks score nothing instead. A graph that does
not validate is refused, and the model's remaining checks are skipped."""

from __future__ import annotations

from typing import Any

from grader.checks.base import Check, ModelContext, Verdict
from grader.spec import ModelSpec

REASONS = ("trace", "not_allowed", "seeds_differ", "too_large", "construct", "unsupported", "absent")


class Capture(Check):
    name = "capture"
    order = 15  # after defined: the facts of every later check come from what this one says
    default_points = 0.0

    def applies_to(self, model: ModelSpec) -> bool:
        return model.captured

    def option_problems(self, options: dict[str, Any]) -> list[str]:
        problems = [f"unknown option {key!r}" for key in options if key not in ("require", "enabled")]
        problems += [f"{key}: true or false" for key in ("require", "enabled")
                     if key in options and not isinstance(options[key], bool)]
        return problems

    def grade(self, context: ModelContext) -> Verdict:
        verification = context.evidence.verification
        if verification is None:
            ran_out = context.evidence.timeout is not None
            return Verdict("skipped", "skipped.timeout" if ran_out else "capture.not_constructed")
        where = (context.messages.text("where.cell", cell=verification.cell, line=verification.line)
                 if verification.cell else "")
        params = {"detail": verification.detail, "where": f" ({where})" if where else ""}
        if verification.status == "refused":
            return Verdict("error", "capture.refused", params, stop_rest="skipped.capture_refused")
        if verification.status == "unverified":
            key = f"capture.unverified.{verification.reason if verification.reason in REASONS else 'absent'}"
            required = bool(context.options(self.name).get("require", False))
            return Verdict("failed", key, params, expected="graph", found="unverified",
                           stop_rest="skipped.capture_required" if required else None)
        key = "capture.verified_student_init" if verification.student_init else "capture.verified"
        return Verdict("passed", key, expected="graph", found="graph")
