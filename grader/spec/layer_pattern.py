"""A structure pattern: the layers a model's forward must pass through, as an instructor writes them.

    pattern = ["(conv2d(1,n_channels,k=3) relu)+", "maxpool2d(2)", "flatten", "linear(*,10)"]

Each item is a layer token (`kind` or `kind(size, size, key=value)`) or a group in parentheses,
with an optional count: `?` (at most one), `*` (any number), `+` (one or more), `{n}`, `{n,}`,
`{n,m}`. A size is a number, `*` (any), or the name of a constructor argument (`n_channels`, read
from the model's `args`). A token names its sizes in order and only the options it cares about:
`conv2d(1,8)` matches `conv2d(1,8,k=3,s=1,p=0)`. A kind may be a family: `conv`, `maxpool`,
`avgpool`, `pool`, `norm`, `recurrent`, `activation`, or `any` (one layer of any kind).

The layers found (`grader.protocol.ops.layer_token` writes them) are matched as a whole, after
leaving out reshapes (`flatten`, `unflatten`: a `view` does the same and shows no layer) on both
sides and the layers that compute nothing in eval mode (dropout, identity) unless the pattern names
them. The matching is a regular expression over the positions of the layers found: each token of
the pattern becomes the set of positions whose layer it matches.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

ACTIVATIONS = frozenset({"sigmoid", "relu", "relu6", "tanh", "softmax", "log_softmax", "leaky_relu", "elu", "gelu",
                         "silu", "softplus", "hardtanh"})
# The kinds a token may name: every structure token of grader.protocol.ops (a test keeps them in step).
KINDS = ACTIVATIONS | frozenset({
    "linear", "bilinear", "conv1d", "conv2d", "maxpool1d", "maxpool2d", "avgpool1d", "avgpool2d",
    "adaptiveavgpool1d", "adaptiveavgpool2d", "flatten", "unflatten", "dropout", "batchnorm", "layernorm",
    "embedding", "rnn", "lstm", "gru", "identity",
})
FAMILIES: Mapping[str, frozenset[str]] = {
    "conv": frozenset({"conv1d", "conv2d"}),
    "maxpool": frozenset({"maxpool1d", "maxpool2d"}),
    "avgpool": frozenset({"avgpool1d", "avgpool2d", "adaptiveavgpool1d", "adaptiveavgpool2d"}),
    "pool": frozenset({"maxpool1d", "maxpool2d", "avgpool1d", "avgpool2d", "adaptiveavgpool1d", "adaptiveavgpool2d"}),
    "norm": frozenset({"batchnorm", "layernorm"}),
    "recurrent": frozenset({"rnn", "lstm", "gru"}),
    "activation": ACTIVATIONS,
    "any": KINDS,
}
RESHAPES = frozenset({"flatten", "unflatten"})
# Layers that compute nothing where the predictions are made (dropout is the identity in eval
# mode): no part of the structure unless the assignment's layers name them.
TRANSPARENT = frozenset({"dropout", "identity"})

_TOKEN = re.compile(r"([a-z][a-z0-9_]*)(?:\(([^()]*)\))?")
_COUNT = re.compile(r"\?|\*|\+|\{(\d+)(,(\d*))?\}")
_VALUE = re.compile(r"\*|[A-Za-z_][A-Za-z0-9_]*|-?[0-9]+(?:x[0-9]+)*|[a-z]+")
_OPTION = re.compile(r"([a-z][a-z0-9_]*)=(.+)")


class PatternError(ValueError):
    """A pattern that cannot be read, with where in it."""


@dataclass(frozen=True)
class Token:
    """One layer: its kind, its sizes in order, and options by short name (all as text)."""

    kind: str
    sizes: tuple[str, ...] = ()
    options: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, text: str) -> Token:
        match = _TOKEN.fullmatch(text.strip())
        if match is None:
            raise PatternError(f"{text!r} is not a layer (`kind` or `kind(size, ..., key=value)`)")
        kind, inside = match.group(1), match.group(2)
        sizes: list[str] = []
        options: list[tuple[str, str]] = []
        for part in [p.strip() for p in inside.split(",")] if inside and inside.strip() else []:
            option = _OPTION.fullmatch(part)
            value = option.group(2).strip() if option else part
            if not _VALUE.fullmatch(value):
                raise PatternError(f"{text!r}: {value!r} is not a size (a number, * or an argument's name)")
            if option:
                options.append((option.group(1), value))
            elif options:
                raise PatternError(f"{text!r}: the sizes come before the options (key=value)")
            else:
                sizes.append(value)
        return cls(kind, tuple(sizes), tuple(options))

    @property
    def kinds(self) -> frozenset[str]:
        return FAMILIES.get(self.kind, frozenset({self.kind}))

    def resolved(self, args: Mapping[str, int]) -> Token:
        """The token with each argument's name replaced by its value in `args`."""
        def value(text: str) -> str:
            if not _is_name(text):
                return text
            if text not in args:
                raise PatternError(f"{self.text()}: {text} is not a constructor argument "
                                   f"(the model's args: {', '.join(args) or 'none by name'})")
            return str(args[text])
        return Token(self.kind, tuple(value(s) for s in self.sizes), tuple((k, value(v)) for k, v in self.options))

    def argument_names(self) -> list[str]:
        return [v for v in (*self.sizes, *(v for _, v in self.options)) if _is_name(v)]

    def matches(self, found: Token) -> bool:
        if found.kind not in self.kinds:
            return False
        if len(self.sizes) > len(found.sizes) and self.sizes[len(found.sizes):] != ("*",) * (len(self.sizes) - len(found.sizes)):
            return False
        if any(want not in ("*", got) for want, got in zip(self.sizes, found.sizes)):
            return False
        have = dict(found.options)
        return all(want == "*" or have.get(key) == want for key, want in self.options)

    def text(self) -> str:
        parts = [*self.sizes, *(f"{k}={v}" for k, v in self.options)]
        return f"{self.kind}({','.join(parts)})" if parts else self.kind


@dataclass(frozen=True)
class Item:
    """A token or a group of items, with how many times it may come."""

    token: Token | None
    group: tuple[Item, ...]
    low: int
    high: int | None  # None: no upper bound

    def text(self) -> str:
        body = self.token.text() if self.token is not None else "(" + " ".join(i.text() for i in self.group) + ")"
        count = {(1, 1): "", (0, 1): "?", (0, None): "*", (1, None): "+"}.get((self.low, self.high))
        if count is None:
            count = f"{{{self.low}}}" if self.low == self.high else f"{{{self.low},{'' if self.high is None else self.high}}}"
        return body + count


@dataclass(frozen=True)
class Pattern:
    items: tuple[Item, ...]

    @classmethod
    def parse(cls, elements: list[str]) -> Pattern:
        text = " ".join(elements)
        items, position = _items(text, 0, top=True)
        if not items:
            raise PatternError("the pattern names no layer")
        return cls(tuple(items)) if position == len(text) else _raise(text, position, "unexpected text")

    def resolved(self, args: Mapping[str, int]) -> Pattern:
        return Pattern(tuple(_resolve(item, args) for item in self.items))

    def tokens(self) -> list[Token]:
        return [t for item in self.items for t in _tokens(item)]

    def required_kinds(self) -> list[Token]:
        """The tokens every match must contain (outside anything optional): a layer missing
        altogether is the clearest thing to say."""
        return [t for item in self.items for t in _required(item)]

    def matches(self, found: list[Token]) -> bool:
        kept = self.visible(found)
        expression = "".join(_regex(item, kept) for item in self.items if not _only_reshapes(item))
        return re.fullmatch(expression, "".join(chr(0x100 + i) for i in range(len(kept)))) is not None

    def visible(self, found: list[Token]) -> list[Token]:
        """The layers found as the pattern sees them: without reshapes, and without dropout and
        identity unless the pattern names them."""
        named = {kind for t in self.tokens() if t.kind != "any" for kind in t.kinds}
        return [t for t in found if t.kind not in RESHAPES and (t.kind not in TRANSPARENT or t.kind in named)]

    def kinds_only(self) -> Pattern:
        """The pattern without sizes or options: to tell wrong sizes from wrong layers."""
        return Pattern(tuple(_strip(item) for item in self.items))

    def text(self) -> str:
        return " → ".join(item.text() for item in self.items)


def _is_name(value: str) -> bool:
    """A size that names a constructor argument (not a number, `*` or a word such as `same`)."""
    return (value[:1].isalpha() or value[:1] == "_") and value not in ("true", "false", "same", "valid")


def _raise(text: str, position: int, what: str) -> Pattern:
    raise PatternError(f"{what} at {position + 1} of {text!r}")


def _items(text: str, position: int, top: bool) -> tuple[list[Item], int]:
    items: list[Item] = []
    while True:
        while position < len(text) and text[position] in " \t,":
            position += 1
        if position == len(text) or text[position] == ")":
            if text[position:position + 1] == ")" and top:
                _raise(text, position, "a ) without its (")
            return items, position
        if text[position] == "(":
            group, position = _items(text, position + 1, top=False)
            if text[position:position + 1] != ")":
                _raise(text, position, "a ( without its )")
            if not group:
                _raise(text, position, "an empty group")
            token, position = None, position + 1
        else:
            match = _TOKEN.match(text, position)
            if match is None:
                _raise(text, position, "not a layer")
                raise AssertionError  # unreachable: for the type checker
            token, group, position = Token.parse(match.group(0)), [], match.end()
            if not token.kinds <= KINDS:
                raise PatternError(f"{token.kind!r} is no layer kind the grader knows (known: "
                                   f"{', '.join(sorted(KINDS | set(FAMILIES)))})")
        low, high, position = _count(text, position)
        items.append(Item(token, tuple(group), low, high))


def _count(text: str, position: int) -> tuple[int, int | None, int]:
    match = _COUNT.match(text, position)
    if match is None:
        return 1, 1, position
    sign = match.group(0)
    if sign in "?*+":
        return (0 if sign != "+" else 1), (1 if sign == "?" else None), match.end()
    low = int(match.group(1))
    high = low if match.group(2) is None else (int(match.group(3)) if match.group(3) else None)
    if high is not None and high < low:
        _raise(text, position, f"a count {sign} whose upper bound is below its lower one")
    return low, high, match.end()


def _resolve(item: Item, args: Mapping[str, int]) -> Item:
    token = item.token.resolved(args) if item.token is not None else None
    return Item(token, tuple(_resolve(i, args) for i in item.group), item.low, item.high)


def _strip(item: Item) -> Item:
    token = Token(item.token.kind) if item.token is not None else None
    return Item(token, tuple(_strip(i) for i in item.group), item.low, item.high)


def _tokens(item: Item) -> list[Token]:
    return [item.token] if item.token is not None else [t for i in item.group for t in _tokens(i)]


def _required(item: Item) -> list[Token]:
    if item.low == 0:
        return []
    return [item.token] if item.token is not None else [t for i in item.group for t in _required(i)]


def _only_reshapes(item: Item) -> bool:
    return all(t.kind in RESHAPES for t in _tokens(item))


def _regex(item: Item, found: list[Token]) -> str:
    if _only_reshapes(item):
        return ""
    if item.token is not None:
        positions = "".join(re.escape(chr(0x100 + i)) for i, t in enumerate(found) if item.token.matches(t))
        body = f"[{positions}]" if positions else "(?!)"
    else:
        body = "(?:" + "".join(_regex(i, found) for i in item.group) + ")"
    high = "" if item.high is None else str(item.high)
    return body if (item.low, item.high) == (1, 1) else f"{body}{{{item.low},{high}}}"
