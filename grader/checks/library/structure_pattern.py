"""The `structure` check for a spec that gives its layers as a pattern (grader.spec.layer_pattern):
what differs, said as specifically as the layers found allow. No check of its own: `structure`
calls it."""

from __future__ import annotations

from dataclasses import dataclass

from grader.spec import ModelSpec
from grader.spec.layer_pattern import ACTIVATIONS, RESHAPES, Pattern, PatternError, Token
from grader.spec.schema import OUTPUT_OF_LOSS, OutputKind

# The activations a forward of each kind of output may end with, and the message when it does not.
ENDINGS: dict[OutputKind, tuple[frozenset[str], str]] = {
    "probabilities": (frozenset({"sigmoid", "softmax"}), "structure.output_probabilities"),
    "log_probabilities": (frozenset({"log_softmax"}), "structure.output_log_probabilities"),
}
NOT_LOGITS = frozenset({"sigmoid", "softmax", "log_softmax"})


@dataclass(frozen=True)
class PatternDifference:
    key: str
    params: dict[str, str]
    expected: str
    found: str


def found_tokens(layers: list[str]) -> list[Token]:
    """The layers found as tokens (one the grader did not write is a layer of that name)."""
    tokens = []
    for text in layers:
        try:
            tokens.append(Token.parse(text))
        except PatternError:
            tokens.append(Token(text))
    return tokens


def pattern_for(spec: ModelSpec, args: list[int]) -> Pattern:
    """The spec's pattern with the constructor arguments `args` in it."""
    return spec.structure.parsed().resolved(dict(zip(spec.parameter_names, args)))


def shown(pattern: Pattern, layers: list[str]) -> str:
    return " → ".join(t.text() for t in pattern.visible(found_tokens(layers))) or "(none)"


def pattern_difference(spec: ModelSpec, loss: str, layers: list[str]) -> PatternDifference | None:
    """How the layers found differ from the spec's pattern, or None when they match it."""
    pattern = pattern_for(spec, spec.args)
    found = pattern.visible(found_tokens(layers))
    expected, found_text = pattern.text(), shown(pattern, layers)
    matched = pattern.matches(found)
    kinds = {t.kind for t in found}
    for token in [] if matched else pattern.required_kinds():
        if not token.kinds & kinds and token.kind not in RESHAPES:
            return PatternDifference("structure.missing_layer", {"kind": token.kind}, expected, found_text)
    # What forward returns is asked whatever the pattern says (a spec may leave the ending open).
    output = spec.structure.output or OUTPUT_OF_LOSS[loss]
    last = next((t.kind for t in reversed(found) if t.kind in ACTIVATIONS or t.kind == "linear"), None)
    if output == "logits" and last in NOT_LOGITS:
        return PatternDifference("structure.output_logits", {"activation": last, "loss": loss}, expected, found_text)
    if output in ENDINGS and last not in ENDINGS[output][0]:
        return PatternDifference(ENDINGS[output][1], {"loss": loss}, expected, found_text)
    if matched:
        return None
    if pattern.kinds_only().matches(found):
        return PatternDifference("structure.pattern_sizes", {}, expected, found_text)
    return PatternDifference("structure.pattern_layers", {}, expected, found_text)
