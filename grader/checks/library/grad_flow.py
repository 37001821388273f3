"""`grad_flow`: every parameter gets a gradient from one backward pass (a `.detach()` or an unused
layer fails)."""

from __future__ import annotations

from grader.checks.base import Check, ModelContext, Verdict, other_than_a_tensor
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
        not_a_tensor = other_than_a_tensor(observed)
        if not_a_tensor is not None:  # a tuple's parts get no gradient from `output.sum()`: not the model's fault
            return not_a_tensor
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
