"""The service's storage and queue rules, in process (no HTTP, no sandbox): dedupe, order, recovery
after a stop, giving up on a job that keeps being cut off, and a grader fault graded again."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from fixtures.lms.builders import tiny_assignment

from grader.apps.server.jobs import WorkerPool
from grader.apps.server.storage import MAX_ATTEMPTS, Storage
from grader.result import Result
from grader.spec import load_assignment


def put(storage: Storage, student: str, content: bytes = b"x = 1\n", name: str = "a.py"):
    incoming = storage.incoming_path()
    incoming.write_bytes(content)
    return storage.add("tiny", student, name, hashlib.sha256(content).hexdigest(), len(content), incoming)


def test_same_file_same_student_is_stored_once(tmp_path):
    storage = Storage(tmp_path)
    first, created = put(storage, "alice")
    again, created_again = put(storage, "alice")
    other, created_other = put(storage, "bob")
    assert (created, created_again, created_other) == (True, False, True)
    assert again.id == first.id and other.id != first.id
    assert storage.file_path(first).read_bytes() == b"x = 1\n"
    assert list((tmp_path / "incoming").iterdir()) == []  # the duplicate's bytes are not kept


def test_claim_takes_the_oldest_and_recover_requeues_what_was_cut_off(tmp_path):
    storage = Storage(tmp_path)
    ids = [put(storage, f"s{i}")[0].id for i in range(3)]
    assert storage.claim().id == ids[0]
    assert storage.counts() == {"queued": 2, "running": 1, "done": 0}
    storage.close()

    reopened = Storage(tmp_path)  # as after a crash: the running one goes back to the queue
    assert reopened.recover() == ([ids[0]], [])
    assert [reopened.claim().id for _ in range(3)] == ids
    assert reopened.claim() is None


def test_the_queue_interleaves_students(tmp_path):
    """alice queues 20 uploads (an instructor's hook has no per-student limit), then bob and carol one
    each: with one worker, bob's starts second and carol's third, not 21st and 22nd; with alice's
    first job still running, her second waits for the others' first."""
    storage = Storage(tmp_path)
    alice = [put(storage, "alice", f"x = {i}\n".encode())[0].id for i in range(20)]
    bob, carol = put(storage, "bob")[0].id, put(storage, "carol")[0].id
    assert storage.claim().id == alice[0]
    assert storage.claim().id == bob  # alice has one running: her next turn comes after bob's first
    storage.finish(alice[0], "graded", 1.0, 1.0)
    storage.finish(bob, "graded", 1.0, 1.0)
    assert [storage.claim().id for _ in range(2)] == [alice[1], carol]  # both first in line; alice's is older
    storage.finish(alice[1], "graded", 1.0, 1.0)
    storage.finish(carol, "graded", 1.0, 1.0)
    assert [storage.claim().id for _ in range(18)] == alice[2:]  # alone now: oldest first
    assert storage.claim() is None


def test_a_job_cut_off_too_often_is_graded_error(tmp_path):
    storage = Storage(tmp_path / "data")
    row, _ = put(storage, "alice")
    for _ in range(MAX_ATTEMPTS):
        storage.recover()
        assert storage.claim().id == row.id
    assignment = load_assignment(str(tiny_assignment(tmp_path / "assignments")))
    WorkerPool(storage, {"tiny": assignment}, workers=0).start()
    done = storage.get(row.id)
    assert (done.state, done.result_status) == ("done", "error")
    result = Result.model_validate_json(storage.result_path(row.id).read_text(encoding="utf-8"))
    assert result.status == "error" and "cut off too many times" in result.message
    assert storage.report_path(row.id).is_file()


def test_requeue_clears_the_earlier_outcome(tmp_path):
    storage = Storage(tmp_path)
    row, _ = put(storage, "alice")
    storage.claim()
    storage.finish(row.id, "error", 0.0, 25.0)
    storage.requeue(row.id)
    again = storage.get(row.id)
    assert (again.state, again.result_status, again.score, again.attempts) == ("queued", None, None, 0)


@pytest.mark.parametrize("name", ["../../etc/passwd.py", "..\\evil.py", ".hidden.py"])
def test_upload_names_cannot_leave_the_submission_folder(name):
    from grader.apps.server.app import _clean_file_name

    cleaned = _clean_file_name(name)
    assert "/" not in cleaned and "\\" not in cleaned and not cleaned.startswith(".")
    assert Path(cleaned).suffix == ".py"
