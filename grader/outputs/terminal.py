"""Text from a submission, made safe for the instructor's terminal.

Exception messages, class names, file names, ids and zip entry names are the student's to choose. A
terminal obeys the control characters and escape sequences in them (clear the screen, move the
cursor, set the title, OSC-8 links, device control strings) and rich would read `[...]` as markup
(styles, links, and a `[/]` that raises MarkupError). `safe_text` removes every escape sequence of
ECMA-48 (7-bit and 8-bit forms) and every other C0/C1 control character; callers print the result as
plain text (a rich `Text`, or `markup=False, highlight=False`), never as markup.
"""

from __future__ import annotations

import re

ESC = "\x1b"
# Control strings (OSC, DCS, SOS, PM, APC): their body runs to ST (ESC \ or 0x9c) or BEL; one left
# open would swallow what follows in a terminal, so here it runs to the end of the text.
_CONTROL_STRING = re.compile(r"(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]).*?(?:\x07|\x1b\\|\x9c|\Z)", re.DOTALL)
# CSI: parameters 0x30-0x3f, intermediates 0x20-0x2f, a final byte 0x40-0x7e.
_CSI = re.compile(r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?")
# Every other escape: ESC, intermediates, a final byte (ESC c, ESC 7, ESC ( B, ...).
_ESCAPE = re.compile(r"\x1b[ -/]*[0-~]?")
# What remains of C0 (but newline and tab), DEL, C1, and the bidirectional overrides and isolates,
# which reorder what the terminal shows (a "Trojan Source" line).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def safe_text(value: object, multiline: bool = True) -> str:
    """`value` as text with no escape sequence and no control character; tabs become spaces, and
    newlines too unless `multiline` (a message of several lines keeps them; a name or an id never)."""
    text = "" if value is None else str(value)
    text = text.replace("\r\n", "\n")
    text = _CONTROL_STRING.sub("", text)
    text = _CSI.sub("", text)
    text = _ESCAPE.sub("", text)
    text = _CONTROL.sub("", text.replace("\t", " "))
    return text if multiline else text.replace("\n", " ")


def safe_line(value: object) -> str:
    """`safe_text` on one line: for names, ids, file names and entries."""
    return safe_text(value, multiline=False)
