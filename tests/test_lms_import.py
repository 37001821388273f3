"""Reading LMS downloads: Moodle and Canvas names -> student ids, and what real downloads hold besides.

Nearly nothing here grades (no sandbox): `collect_inputs` only unpacks and attributes files. The one
exception grades the planted-download attack end to end (two real submissions, the fast hostile spec).
"""

from __future__ import annotations

import csv
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from fixtures.lms.builders import (
    JIRO_PY,
    SOLUTION_IPYNB,
    SOLUTION_PY,
    canvas_entries,
    moodle_entries,
    write_zip,
)

from grader.cli import main
from grader.intake.collect import collect_inputs, lms_zip_kind
from grader.intake.downloads import canvas, moodle
from grader.result import Result


# ---- Moodle names (lms-formats.md §1.1, §1.4) ----------------------------------------------------
@pytest.mark.parametrize(("path", "participant", "name", "plugin", "inner"), [
    ("Jane Doe_1234567_assignsubmission_file/notebook.ipynb", "1234567", "Jane Doe", "file", "notebook.ipynb"),
    ("Jane Doe_1234567_assignsubmission_file_/notebook.ipynb", "1234567", "Jane Doe", "file", "notebook.ipynb"),
    ("Jane Doe_1234567_assignsubmission_file_notebook.ipynb", "1234567", "Jane Doe", "file", "notebook.ipynb"),
    ("Jane Doe_1234567_assignsubmission_file/src/my_model.py", "1234567", "Jane Doe", "file", "src/my_model.py"),
    ("Jane Doe_1234567_assignsubmission_file_my_model_v2.py", "1234567", "Jane Doe", "file", "my_model_v2.py"),
    ("山田 太郎_42_assignsubmission_onlinetext/onlinetext.html", "42", "山田 太郎", "onlinetext", "onlinetext.html"),
    ("Participant_7_assignsubmission_file/a.ipynb", "7", "Participant", "file", "a.ipynb"),  # blind marking
    ("CS101-HW1-4711/Jane Doe_1234567_assignsubmission_file/a.ipynb", "1234567", "Jane Doe", "file", "a.ipynb"),
])
def test_moodle_path_gives_the_participant_id(path, participant, name, plugin, inner):
    found = moodle.parse_path(path)
    assert found == moodle.MoodleFile(participant, name, plugin, inner)


@pytest.mark.parametrize("path", [
    "README.txt", "Jane Doe_abc_assignsubmission_file/a.ipynb", "Jane Doe_1234567_file/a.ipynb",
    "Jane Doe_1234567_assignsubmission_file", "jane.ipynb",
])
def test_moodle_path_outside_the_naming_is_not_attributed(path):
    assert moodle.parse_path(path) is None


# ---- Canvas names (§2.1, §2.4) ---------------------------------------------------------------------
@pytest.mark.parametrize(("file", "user", "anon", "name", "late", "attachment", "filename"), [
    ("doejane_12345_67890_hw1.ipynb", "12345", None, "doejane", False, "67890", "hw1.ipynb"),
    ("doejane_LATE_12345_67890_hw1.ipynb", "12345", None, "doejane", True, "67890", "hw1.ipynb"),
    ("doejane_late_12345_67890_hw1.ipynb", "12345", None, "doejane", True, "67890", "hw1.ipynb"),  # older Canvas
    ("obrien_pat_12345_67890_my_file_2.ipynb", "12345", None, "obrien_pat", False, "67890", "my_file_2.ipynb"),
    ("doejane_12345_67890_hw1-1.ipynb", "12345", None, "doejane", False, "67890", "hw1-1.ipynb"),
    ("山田太郎_23456_78901_課題 1.py", "23456", None, "山田太郎", False, "78901", "課題 1.py"),
    ("doejane_12345_text.html", "12345", None, "doejane", False, None, "text.html"),
    ("doejane_LATE_12345_link.html", "12345", None, "doejane", True, None, "link.html"),
    ("anon_AbCdE_777_hw.ipynb", None, "AbCdE", "", False, "777", "hw.ipynb"),
    ("LATE_anon_AbCdE_777_hw.ipynb", None, "AbCdE", "", True, "777", "hw.ipynb"),
    ("anon_AbCdE_text.html", None, "AbCdE", "", False, None, "text.html"),
])
def test_canvas_name_gives_the_user_id(file, user, anon, name, late, attachment, filename):
    assert canvas.parse_name(file) == canvas.CanvasFile(user, anon, name, late, attachment, filename)


def test_canvas_student_id_is_the_user_id_or_the_anonymous_id():
    assert canvas.parse_name("doejane_12345_67890_hw1.ipynb").student_id == "12345"
    assert canvas.parse_name("anon_AbCdE_777_hw.ipynb").student_id == "anon_AbCdE"


@pytest.mark.parametrize("file", ["hw1.ipynb", "alice_hw1.py", "notes from the TA.txt", "anon_AbC0E_777_x.py"])
def test_canvas_name_outside_the_naming_is_not_attributed(file):
    assert canvas.parse_name(file) is None  # (0 is not base58: no anonymous id)


# ---- Moodle downloads ------------------------------------------------------------------------------
@pytest.mark.parametrize("layout", ["folders", "folders_old", "flat"])
def test_moodle_zip_in_each_layout_gives_one_item_per_participant(tmp_path, layout):
    download = write_zip(tmp_path / "CS101-Homework 1-4711.zip", moodle_entries(layout))
    assert lms_zip_kind(download) == "moodle"
    items = collect_inputs([download], extract_dir=tmp_path / "x")
    by_id = {item.student_id: item for item in items}
    assert sorted(by_id) == ["1234567", "2345678", "3456789"]
    jane = by_id["1234567"]
    assert (jane.lms, jane.name, jane.lms_ref["participant_id"]) == ("moodle", "Jane Doe", "1234567")
    assert jane.path.read_bytes() == SOLUTION_IPYNB.read_bytes()
    assert jane.submitted_at == datetime(2024, 3, 4, 15, 15)
    assert by_id["2345678"].name == "山田 太郎"
    assert by_id["2345678"].path.read_bytes() == JIRO_PY.read_bytes()
    # A PDF alone is still that student's submission: grading then says it is not a notebook.
    assert by_id["3456789"].path.name.endswith("notes.pdf")
    # The stray README cannot be attributed; junk (__MACOSX, .DS_Store) is dropped silently.
    assert [(u.path, u.source) for u in items.unattributed] == [("README.txt", "CS101-Homework 1-4711.zip")]
    assert [u.path.rsplit("/", 1)[-1].rsplit("_", 1)[-1] for u in items.not_graded] == ["onlinetext.html"]
    assert items.lms == {"moodle"}
    # Everything unpacked stays inside the extract folder.
    assert all((tmp_path / "x") in item.path.parents for item in items)


def test_moodle_zip_without_utf8_flag_keeps_japanese_names(tmp_path):
    download = write_zip(tmp_path / "moodle.zip", moodle_entries(), utf8_flag=False)
    raw = [i.filename for i in zipfile.ZipFile(download).infolist()]
    assert not any("山田" in n for n in raw)  # Python alone would read cp437 mojibake
    items = collect_inputs([download], extract_dir=tmp_path / "x")
    assert {i.student_id: i.name for i in items}["2345678"] == "山田 太郎"
    assert {i.student_id: i.path.name for i in items}["2345678"] == "課題 1.py"


def test_several_files_of_one_student_are_packed_into_one_submission(tmp_path):
    download = write_zip(tmp_path / "moodle.zip", {
        "Bob Smith_4567890_assignsubmission_file/main.ipynb": SOLUTION_IPYNB,
        "Bob Smith_4567890_assignsubmission_file/helpers/util.py": "X = 1\n",
        "Bob Smith_4567890_assignsubmission_file/report.pdf": b"%PDF",
        "Bob Smith_4567890_assignsubmission_file/.ipynb_checkpoints/main-checkpoint.ipynb": SOLUTION_IPYNB,
    })
    [item] = collect_inputs([download], extract_dir=tmp_path / "x")
    assert item.student_id == "4567890" and item.path.suffix == ".zip"
    with zipfile.ZipFile(item.path) as packed:
        assert sorted(packed.namelist()) == ["helpers/util.py", "main.ipynb"]
    again = collect_inputs([download], extract_dir=tmp_path / "y")
    assert again[0].path.read_bytes() == item.path.read_bytes()  # same bytes: a rerun reuses the result


def test_unpacked_moodle_folder_is_read_like_the_zip(tmp_path):
    for relative, content in moodle_entries("folders").items():
        path = tmp_path / "download" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.read_bytes() if isinstance(content, Path) else
                         content.encode() if isinstance(content, str) else content)
    items = collect_inputs([tmp_path / "download"])
    assert sorted(i.student_id for i in items) == ["1234567", "2345678", "3456789"]
    assert [u.path for u in items.unattributed] == ["README.txt"]


def test_unsafe_entries_are_reported_not_unpacked(tmp_path):
    download = tmp_path / "moodle.zip"
    with zipfile.ZipFile(download, "w") as archive:
        archive.writestr("Jane Doe_1234567_assignsubmission_file/a.py", SOLUTION_PY.read_text())
        archive.writestr("../evil.py", "print('escaped')")
        link = zipfile.ZipInfo("Jane Doe_1234567_assignsubmission_file/link.py")
        link.external_attr = (0o120777 << 16)
        archive.writestr(link, "/etc/passwd")
    items = collect_inputs([download], extract_dir=tmp_path / "x")
    assert [i.student_id for i in items] == ["1234567"]
    assert {u.path: u.reason for u in items.unattributed} == {
        "../evil.py": "unsafe path in the zip: not unpacked",
        "Jane Doe_1234567_assignsubmission_file/link.py": "a symbolic link: not unpacked",
    }
    assert not (tmp_path / "evil.py").exists()


def test_resubmissions_in_two_downloads_share_the_student(tmp_path):
    first = write_zip(tmp_path / "a" / "moodle.zip", {"Jane Doe_1234567_assignsubmission_file/a.py": JIRO_PY},
                      date_time=(2024, 3, 1, 9, 0, 0))
    second = write_zip(tmp_path / "b" / "moodle.zip", {"Jane Doe_1234567_assignsubmission_file/a.py": SOLUTION_PY},
                       date_time=(2024, 3, 2, 9, 0, 0))
    items = collect_inputs([first, second], extract_dir=tmp_path / "x")
    assert [(i.student_id, i.student) for i in items] == [("1234567", "1234567"), ("1234567-2", "1234567")]
    assert [i.submitted_at.day for i in items] == [1, 2]
    assert items[0].path.read_bytes() == JIRO_PY.read_bytes() and items[1].path.read_bytes() == SOLUTION_PY.read_bytes()


# ---- Canvas downloads ------------------------------------------------------------------------------
def test_canvas_zip_gives_user_ids_late_flags_and_anonymous_ids(tmp_path):
    download = write_zip(tmp_path / "cs101-homework_1 submissions.zip", canvas_entries())
    assert lms_zip_kind(download) == "canvas"
    items = collect_inputs([download], extract_dir=tmp_path / "x")
    by_id = {i.student_id: i for i in items}
    assert sorted(by_id) == ["12345", "23456", "anon_AbCdE"]
    jane = by_id["12345"]
    assert (jane.lms, jane.name, jane.late) == ("canvas", "doejane", True)
    assert jane.lms_ref == {"user_id": "12345", "anonymous_id": None, "name": "doejane", "attachment_ids": ["67890"]}
    assert by_id["23456"].name == "山田太郎" and not by_id["23456"].late
    assert by_id["anon_AbCdE"].lms_ref["user_id"] is None
    assert by_id["anon_AbCdE"].path.name == "anon_AbCdE_text.html"
    assert [u.path for u in items.unattributed] == ["notes from the TA.txt"]


def test_canvas_student_with_two_attachments_is_one_submission(tmp_path):
    download = write_zip(tmp_path / "canvas.zip", {
        "doejane_12345_111_model.ipynb": SOLUTION_IPYNB,
        "doejane_12345_112_util.py": "X = 1\n",
        "smithbob_23456_113_bob.py": SOLUTION_PY,
    })
    items = collect_inputs([download], extract_dir=tmp_path / "x")
    jane = {i.student_id: i for i in items}["12345"]
    assert jane.lms_ref["attachment_ids"] == ["111", "112"]
    with zipfile.ZipFile(jane.path) as packed:
        assert sorted(packed.namelist()) == ["model.ipynb", "util.py"]


def test_plain_folder_whose_names_hold_numbers_stays_plain(tmp_path):
    for name in ("alice.py", "bob.py", "hw_1_2_final.py"):
        (tmp_path / name).write_text("x = 1\n")
    (tmp_path / "__MACOSX").mkdir()
    (tmp_path / "__MACOSX" / "._alice.py").write_bytes(b"\x00")
    items = collect_inputs([tmp_path])
    assert [(i.student_id, i.lms) for i in items] == [("alice", None), ("bob", None), ("hw_1_2_final", None)]
    assert items.unattributed == [] and items.lms == set()


def test_a_students_own_zip_is_a_submission_not_a_download(tmp_path):
    own = write_zip(tmp_path / "alice.zip", {"alice/model.ipynb": SOLUTION_IPYNB})
    assert lms_zip_kind(own) is None
    assert [(i.path, i.student_id) for i in collect_inputs([own])] == [(own, "alice")]


def test_plain_ids_stay_unique_without_clobbering_an_existing_name(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for path in (tmp_path / "a" / "alice.py", tmp_path / "b" / "alice.py", tmp_path / "b" / "alice-2.py"):
        path.write_text("x = 1\n")
    items = collect_inputs([tmp_path / "a", tmp_path / "b"])
    # b/alice-2.py sorts before b/alice.py: the second alice becomes alice-3, not a second alice-2.
    assert [(i.student_id, i.student) for i in items] == [("alice", "alice"), ("alice-2", "alice-2"), ("alice-3", "alice")]


# ---- a student's file never acts as an LMS download (issue 18, item 5) ------------------------------
HANAKO = "Hanako Sato_1234567_assignsubmission_file"
PLANTED = "class MLR:\n    pass\n"  # earns nothing: what an attacker would plant in another's row


def attack_batch(tmp_path: Path) -> tuple[Path, Path]:
    """The real Moodle download (Hanako's correct solution) and, in a plain folder, Mallory's own zip
    whose entries follow Moodle's naming for Hanako's participant id, dated 2099 to win `--keep latest`."""
    download = write_zip(tmp_path / "moodle" / "CS101-HW1-4711.zip", {f"{HANAKO}/solution.py": SOLUTION_PY},
                         date_time=(2024, 3, 4, 15, 15, 0))
    plain = tmp_path / "plain"
    write_zip(plain / "mallory.zip", {f"{HANAKO}/x.py": PLANTED}, date_time=(2099, 1, 1, 0, 0, 0))
    (plain / "alice.py").write_text("x = 1\n", encoding="utf-8")
    return download, plain


def test_a_zip_inside_a_plain_folder_is_its_students_submission_not_a_download(tmp_path):
    download, plain = attack_batch(tmp_path)
    items = collect_inputs([download, plain], extract_dir=tmp_path / "x")
    by_id = {i.student_id: i for i in items}
    assert sorted(by_id) == ["1234567", "alice", "mallory"]
    assert by_id["1234567"].path.read_bytes() == SOLUTION_PY.read_bytes()
    assert (by_id["mallory"].path, by_id["mallory"].lms, by_id["mallory"].student) == (plain / "mallory.zip", None, "mallory")
    assert items.unattributed == []
    assert items.notes == [f"{plain / 'mallory.zip'}: laid out as a Moodle download, but inside a folder a zip is one "
                           "student's submission; give the zip itself as an input to read it as a download"]


def test_a_folder_of_student_folders_is_plain_even_when_one_holds_moodle_names(tmp_path):
    """Only a folder that is itself the download (its own entries in Moodle's naming) is read as one."""
    inbox = tmp_path / "inbox"
    (inbox / "mallory" / HANAKO).mkdir(parents=True)
    (inbox / "mallory" / HANAKO / "x.py").write_text(PLANTED, encoding="utf-8")
    (inbox / "alice.py").write_text("x = 1\n", encoding="utf-8")
    (inbox / "bob.py").write_text("x = 2\n", encoding="utf-8")
    items = collect_inputs([inbox])
    assert [(i.student_id, i.lms) for i in items] == [("alice", None), ("bob", None), ("x", None)]
    assert items.lms == set() and items.unattributed == []


def test_a_plain_folder_with_one_moodle_named_file_among_others_stays_plain(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in ("alice.py", "bob.py", "carol.py"):
        (inbox / name).write_text("x = 1\n", encoding="utf-8")
    (inbox / f"{HANAKO}_x.py").write_text(PLANTED, encoding="utf-8")  # Moodle's flat layout, named by a student
    items = collect_inputs([inbox])
    assert all(i.lms is None for i in items) and "1234567" not in {i.student for i in items}


def test_inside_a_moodle_download_a_zip_or_a_moodle_named_folder_is_that_participants(tmp_path):
    planted = write_zip(tmp_path / "evil.zip", {f"{HANAKO}/x.py": PLANTED}, date_time=(2099, 1, 1, 0, 0, 0))
    download = write_zip(tmp_path / "moodle.zip", {
        f"{HANAKO}/solution.py": SOLUTION_PY,
        "Mallory Evans_7654321_assignsubmission_file/evil.zip": planted,
        f"Mallory Evans_7654321_assignsubmission_file/{HANAKO}/y.py": PLANTED,
    })
    items = collect_inputs([download], extract_dir=tmp_path / "x")
    by_id = {i.student_id: i for i in items}
    assert sorted(by_id) == ["1234567", "7654321"]
    assert by_id["1234567"].path.read_bytes() == SOLUTION_PY.read_bytes()
    with zipfile.ZipFile(by_id["7654321"].path) as packed:  # her two files, packed as her one submission
        assert sorted(packed.namelist()) == [f"{HANAKO}/y.py", "evil.zip"]


def test_a_submission_time_in_the_future_is_not_believed(tmp_path):
    download = write_zip(tmp_path / "moodle.zip", {f"{HANAKO}/solution.py": SOLUTION_PY}, date_time=(2099, 1, 1, 0, 0, 0))
    items = collect_inputs([download], extract_dir=tmp_path / "x")
    assert items[0].submitted_at is None
    assert items.notes == ["1 file(s) carry a time later than tomorrow: not believed, so they do not count as the "
                           "latest submission"]


def test_with_lms_moodle_a_canvas_shaped_input_is_not_read_as_canvas(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "doejane_12345_67890_hw1.py").write_text("x = 1\n", encoding="utf-8")
    assert [i.lms for i in collect_inputs([inbox])] == ["canvas"]
    items = collect_inputs([inbox], lms="moodle")
    assert [(i.student_id, i.lms) for i in items] == [("doejane_12345_67890_hw1", None)]
    assert any("Canvas" in note and "--lms moodle" in note for note in items.notes)


def test_planted_moodle_zip_cannot_take_another_students_row(tmp_path, capsys):
    """The attack end to end: Hanako's row in grades.csv and in Moodle's worksheet shows her own
    25 / 25, and Mallory's zip is graded as Mallory's own submission."""
    download, plain = attack_batch(tmp_path)
    out = tmp_path / "out"
    spec = Path(__file__).resolve().parent / "hostile" / "spec"
    assert main(["grade", str(download), str(plain), "-a", str(spec), "-o", str(out), "--lang", "en", "-j", "1",
                 "--lms", "moodle", "--keep", "latest"]) == 0
    results = {p.stem: Result.model_validate_json(p.read_text(encoding="utf-8")) for p in (out / "results").glob("*.json")}
    assert sorted(results) == ["1234567", "alice", "mallory"]  # no `1234567-2`: nothing planted under her id
    hanako, mallory = results["1234567"], results["mallory"]
    # Her own file, graded as the reference solution is (25 / 25 unless a loaded machine cuts a model's budget).
    assert (hanako.status, hanako.submission.file, hanako.max_score) == ("graded", "solution.py", 25)
    assert hanako.score > mallory.score == 0
    assert (mallory.submission.student_id, mallory.submission.file) == (
        "mallory", f"mallory.zip/{HANAKO}/x.py")  # her own zip, read as her submission
    with (out / "grades.csv").open(encoding="utf-8") as handle:
        grades = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert sorted(grades) == ["1234567", "alice", "mallory"]
    assert (grades["1234567"]["name"], grades["1234567"]["submission"], grades["1234567"]["submissions"],
            grades["1234567"]["score"]) == ("Hanako Sato", "1234567", "1", f"{hanako.score:g}")
    assert (grades["mallory"]["submission"], grades["mallory"]["score"]) == ("mallory", "0")
    with (out / "moodle" / "grading-worksheet.csv").open(encoding="utf-8") as handle:
        worksheet = list(csv.DictReader(handle))
    assert [(w["Identifier"], w["Full name"], w["Grade"]) for w in worksheet] == [
        ("Participant 1234567", "Hanako Sato", f"{hanako.score:.2f}")]


def test_a_zip_entry_with_an_empty_name_does_not_stop_the_collection(tmp_path):
    """`ZipInfo.is_dir()` raises IndexError on an entry whose name is empty: one such zip, given as an
    input or found in a folder, must not stop the batch before anything is graded."""
    folder = tmp_path / "in"
    folder.mkdir()
    with zipfile.ZipFile(folder / "odd.zip", "w") as archive:
        archive.writestr(zipfile.ZipInfo(""), b"x")
    (folder / "alice.py").write_text("print(1)\n", encoding="utf-8")
    items = collect_inputs([folder, folder / "odd.zip"])
    assert sorted(item.student_id for item in items) == ["alice", "odd", "odd-2"]
    assert lms_zip_kind(folder / "odd.zip") is None
