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


def test_a_disk_fault_pauses_the_grading_and_it_resumes_by_itself(tmp_path, monkeypatch):
    """The first two result writes fail as on a full disk: the worker does not die (it did: both
    threads, for good), the job goes back to the queue, the pool says why; once the disk takes writes
    again, every job is graded exactly once."""
    import threading
    import time

    from grader.apps import pool as pool_module
    from grader.apps.server import jobs
    from grader.result import SubmissionInfo

    storage = Storage(tmp_path / "data")
    ids = [put(storage, student)[0].id for student in ("alice", "bob")]
    assignment = load_assignment(str(tiny_assignment(tmp_path / "assignments")))
    graded: list[str] = []

    def run_task(task, stop=None, fork_server=None, evaluator=None):
        graded.append(task.student_id)
        result = Result(assignment="tiny", grader_version="t", spec_sha256="0" * 64, status="graded", lang="en",
                        mode="definitions", score=1.0, max_score=1.0,
                        submission=SubmissionInfo(student_id=task.student_id, file="a.py"))
        return pool_module.TaskOutput(task.student_id, result.to_json(), "<p>report</p>")

    failures = threading.Semaphore(2)
    real_write = jobs.write_atomic

    def full_disk(path, text):
        if failures.acquire(blocking=False):
            raise OSError(28, "No space left on device")
        real_write(path, text)

    monkeypatch.setattr(pool_module, "run_task", run_task)
    monkeypatch.setattr(jobs, "write_atomic", full_disk)
    monkeypatch.setattr(jobs, "FAULT_RETRY_S", 0.3)
    workers = WorkerPool(storage, {"tiny": assignment}, workers=1)
    seen_faults: list[str] = []
    workers.start()
    try:
        deadline = time.monotonic() + 30
        while {storage.get(i).state for i in ids} != {"done"}:
            if workers.fault:
                seen_faults.append(workers.fault)
            assert time.monotonic() < deadline, (storage.counts(), workers.fault)
            time.sleep(0.02)
    finally:
        workers.shutdown()
    assert seen_faults and "No space left on device" in seen_faults[0]
    assert workers.fault is None  # cleared by the first job written
    assert [(storage.get(i).result_status, storage.get(i).attempts) for i in ids] == [("graded", 1), ("graded", 1)]
    assert sorted(set(graded)) == ["alice", "bob"] and graded.count("alice") == 3  # graded again, finished once


def test_a_missing_database_beside_accepted_files_refuses_to_start(tmp_path, capsys):
    from grader.apps.server.storage import DB_FILE, StorageError
    from grader.cli import main

    data = tmp_path / "data"
    storage = Storage(data)
    put(storage, "alice")
    storage.close()
    (data / DB_FILE).unlink()  # the accepted submission's file stays in data/files
    with pytest.raises(StorageError, match="is missing, but .* holds 1 submission"):
        Storage(data)
    assert main(["serve", "--data", str(data), "--workers", "0"]) == 2
    assert "restore the database from a backup" in capsys.readouterr().err
    assert not (data / DB_FILE).exists()  # nothing made in its place


def test_a_database_deleted_while_running_stops_the_grading_and_says_why(tmp_path, monkeypatch):
    import time

    from grader.apps.server import jobs
    from grader.apps.server.storage import DB_FILE

    storage = Storage(tmp_path / "data")
    row, _ = put(storage, "alice")
    assert storage.problem() is None
    (tmp_path / "data" / DB_FILE).unlink()
    assert "was deleted while the service runs" in storage.problem()
    monkeypatch.setattr(jobs, "FAULT_RETRY_S", 0.1)
    assignment = load_assignment(str(tiny_assignment(tmp_path / "assignments")))
    workers = WorkerPool(storage, {"tiny": assignment}, workers=1)
    workers.start()
    try:
        deadline = time.monotonic() + 10
        while not (workers.fault and "was deleted" in workers.fault):
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        workers.shutdown()
    assert storage.get(row.id).state == "queued"  # not graded into a database no one will read again
