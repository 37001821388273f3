"""Canvas "Download Submissions": who each file of the download belongs to.

Canvas names each file of the download `<sortable name>[_LATE]_<user id>_<attachment id>_<file name>`,
or `anon_<anonymous id>_...` under anonymous grading; text entries and URLs come as
`..._text.html` / `..._link.html` (lms-formats.md §2.1, §2.4). The zip is flat.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

# lms-formats.md §2.4 (tried in this order). `late` in either case: older Canvas lower-cased it.
CANVAS_ANON = re.compile(
    r"^(?:(?P<late>late|LATE)_)?anon_(?P<anonymous_id>[1-9A-HJ-NP-Za-km-z]{5})_"
    r"(?:(?P<attachment_id>\d+)_(?P<filename>.+)|(?P<kind>text|link)\.html)$"
)
CANVAS_NAMED = re.compile(
    r"^(?P<name>.+?)_(?:(?P<late>late|LATE)_)?(?P<user_id>\d+)_"
    r"(?:(?P<attachment_id>\d+)_(?P<filename>.+)|(?P<kind>text|link)\.html)$"
)


@dataclass(frozen=True)
class CanvasFile:
    """One file of a Canvas download, attributed to a user (or an anonymous id)."""

    user_id: str | None       # the Canvas user id; None under anonymous grading
    anonymous_id: str | None
    name: str                 # the sortable-name slug ("doejane"); "" when anonymous
    late: bool
    attachment_id: str | None
    filename: str             # the file's display name, or text.html / link.html

    @property
    def student_id(self) -> str:
        return self.user_id if self.user_id is not None else f"anon_{self.anonymous_id}"


def parse_name(file_name: str) -> CanvasFile | None:
    """Attribute one file name of a Canvas download, or None when it is not in Canvas's naming."""
    base = PurePosixPath(file_name).name
    match = CANVAS_ANON.match(base)
    if match:
        return CanvasFile(None, match["anonymous_id"], "", bool(match["late"]), match["attachment_id"],
                          match["filename"] or f"{match['kind']}.html")
    match = CANVAS_NAMED.match(base)
    if match:
        return CanvasFile(match["user_id"], None, match["name"], bool(match["late"]), match["attachment_id"],
                          match["filename"] or f"{match['kind']}.html")
    return None


def looks_like(relatives: Iterable[str]) -> bool:
    """A Canvas download is flat, and most of its names are in Canvas's naming (a folder of plain
    submissions whose names happen to hold `_12_34_` stays plain)."""
    relatives = list(relatives)
    if not relatives or any("/" in r for r in relatives):
        return False
    matched = sum(parse_name(r) is not None for r in relatives)
    return matched >= 1 and matched * 2 >= len(relatives)
