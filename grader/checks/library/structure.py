"""`structure`: the layer kinds and sizes in forward order (`linear(4,3) → sigmoid`), or a pattern
over them (`structure_pattern`), following the hidden-size constructor argument; MLR is probed
numerically for affinity."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from grader.checks.base import Check, ModelContext, Verdict
from grader.checks.library.probe_values import probe_values
from grader.checks.library.structure_pattern import found_tokens, pattern_difference, pattern_for, shown
from grader.protocol.wire import Construct, Failed, Forward, Layers, TensorInfo
from grader.spec import ModelSpec
from grader.spec.layer_pattern import ACTIVATIONS, TRANSPARENT
from grader.spec.probe_points import affine_groups

AFFINE_TOLERANCE = 1e-3
AFFINE_RULE = "f(t·a + (1−t)·b) = t·f(a) + (1−t)·f(b)"


def layers_text(layers: list[str]) -> str:
    return " → ".join(layers) if layers else "(none)"


def expected_layers(model: ModelSpec, args: list[int]) -> list[str]:
    """The spec's layers with the sizes `args` gives them: `linear(4,3)`, `sigmoid`, ..."""
    tokens, width = [], 0
    for layer in model.structure.layers or []:
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
        if spec.structure.pattern is not None:
            mismatch = pattern_difference(spec, context.recipe.loss, observed.layers or [])
            if mismatch is not None and mismatch.key == "structure.pattern_sizes":
                # Sizes that stay put when the argument changes: that is what to say.
                ignored = self._follows_the_argument(context)
                if ignored is not None and ignored.key == "structure.argument_ignored":
                    return ignored
            if mismatch is not None:
                return Verdict("failed", mismatch.key, mismatch.params, expected=mismatch.expected,
                               found=mismatch.found)
            return self._follows_the_argument(context) or Verdict(
                "passed", "structure.passed", {"layers": pattern_for(spec, spec.args).text()},
                found=shown(pattern_for(spec, spec.args), observed.layers or []))
        expected = expected_layers(spec, spec.args)
        found = visible_layers(observed.layers or [], expected)
        difference = layer_difference(spec, expected, found)
        if difference is not None:
            fixed_width = _fixed_hidden_width(spec, found)
            if fixed_width is not None:
                return Verdict("failed", "structure.hidden_ignored",
                               {"width": fixed_width, "hidden": spec.args[spec.structure.hidden_arg or 0]},
                               expected=layers_text(expected), found=layers_text(found))
            return Verdict("failed", difference.key, difference.params, expected=layers_text(expected),
                           found=layers_text(found), hint_key=difference.hint_key)
        follows = self._follows_the_argument(context)
        if follows is not None:
            return follows
        if spec.structure.affine:
            deviation = _affine_deviation(context)
            text = f"{deviation:.3g}" if deviation is not None else "?"
            if deviation is None or deviation > AFFINE_TOLERANCE:
                return Verdict("failed", "structure.not_affine", {"deviation": text}, expected=AFFINE_RULE, found=text)
        return Verdict("passed", "structure.passed", {"layers": layers_text(expected)}, found=layers_text(found))


    def _follows_the_argument(self, context: ModelContext) -> Verdict | None:
        """The layers of the class built again with `probe_hidden` as its hidden size, unless they
        follow it (None)."""
        spec, observed = context.spec, context.evidence.observation
        assert observed is not None
        construction = observed.construction
        without_arguments = isinstance(construction, Construct) and construction.without_arguments is not None
        hidden = spec.structure.hidden_arg
        if hidden is None or without_arguments:  # else the defined check says it
            return None
        other_args = observed.probe_hidden_args or []
        probe = observed.hidden_probe
        if isinstance(probe, Failed):
            return Verdict("error", "structure.hidden_raised",
                           {"hidden": spec.structure.probe_hidden, "error": context.describe_error(probe.error)})
        layers = probe.layers if isinstance(probe, Layers) else []
        fits = len(other_args) == len(spec.args)
        if spec.structure.pattern is not None:
            pattern = pattern_for(spec, other_args if fits else spec.args)
            if fits and layers and pattern.matches(pattern.visible(found_tokens(layers))):
                return None
            return Verdict("failed", "structure.argument_ignored",
                           {"argument": spec.parameter_names[hidden], "hidden": spec.structure.probe_hidden},
                           expected=pattern.text(), found=shown(pattern, layers))
        want = expected_layers(spec, other_args) if fits else []
        got = visible_layers(layers, want)
        if not want or got != want:
            return Verdict("failed", "structure.hidden_fixed", {"hidden": spec.structure.probe_hidden},
                           expected=layers_text(want), found=layers_text(got))
        return None


def how_the_layers_differ(spec: ModelSpec, loss: str, layers: list[str]) -> tuple[str, dict[str, str]] | None:
    """The message key (a hint, where the model's task decides it) and its parameters of how the
    layers found differ from the spec's, or None where they do not."""
    if spec.structure.pattern is not None:
        mismatch = pattern_difference(spec, loss, layers)
        return (mismatch.key, mismatch.params) if mismatch is not None else None
    expected = expected_layers(spec, spec.args)
    difference = layer_difference(spec, expected, visible_layers(layers, expected))
    return (difference.hint_key or difference.key, difference.params) if difference is not None else None


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


@dataclass(frozen=True)
class LayerDifference:
    """How the layers found differ from the expected ones: the message's key, its `activation` or
    `names`, and the hint for the model's task where that decides it."""

    key: str
    params: dict[str, str]
    hint_key: str | None = None


def visible_layers(found: list[str], expected: list[str]) -> list[str]:
    """The layers found, without the transparent ones the expected layers do not name."""
    return [t for t in found if t not in TRANSPARENT or t in expected]


def layer_difference(spec: ModelSpec, expected: list[str], found: list[str]) -> LayerDifference | None:
    """The first way the visible layers `found` differ from `expected`, or None."""
    if found == expected:
        return None
    expected_linear = [t for t in expected if t.startswith("linear")]
    found_linear = [t for t in found if t.startswith("linear")]
    if len(found_linear) != len(expected_linear):
        return LayerDifference("structure.layer_count", {})
    if found_linear != expected_linear:
        return LayerDifference("structure.layer_sizes", {})
    extra = [t for t in found if t not in expected and not t.startswith("linear") and t not in ACTIVATIONS]
    if extra and [t for t in found if t not in extra] == expected:
        return LayerDifference("structure.extra_layers", {"names": ", ".join(dict.fromkeys(extra))})
    expected_slots, found_slots = _after_each_linear(expected), _after_each_linear(found)
    last = len(expected_slots) - 1
    for index, (want, got) in enumerate(zip(expected_slots, found_slots)):
        if want == got:
            continue
        want_acts, got_acts = [t for t in want if t in ACTIVATIONS], [t for t in got if t in ACTIVATIONS]
        if index == last and want_acts and not got_acts:
            return LayerDifference("structure.missing_output_activation", {"activation": want_acts[0]},
                                   f"hint.output_activation_missing.{spec.task}")
        if index == last and got_acts and not want_acts:
            return LayerDifference("structure.extra_output_activation", {"activation": got_acts[0]},
                                   f"hint.output_activation_extra.{spec.task}")
        if 0 < index < last and want_acts and not got_acts:
            return LayerDifference("structure.missing_hidden_activation", {"activation": want_acts[0]})
        break
    return LayerDifference("structure.activations", {})


def _after_each_linear(tokens: list[str]) -> list[list[str]]:
    """The tokens before the first linear layer, then those after each linear layer."""
    slots: list[list[str]] = [[]]
    for token in tokens:
        if token.startswith("linear"):
            slots.append([])
        else:
            slots[-1].append(token)
    return slots


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
