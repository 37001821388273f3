"""`structure`: the layer kinds and sizes in forward order (`linear(4,3) → sigmoid`), following the
hidden-size constructor argument; MLR is probed numerically for affinity."""

from __future__ import annotations

import re

import numpy as np

from grader.checks.base import Check, ModelContext, Verdict
from grader.checks.library.probe_values import probe_values
from grader.protocol.wire import Failed, Forward, Layers, TensorInfo
from grader.spec import ModelSpec
from grader.spec.probe_points import affine_groups

AFFINE_TOLERANCE = 1e-3
AFFINE_RULE = "f(t·a + (1−t)·b) = t·f(a) + (1−t)·f(b)"


def layers_text(layers: list[str]) -> str:
    return " → ".join(layers) if layers else "(none)"


def expected_layers(model: ModelSpec, args: list[int]) -> list[str]:
    """The spec's layers with the sizes `args` gives them: `linear(4,3)`, `sigmoid`, ..."""
    tokens, width = [], 0
    for layer in model.structure.layers:
        if layer == "linear":
            tokens.append(f"linear({args[width]},{args[width + 1]})")
            width += 1
        else:
            tokens.append(layer)
    return tokens


class Structure(Check):
    name = "structure"
    order = 20
    default_points = 1.0

    def grade(self, context: ModelContext) -> Verdict:
        spec, evidence = context.spec, context.evidence
        timeout = evidence.timeout
        if timeout is not None and timeout.phase == "probes":
            name = context.outcome.class_name or spec.class_names[0]
            return Verdict("error", "timeout.probes", {"name": name, "seconds": timeout.budget_s},
                           stop_rest="skipped.timeout")
        observed = evidence.observation
        if observed is None or not isinstance(observed.forward, Forward):
            return Verdict("skipped", "skipped.forward_failed")
        expected = expected_layers(spec, spec.args)
        found = list(observed.layers or [])
        if found != expected:
            fixed_width = _fixed_hidden_width(spec, found)
            if fixed_width is not None:
                return Verdict("failed", "structure.hidden_ignored",
                               {"width": fixed_width, "hidden": spec.args[spec.structure.hidden_arg or 0]},
                               expected=layers_text(expected), found=layers_text(found))
            return Verdict("failed", _structure_key(expected, found), expected=layers_text(expected),
                           found=layers_text(found))
        if spec.structure.hidden_arg is not None:
            other_args = observed.probe_hidden_args or []
            probe = observed.hidden_probe
            want = expected_layers(spec, other_args) if len(other_args) == len(spec.args) else []
            if isinstance(probe, Failed):
                return Verdict("error", "structure.hidden_raised",
                               {"hidden": spec.structure.probe_hidden, "error": context.describe_error(probe.error)})
            got = list(probe.layers) if isinstance(probe, Layers) else []
            if not want or got != want:
                return Verdict("failed", "structure.hidden_fixed", {"hidden": spec.structure.probe_hidden},
                               expected=layers_text(want), found=layers_text(got))
        if spec.structure.affine:
            deviation = _affine_deviation(context)
            text = f"{deviation:.3g}" if deviation is not None else "?"
            if deviation is None or deviation > AFFINE_TOLERANCE:
                return Verdict("failed", "structure.not_affine", {"deviation": text}, expected=AFFINE_RULE, found=text)
        return Verdict("passed", "structure.passed", {"layers": layers_text(expected)}, found=layers_text(found))


def _fixed_hidden_width(spec: ModelSpec, found: list[str]) -> int | None:
    """The width the hidden layer has instead of `n_hidden`, when that is the only difference."""
    hidden = spec.structure.hidden_arg
    linear = [t for t in found if t.startswith("linear")]
    if hidden is None or len(linear) < hidden:
        return None
    match = re.fullmatch(r"linear\((\d+),(\d+)\)", linear[hidden - 1])
    if match is None or int(match.group(2)) == spec.args[hidden]:
        return None
    other = list(spec.args)
    other[hidden] = int(match.group(2))
    return other[hidden] if expected_layers(spec, other) == found else None


def _structure_key(expected: list[str], found: list[str]) -> str:
    expected_linear = [t for t in expected if t.startswith("linear")]
    found_linear = [t for t in found if t.startswith("linear")]
    if len(found_linear) != len(expected_linear):
        return "structure.layer_count"
    if found_linear != expected_linear:
        return "structure.layer_sizes"
    if "sigmoid" in expected and found.count("sigmoid") < expected.count("sigmoid"):
        return "structure.missing_sigmoid"
    return "structure.activations"


def _affine_deviation(context: ModelContext) -> float | None:
    """Affine maps keep affine combinations: f(t·a + (1−t)·b) = t·f(a) + (1−t)·f(b)."""
    observed = context.evidence.observation
    probe = observed.probe if observed is not None else None
    if not isinstance(probe, TensorInfo):
        return None
    values = probe_values(context.spec, probe)
    if values is None:
        return None
    deviation = 0.0
    for (a, b, c, t) in affine_groups(len(values)):
        predicted = t * values[a] + (1 - t) * values[b]
        scale = 1.0 + np.abs(values[c]).max()
        deviation = max(deviation, float(np.abs(values[c] - predicted).max() / scale))
    return deviation
