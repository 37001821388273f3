"""An assignment's own texts (`messages.toml` beside `assignment.toml`), over the grader's catalogue.

The grader's catalogue (`grader.i18n`) says everything in generic terms; an assignment's messages
file says some of it in the terms of its lesson (its hints, its "idea" texts, the names of its
classes). Each entry has the key of a catalogue entry and gives its texts in every language, as the
catalogue does:

    ["idea.test_mse"]
    ja = "..."
    en = "..."
    hint_ja = "..."   # optional, with hint_en
    hint_en = "..."

    [class_names]     # optional: the classes of the data set, in its order, for the plots
    ja = ["...", ...]
    en = ["...", ...]

This module reads the file and checks its shape (both languages, strings); whether each key is a
catalogue key and uses only its placeholders is checked against the catalogue by
`grader.i18n.overlay_problems` (the spec package imports nothing else of the grader).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

MESSAGES_FILE = "messages.toml"
LANGS = ("ja", "en")
# The fields of an entry, in pairs that must come together (a text in one language only would leave
# the other language's reader with the generic text beside the lesson's).
FIELD_PAIRS = (("ja", "en"), ("hint_ja", "hint_en"))
CLASS_NAMES = "class_names"


class MessagesError(ValueError):
    """The messages file is not what it must be; the text names the file and the key."""


@dataclass(frozen=True)
class MessageOverlay:
    """The texts an assignment gives over the catalogue: key -> field (`ja`, `hint_en` ...) -> text,
    and its class names per language. Empty when the assignment has no messages file."""

    entries: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: MappingProxyType({}))
    class_names: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))

    def __bool__(self) -> bool:
        return bool(self.entries or self.class_names)


def read_messages(folder: Path) -> bytes | None:
    """The bytes of the folder's messages file, or None when it has none."""
    path = folder / MESSAGES_FILE
    return path.read_bytes() if path.is_file() else None


def parse_messages(raw: bytes | None, path: Path) -> MessageOverlay:
    """The overlay in `raw` (the bytes of `path`); None: no messages file, an empty overlay."""
    if raw is None:
        return MessageOverlay()
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise MessagesError(f"{path}: not valid TOML: {exc}") from None
    class_names = _class_names(data.pop(CLASS_NAMES, None), path)
    entries: dict[str, Mapping[str, str]] = {}
    for key, value in data.items():
        _collect(key, value, path, entries)
    return MessageOverlay(MappingProxyType(entries), class_names)


def _collect(key: str, table: Any, path: Path, entries: dict[str, Mapping[str, str]]) -> None:
    """Entries under `key`: its own texts, and those of the tables below it (so that `[idea.test_mse]`
    and `["idea.test_mse"]` say the same)."""
    if not isinstance(table, dict):
        raise MessagesError(f"{path}: {key}: expected a table of texts (ja = ..., en = ...), found {_kind(table)}")
    texts = {name: value for name, value in table.items() if not isinstance(value, dict)}
    for name, value in table.items():
        if isinstance(value, dict):
            _collect(f"{key}.{name}", value, path, entries)
    if not texts:
        return
    known = {name for pair in FIELD_PAIRS for name in pair}
    for name, value in texts.items():
        if name not in known:
            raise MessagesError(f"{path}: {key}.{name}: unknown field (an entry has {', '.join(sorted(known))})")
        if not isinstance(value, str) or not value.strip():
            raise MessagesError(f"{path}: {key}.{name}: expected a text, found {_kind(value)}")
    for pair in FIELD_PAIRS:
        given = [name for name in pair if name in texts]
        if given and len(given) < len(pair):
            missing = next(name for name in pair if name not in texts)
            raise MessagesError(f"{path}: {key}: {given[0]} is given but not {missing} (every language or none)")
    if key in entries:
        raise MessagesError(f"{path}: {key}: given twice")
    entries[key] = MappingProxyType(texts)


def _class_names(value: Any, path: Path) -> Mapping[str, tuple[str, ...]]:
    if value is None:
        return MappingProxyType({})
    if not isinstance(value, dict) or set(value) != set(LANGS):
        found = sorted(value) if isinstance(value, dict) else _kind(value)
        raise MessagesError(f"{path}: {CLASS_NAMES}: expected a list of names for each of {', '.join(LANGS)}, "
                            f"found {found}")
    names: dict[str, tuple[str, ...]] = {}
    for lang in LANGS:
        listed = value[lang]
        if not isinstance(listed, list) or not listed or not all(isinstance(n, str) and n.strip() for n in listed):
            raise MessagesError(f"{path}: {CLASS_NAMES}.{lang}: expected a list of names, found {_kind(listed)}")
        names[lang] = tuple(listed)
    if len({len(n) for n in names.values()}) != 1:
        counts = ", ".join(f"{lang}: {len(n)}" for lang, n in names.items())
        raise MessagesError(f"{path}: {CLASS_NAMES}: the languages name different numbers of classes ({counts})")
    return MappingProxyType(names)


def _kind(value: Any) -> str:
    return {str: "a text", list: "a list", dict: "a table", bool: "a boolean"}.get(type(value), type(value).__name__)
