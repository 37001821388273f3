"""`forward_shape`: `(N, out)` for a batch of N and `(1, out)` for a batch of one, floats; `(N,)` is
not `(N, 1)`."""

from __future__ import annotations

from grader.checks.base import Check, ModelContext, Verdict, shape_text
from grader.protocol.wire import Failed, Forward


class ForwardShape(Check):
    name = "forward_shape"
    order = 30
    default_points = 1.0

    def grade(self, context: ModelContext) -> Verdict:
        observed = context.evidence.observation
        forward = observed.forward if observed is not None else None
        if isinstance(forward, Failed):
            return Verdict("error", "forward.raised", {"error": context.describe_error(forward.error)})
        if observed is None or not isinstance(forward, Forward):
            return Verdict("skipped", "skipped.forward_failed")
        n, width = len(context.split.test_x), context.spec.output_width
        batch_n, batch_1 = forward.batch_n, forward.batch_1
        want_n, want_1 = [n, width], [1, width]
        if batch_n.length is not None:
            shapes = ", ".join(shape_text(shape) for shape in batch_n.item_shapes or [])
            return Verdict("failed", "forward.tuple", {"type": batch_n.type, "length": batch_n.length,
                                                       "shapes": shapes or "—", "want": shape_text(want_n)},
                           expected=shape_text(want_n), found=f"{batch_n.type}: {shapes}")
        if batch_n.type != "Tensor":
            return Verdict("failed", "forward.not_tensor", {"type": batch_n.type}, expected=shape_text(want_n),
                           found=batch_n.type)
        if batch_n.shape != want_n:
            key = "forward.squeezed" if batch_n.shape in ([n], [n * width]) else "forward.wrong_shape"
            return Verdict("failed", key, {"n": n}, expected=shape_text(want_n), found=shape_text(batch_n.shape))
        if isinstance(observed.forward_one, Failed):
            return Verdict("error", "forward.batch_one_raised",
                           {"error": context.describe_error(observed.forward_one.error)}, expected=shape_text(want_1))
        if batch_1 is None or batch_1.shape != want_1:
            return Verdict("failed", "forward.batch_one_shape", expected=shape_text(want_1),
                           found=shape_text(batch_1.shape if batch_1 else None))
        if not (batch_n.dtype or "").startswith(("float", "bfloat")):
            return Verdict("failed", "forward.not_float", {"dtype": batch_n.dtype}, expected="float32",
                           found=batch_n.dtype)
        return Verdict("passed", "forward.passed", {"n": n}, expected=shape_text(want_n),
                       found=shape_text(batch_n.shape))
