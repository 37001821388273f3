"""The intake, fuzzed: mutated notebooks, modules and zips through `read_submission` (and, for
notebooks and modules, the batch's `collect_inputs` on a folder holding the file).

Every outcome is a `Submission` or an `InvalidSubmission` whose key is in the catalogue and whose
message fills in both languages; any other exception fails. 2,000 examples of each kind, derandomized
so that CI sees the same inputs on every run. `benchmarks/fuzz_intake.py` runs the same strategies
longer and records the peak memory.
"""

from __future__ import annotations

import io
import json
import tempfile
import warnings
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.i18n import CATALOGUE, LANGS, Messages
from grader.intake.collect import collect_inputs
from grader.intake.submission import (
    IntakeLimits,
    InvalidSubmission,
    Submission,
    read_submission,
)

# A fuzzed module declared `unicode_escape` with a stray backslash: Python warns while decoding it, as
# it would for the student; that is the input's doing, not a problem of the intake.
pytestmark = pytest.mark.filterwarnings("ignore:invalid escape sequence:DeprecationWarning")
# Each kind, in CI; `benchmarks/fuzz_intake.py --examples 50000` is the deep run.
EXAMPLES = 500
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

SEED_V4 = {
    "nbformat": 4, "nbformat_minor": 5,
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "cells": [
        {"cell_type": "markdown", "metadata": {"tags": ["answer"]}, "source": ["# 考察\n", "MSE は小さい"]},
        {"cell_type": "code", "metadata": {}, "execution_count": 1, "outputs": [],
         "source": ["import torch\n", "class MLR(torch.nn.Module):\n", "    pass\n"]},
        {"cell_type": "code", "metadata": {"tags": []}, "execution_count": None, "outputs": [], "source": "x = 1"},
        {"cell_type": "raw", "metadata": {}, "source": "raw"},
    ],
}
SEED_V3 = {
    "nbformat": 3, "nbformat_minor": 0, "metadata": {"name": "old"},
    "worksheets": [{"metadata": {}, "cells": [
        {"cell_type": "heading", "level": 1, "metadata": {}, "source": "Iris"},
        {"cell_type": "code", "language": "python", "metadata": {}, "outputs": [], "input": ["import torch\n", "y = 2"]},
        {"cell_type": "markdown", "metadata": {}, "source": "text"},
    ]}],
}
SEED_MODULE = '''"""MLR の解答.

考察: 線形モデルで十分です。
"""
import torch


class MLR(torch.nn.Module):
    def __init__(self, n_input, n_output):
        super().__init__()
        self.l1 = torch.nn.Linear(n_input, n_output)

    def forward(self, x):
        return self.l1(x)
'''
NOTEBOOK_KEYS = ["cells", "cell_type", "source", "metadata", "tags", "worksheets", "input", "level", "nbformat",
                 "outputs", "code", "markdown", "heading"]
CODING_LINES = [b"", b"# -*- coding: utf-8 -*-\n", b"# coding: cp932\n", b"# coding: utf-16\n", b"# coding: rot13\n",
                b"# coding: unicode_escape\n", b"# coding: punycode\n", b"# coding: idna\n", b"# coding: nope\n",
                b"# vim: set fileencoding=euc_jp :\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf# coding: latin-1\n", b"\xff\xfe"]
ZIP_NAMES = ["main.py", "hw/main.py", "helpers.py", "sub/dir/util.py", "a.ipynb", "hw/b.ipynb", "answer.txt",
             "README.md", "__MACOSX/._main.py", ".ipynb_checkpoints/a-checkpoint.ipynb", "../escape.py", "/abs.py",
             "dir/", "名前.py", "x.PY", "bad name.py", "1bad.py", "n\x00ull.py", "a" * 300 + ".py"]
COMPRESSIONS = [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]

json_leaves = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12), st.sampled_from(NOTEBOOK_KEYS))
json_values = st.recursive(
    json_leaves,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(NOTEBOOK_KEYS) | st.text(max_size=6), children, max_size=4),
    max_leaves=10)


def _paths(value, prefix=()):
    """Every position in a JSON document, as a tuple of keys and indexes."""
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


def _replace(document, path, new, delete=False):
    if not path:
        return new
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return document


@st.composite
def byte_edits(draw, data: bytes) -> bytes:
    """Some bytes flipped, inserted or cut, or the tail cut off."""
    out = bytearray(data)
    for _ in range(draw(st.integers(0, 4))):
        if not out:
            break
        position = draw(st.integers(0, len(out) - 1))
        action = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        if action == "flip":
            out[position] = draw(st.integers(0, 255))
        elif action == "insert":
            out[position:position] = draw(st.binary(min_size=1, max_size=8))
        elif action == "delete":
            del out[position:position + draw(st.integers(1, 16))]
        else:
            del out[position:]
    return bytes(out)


@st.composite
def notebooks(draw) -> bytes:
    document = json.loads(json.dumps(draw(st.sampled_from([SEED_V4, SEED_V3]))))
    for _ in range(draw(st.integers(1, 4))):
        paths = list(_paths(document))
        path = draw(st.sampled_from(paths))
        delete = bool(path) and draw(st.booleans()) and draw(st.booleans())
        document = _replace(document, path, None if delete else draw(json_values), delete=delete)
    text = json.dumps(document, ensure_ascii=draw(st.booleans()))
    data = text.encode(draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp932"])), errors="replace")
    return draw(byte_edits(data)) if draw(st.booleans()) else data


@st.composite
def modules(draw) -> bytes:
    body = draw(st.sampled_from([SEED_MODULE.encode(), SEED_MODULE.encode("cp932"), SEED_MODULE.encode("utf-16"),
                                 b"", b"   \n", b"'''unterminated", b'"""doc"""\n' * 3, b"b'bytes doc'\n",
                                 b"f'{x}'\n", b"x = 1\x00\n"]))
    if draw(st.booleans()):
        body = draw(st.binary(max_size=200)) if draw(st.booleans()) else draw(st.text(max_size=200)).encode("utf-8")
    data = draw(st.sampled_from(CODING_LINES)) + body
    return draw(byte_edits(data)) if draw(st.booleans()) else data


@st.composite
def zips(draw) -> tuple[bytes, IntakeLimits]:
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w") as archive:
        warnings.simplefilter("ignore")  # a duplicate name is one of the cases, not a problem of the test
        for _ in range(draw(st.integers(0, 4))):
            name = draw(st.sampled_from(ZIP_NAMES) | st.text(min_size=1, max_size=20))
            kind = draw(st.sampled_from(["notebook", "module", "bytes"]))
            data = draw(notebooks() if kind == "notebook" else modules() if kind == "module" else st.binary(max_size=300))
            info = zipfile.ZipInfo(name)
            info.compress_type = draw(st.sampled_from(COMPRESSIONS))
            archive.writestr(info, data)
    data = buffer.getvalue()
    if draw(st.booleans()):
        data = draw(byte_edits(data))
    # Now and then limits small enough that the zip reaches them.
    limits = draw(st.sampled_from([IntakeLimits(), IntakeLimits(zip_members=3, zip_total_bytes=1000)]))
    return data, limits


def assert_plain_outcome(read) -> object:
    """A Submission, or an InvalidSubmission whose message exists and fills in both languages."""
    try:
        outcome = read()
    except InvalidSubmission as exc:
        assert exc.key in CATALOGUE, exc.key
        for lang in LANGS:
            assert Messages(lang).text(exc.key, **exc.params)
        return exc
    assert isinstance(outcome, Submission) and outcome.cells, outcome
    return outcome


def check_file(folder: Path, name: str, data: bytes, limits: IntakeLimits | None = None,
               through_inputs: bool = True) -> object:
    path = folder / name
    path.write_bytes(data)
    outcome = assert_plain_outcome(lambda: read_submission(path, limits=limits))
    if through_inputs:
        items = collect_inputs([folder])
        assert [(item.path, item.student_id) for item in items] == [(path, "fuzz")]
        again = assert_plain_outcome(lambda: read_submission(items[0].path, items[0].student_id, limits))
        assert type(again) is type(outcome)
    return outcome


@FUZZ
@given(data=notebooks())
def test_mutated_notebooks_are_read_or_refused_plainly(data):
    with tempfile.TemporaryDirectory(prefix="grader-fuzz-") as folder:
        check_file(Path(folder), "fuzz.ipynb", data)


@FUZZ
@given(data=modules())
def test_mutated_modules_are_read_or_refused_plainly(data):
    with tempfile.TemporaryDirectory(prefix="grader-fuzz-") as folder:
        check_file(Path(folder), "fuzz.py", data)


@FUZZ
@given(case=zips())
def test_mutated_zips_are_read_or_refused_plainly(case):
    data, limits = case
    with tempfile.TemporaryDirectory(prefix="grader-fuzz-") as folder:
        check_file(Path(folder), "fuzz.zip", data, limits, through_inputs=False)
