"""Moodle (mod_assign) "Download all submissions": who each file of the download belongs to.

Every submission file in Moodle's download sits under a prefix `<full name>_<participant id>_
assignsubmission_<plugin>`, in one of three layouts (lms-formats.md §1.1, §1.4):

    Jane Doe_1234567_assignsubmission_file/notebook.ipynb    folders (Moodle >= 4.1, the default)
    Jane Doe_1234567_assignsubmission_file_/notebook.ipynb   folders (Moodle <= 4.0)
    Jane Doe_1234567_assignsubmission_file_notebook.ipynb    "download submissions in folders" off

The number is the per-assignment participant id (not the user id): the grading worksheet
(`grader.outputs.lms.moodle`) names the same person `Participant 1234567`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

# lms-formats.md §1.4, applied to the path inside the download (or below any folder around it).
MOODLE_PATH = re.compile(
    r"^(?P<name>[^/]*?)_(?P<participant_id>\d+)_(?P<subtype>assignsubmission)_(?P<type>[a-z0-9]+)"
    r"(?:_?/(?P<inner_path>.+)|_(?P<flat_name>[^/]+))$"
)


@dataclass(frozen=True)
class MoodleFile:
    """One file of a Moodle download, attributed to a participant."""

    participant_id: str
    name: str        # the full name as the download spells it ("Participant" under blind marking)
    plugin: str      # "file", "onlinetext", ...
    inner_path: str  # the file's name (and folders) as the student uploaded it


def parse_path(relative: str, wrapped: bool = True) -> MoodleFile | None:
    """Attribute a path inside a Moodle download, or None when it is not in Moodle's naming.

    The pattern is tried on the whole path and, when `wrapped`, below its first folder: a download
    that was unpacked into a folder and zipped again is still read. Never deeper: a folder in Moodle's
    naming inside someone's files (a student's own) attributes nothing.
    """
    parts = PurePosixPath(relative).parts
    for start in range(min(len(parts), 2 if wrapped else 1)):
        match = MOODLE_PATH.match("/".join(parts[start:]))
        if match:
            inner = match["inner_path"] or match["flat_name"]
            return MoodleFile(match["participant_id"], match["name"].strip(), match["type"], inner)
    return None


def looks_like(relatives: Iterable[str], wrapped: bool = True) -> bool:
    """A tree is a Moodle download when at least half of its files are in Moodle's naming at its top
    (`wrapped`: or below one folder). The naming is easy to copy, so one student's file or folder
    named like Moodle's cannot turn a folder of other submissions into a download."""
    relatives = list(relatives)
    matched = sum(parse_path(r, wrapped) is not None for r in relatives)
    return matched >= 1 and matched * 2 >= len(relatives)
