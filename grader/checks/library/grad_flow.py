"""`grad_flow`: every parameter gets a gradient from one backward pass (a `.detach()` or an unused
layer fails)."""

from __future__ import annotations

from grader.checks.base import Check, ModelContext, Verdict
from grader.protocol.wire import Failed, Forward


class GradFlow(Check):
    name = "grad_flow"
    order = 50
    default_points = 0.5

    def grade(self, context: ModelContext) -> Verdict:
        observed = context.evidence.observation
        flow = observed.grad_flow if observed is not None else None
        if observed is None or not isinstance(observed.forward, Forward) or flow is None:
            return Verdict("skipped", "skipped.forward_failed")
        if isinstance(flow, Failed):
            return Verdict("error", "grad.raised", {"error": context.describe_error(flow.error)})
        if not flow:
            return Verdict("failed", "grad.no_parameters", expected="≥ 1", found="0")
        dead = [name for name, got in flow.items() if not got]
        total = f"{len(flow)}/{len(flow)}"
        if dead:
            return Verdict("failed", "grad.dead", {"names": ", ".join(dead[:10])}, expected=total,
                           found=f"{len(flow) - len(dead)}/{len(flow)}")
        return Verdict("passed", "grad.passed", {"count": len(flow)}, expected=total, found=total)
