"""Intake is bounded: a zip's entries and unpacked bytes have limits (`[limits] zip_members`,
`zip_total_mb`), checked from the central directory before anything is unpacked and counted again
while members stream; a notebook whose JSON is valid but not a notebook is `invalid` with a reason
that names where, never a traceback.
"""

from __future__ import annotations

import io
import json
import shutil
import struct
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from grader.i18n import CATALOGUE, Messages
from grader.intake.submission import IntakeLimits, InvalidSubmission, read_submission
from grader.pipeline import grade_file
from grader.spec import load_assignment

ROOT = Path(__file__).resolve().parent.parent
SPEC_DIR = ROOT / "tests" / "hostile" / "spec"
SOLUTION_PY = ROOT / "solutions" / "iris_basics" / "solution.py"
MB = 2**20


def invalid(path: Path, limits: IntakeLimits | None = None) -> InvalidSubmission:
    with pytest.raises(InvalidSubmission) as caught:
        read_submission(path, limits=limits)
    assert caught.value.key in CATALOGUE
    return caught.value


def peak_while(function, *args) -> tuple[object, int]:
    """What `function` returned or raised, and the peak of the memory Python allocated meanwhile."""
    tracemalloc.start()
    try:
        try:
            outcome: object = function(*args)
        except Exception as exc:
            outcome = exc
        return outcome, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def zip_of(path: Path | io.BytesIO, members: dict[str, bytes],
           compression: int = zipfile.ZIP_DEFLATED) -> Path | io.BytesIO:
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


# ---- zips ----------------------------------------------------------------------------------------
def test_a_zip_of_thousands_of_helpers_is_refused_from_its_directory(tmp_path):
    # The attack: 9,000 helper modules of 1 MB; here 5,000 of 1 KB, refused on their count alone.
    members = {"main.py": SOLUTION_PY.read_bytes()}
    members.update({f"helpers/h{i:04d}.py": b"# helper\n" + b"x = 1\n" * 170 for i in range(5000)})
    path = zip_of(tmp_path / "many.zip", members)
    error, peak = peak_while(read_submission, path)
    assert isinstance(error, InvalidSubmission) and error.key == "submission.zip_too_many", error
    assert error.params == {"file": "many.zip", "limit": 200}
    assert Messages("en").text(error.key, **error.params) == (
        "many.zip holds more than 200 files and folders (the limit is 200). "
        "Zip only the notebook or module and the files it needs.")
    assert "200" in Messages("ja").text(error.key, **error.params)
    # Refused before zipfile made an object per entry: far less than the 5 MB of members.
    assert peak < path.stat().st_size + 2 * MB, peak


def test_a_zip64_record_is_read_as_zipfile_reads_it(tmp_path):
    # The plain end record says 1 entry; a zip64 record before it (which zipfile would follow) says
    # 100,000 in a directory of 5 MB: refused on the zip64 figures.
    data = zip_of(io.BytesIO(), {"main.py": b"x = 1\n"}).getvalue()
    end = data.rindex(b"PK\x05\x06")
    zip64_end = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, 100_000, 100_000, 5 * MB, 0)
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, end, 1)
    path = tmp_path / "zip64.zip"
    path.write_bytes(data[:end] + zip64_end + locator + data[end:])
    assert invalid(path).key == "submission.zip_too_many"


def test_a_zip_that_unpacks_past_the_total_is_refused_before_reading(tmp_path):
    members = {"main.py": SOLUTION_PY.read_bytes()}
    members.update({f"h{i:02d}.py": b"#" * 1_000_000 for i in range(60)})  # 57 MB, each under 1 MB
    path = zip_of(tmp_path / "big.zip", members)
    error, peak = peak_while(read_submission, path)
    assert isinstance(error, InvalidSubmission) and error.key == "submission.zip_too_large", error
    assert Messages("en").text(error.key, **error.params) == (
        "big.zip unpacks to more than 50 MB (the limit for a zip's contents is 50 MB). "
        "Zip only the notebook or module and the files it needs.")
    assert peak < 4 * MB, peak


def _lie_about_sizes(data: bytes, size: int) -> bytes:
    """Every central-directory and local header entry claims `size` unpacked bytes."""
    out = bytearray(data)
    for signature, offset in ((b"PK\x01\x02", 24), (b"PK\x03\x04", 22)):
        start = 0
        while (start := out.find(signature, start)) >= 0:
            struct.pack_into("<L", out, start + offset, size)
            start += 4
    return bytes(out)


def test_a_member_whose_headers_lie_about_its_size_is_cut_off(tmp_path):
    # 100 MB of one repeated line, claimed to be 1 KB: never read past what it claims.
    buffer = io.BytesIO()
    zip_of(buffer, {"main.py": b"x = 1\n" * (100 * MB // 6)})
    path = tmp_path / "liar.zip"
    path.write_bytes(_lie_about_sizes(buffer.getvalue(), 1024))
    error, peak = peak_while(read_submission, path)
    assert isinstance(error, InvalidSubmission) and error.key == "submission.bad_zip", error
    assert peak < 4 * MB, peak


def test_the_running_count_stops_at_the_limit_while_streaming(tmp_path):
    # Three members of 2 MB against a 5 MB total: the third is cut off after at most its first 64 KB
    # past the limit, whatever the directory said.
    from grader.intake import submission

    path = zip_of(tmp_path / "three.zip", {f"m{i}.py": b"#" * (2 * MB) for i in range(3)}, zipfile.ZIP_STORED)
    limits = IntakeLimits(zip_members=10, zip_total_bytes=5 * MB)
    archive = zipfile.ZipFile(path)
    budget = submission._ReadBudget("three.zip", limits)
    for member in archive.infolist()[:2]:
        assert len(submission._read_member(archive, member, 3 * MB, "three.zip", budget)) == 2 * MB
    error, peak = peak_while(submission._read_member, archive, archive.infolist()[2], 3 * MB, "three.zip", budget)
    assert isinstance(error, InvalidSubmission) and error.key == "submission.zip_too_large"
    assert error.params == {"file": "three.zip", "limit_mb": "5"}
    assert peak < 1.5 * MB, peak


def test_the_limits_come_from_the_assignment(tmp_path):
    spec = tmp_path / "spec"
    shutil.copytree(SPEC_DIR, spec)
    toml = (spec / "assignment.toml").read_text(encoding="utf-8")
    (spec / "assignment.toml").write_text(toml.replace("[limits]\n", "[limits]\nzip_members = 3\nzip_total_mb = 1\n"),
                                          encoding="utf-8")
    assignment = load_assignment(str(spec))
    assert (assignment.spec.limits.zip_members, assignment.spec.limits.zip_total_mb) == (3, 1)
    four = zip_of(tmp_path / "four.zip", {"main.py": SOLUTION_PY.read_bytes(), **{f"h{i}.py": b"y = 2\n" for i in range(3)}})
    result = grade_file(four, assignment, lang="en").result
    assert (result.status, result.message) == ("invalid", Messages("en").text("submission.zip_too_many", file="four.zip",
                                                                                  limit=3))
    big = zip_of(tmp_path / "big.zip", {"main.py": SOLUTION_PY.read_bytes(), "h.py": b"#" * (MB + 10)})
    result = grade_file(big, assignment, lang="ja").result
    assert (result.status, result.message) == ("invalid", Messages("ja").text("submission.zip_too_large", file="big.zip",
                                                                                  limit_mb="1"))


@pytest.mark.parametrize("key, value", [("zip_members", 0), ("zip_members", 10_001), ("zip_total_mb", 0),
                                        ("zip_total_mb", 2000)])
def test_limits_out_of_bounds_are_a_spec_error(tmp_path, key, value):
    from grader.spec import AssignmentError

    spec = tmp_path / "spec"
    shutil.copytree(SPEC_DIR, spec)
    toml = (spec / "assignment.toml").read_text(encoding="utf-8")
    (spec / "assignment.toml").write_text(toml.replace("[limits]\n", f"[limits]\n{key} = {value}\n"), encoding="utf-8")
    with pytest.raises(AssignmentError, match=key):
        load_assignment(str(spec))


def test_an_ordinary_zip_still_reads(tmp_path):
    members = {"hw/main.py": SOLUTION_PY.read_bytes(), "hw/utils.py": b"K = 3\n", "hw/answer.txt": "答え".encode()}
    submission = read_submission(zip_of(tmp_path / "ok.zip", members))
    assert (submission.main_file, submission.extra_files, submission.texts) == (
        "ok.zip/hw/main.py", {"utils.py": "K = 3\n"}, {"answer.txt": "答え"})
    assert submission.cells[0].source == SOLUTION_PY.read_text(encoding="utf-8")


# ---- notebooks that are JSON but not notebooks ---------------------------------------------------
CODE = {"cell_type": "code", "source": "x = 1", "metadata": {}, "outputs": [], "execution_count": None}
NOT_NOTEBOOKS = {
    "cells of numbers": ({"cells": [1, 2]}, "submission.notebook_field", "cells[0]", "number"),
    "cells a string": ({"cells": "x = 1"}, "submission.notebook_field", "cells", "string"),
    "a cell without cell_type": ({"cells": [CODE, {"source": "x"}]}, "submission.notebook_cell_type", "cells[1]", None),
    "cell_type a number": ({"cells": [{"cell_type": 5, "source": "x"}]}, "submission.notebook_field",
                           "cells[0].cell_type", "number"),
    "source a number": ({"cells": [{**CODE, "source": 3}]}, "submission.notebook_field", "cells[0].source", "number"),
    "source a dict": ({"cells": [{**CODE, "source": {"a": 1}}]}, "submission.notebook_field", "cells[0].source", "object"),
    "source a boolean": ({"cells": [{**CODE, "source": True}]}, "submission.notebook_field", "cells[0].source", "boolean"),
    "a line of source a number": ({"cells": [{**CODE, "source": ["x = 1\n", 2]}]}, "submission.notebook_field",
                                  "cells[0].source[1]", "number"),
    "cell metadata a list": ({"cells": [{**CODE, "metadata": []}]}, "submission.notebook_field", "cells[0].metadata",
                             "array"),
    "notebook metadata a number": ({"cells": [CODE], "metadata": 5}, "submission.notebook_field", "metadata", "number"),
    "tags a string": ({"cells": [CODE, {"cell_type": "markdown", "source": "a", "metadata": {"tags": "answer"}}]},
                      "submission.notebook_field", "cells[1].metadata.tags", "string"),
    "a tag a number": ({"cells": [CODE, {"cell_type": "markdown", "source": "a", "metadata": {"tags": [1]}}]},
                       "submission.notebook_field", "cells[1].metadata.tags[0]", "number"),
    "worksheets an object": ({"nbformat": 3, "worksheets": {"cells": []}}, "submission.notebook_field", "worksheets",
                             "object"),
    "a worksheet a list": ({"nbformat": 3, "worksheets": [[]]}, "submission.notebook_field", "worksheets[0]", "array"),
    "worksheet cells an object": ({"nbformat": 3, "worksheets": [{"cells": {}}]}, "submission.notebook_field",
                                  "worksheets[0].cells", "object"),
    "v3 input a number": ({"nbformat": 3, "worksheets": [{"cells": [{"cell_type": "code", "input": 5}]}]},
                          "submission.notebook_field", "worksheets[0].cells[0].input", "number"),
    "v3 heading level a string": (
        {"nbformat": 3, "worksheets": [{"cells": [{"cell_type": "heading", "source": "T", "level": "1"},
                                                  {"cell_type": "code", "input": "x = 1"}]}]},
        "submission.notebook_field", "worksheets[0].cells[0].level", "string"),
}


@pytest.mark.parametrize("notebook, key, field, found", NOT_NOTEBOOKS.values(), ids=NOT_NOTEBOOKS.keys())
def test_json_that_is_not_a_notebook_says_where(tmp_path, notebook, key, field, found):
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(notebook), encoding="utf-8")
    error = invalid(path)
    expected = {"file": "nb.ipynb", "field": field, **({"found": found} if found else {})}
    assert (error.key, error.params) == (key, expected)
    for lang in ("ja", "en"):
        assert field in Messages(lang).text(error.key, **error.params)


def test_an_integer_too_long_for_python_is_not_a_notebook(tmp_path):
    path = tmp_path / "nb.ipynb"
    path.write_text('{"cells": [], "metadata": {"n": %s}}' % ("9" * 5000), encoding="utf-8")
    assert invalid(path).key == "submission.not_notebook"


def test_a_huge_heading_level_stays_small(tmp_path):
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps({"nbformat": 3, "worksheets": [{"cells": [
        {"cell_type": "heading", "source": "T", "level": 10**18}, {"cell_type": "code", "input": ["x = 1"]}]}]}),
        encoding="utf-8")
    submission = read_submission(path)
    assert [(c.number, c.source) for c in submission.markdown] == [(1, "###### T")]
    assert [(c.number, c.source) for c in submission.cells] == [(2, "x = 1")]


def test_a_real_notebook_reads_as_before():
    notebook = ROOT / "solutions" / "iris_basics" / "solution.ipynb"
    import nbformat

    expected = [(n, "".join(c.source)) for n, c in enumerate(nbformat.read(str(notebook), as_version=4).cells, start=1)
                if c.cell_type == "code"]
    assert [(c.number, c.source) for c in read_submission(notebook).cells] == expected
