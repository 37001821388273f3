"""The service against real faults of its machine, end to end: its data folder on a tiny tmpfs that
fills up, the same folder made read-only under it, and SIGKILL in the middle of grading. Each time,
every accepted submission ends graded exactly once, and what could not be accepted was refused
with 503 (never a 500, never a 202 that is then lost).

The service runs in a mount namespace of its own (`unshare -m`), so that its tmpfs and remounts
touch nothing else; the tests reach into that namespace with `nsenter`. Both need root, which the
test machines give (the sandbox needs it too).
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from fixtures.lms.builders import JIRO_PY, SOLUTION_PY, tiny_assignment
from fixtures.service import Server, make_data, upload, wait_done, wait_for


@pytest.fixture(scope="module")
def assignments(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("assignments")
    tiny_assignment(folder)
    return folder


class TmpfsServer(Server):
    """`grader serve` whose data folder is a tmpfs of `size`, seeded with the folder's tokens."""

    def __init__(self, data: Path, assignments: Path, size: str) -> None:
        super().__init__(data, assignments, workers=1, env={"GRADER_FAULT_RETRY_S": "0.5"})
        seed = data.parent / "seed"
        data.rename(seed)
        data.mkdir()
        self.prefix = ["unshare", "-m", "--propagation", "private", "sh", "-c",
                       f"mount -t tmpfs -o size={size} tmpfs '{data}' && cp -a '{seed}/.' '{data}/' && exec \"$@\"", "sh"]

    def inside(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        """A command in the service's mount namespace (where its tmpfs is)."""
        assert self.process is not None
        return subprocess.run(["nsenter", "-t", str(self.process.pid), "-m", *command], check=check,
                              capture_output=True, text=True, timeout=30)

    def free_bytes(self) -> int:
        return int(self.inside("df", "--output=avail", "-B1", str(self.data)).stdout.split()[-1])

    def fill(self, leave: int) -> None:
        """A filler file that leaves `leave` bytes free."""
        size = max(0, self.free_bytes() - leave)
        self.inside("sh", "-c", f"head -c {size} /dev/zero > '{self.data}/filler'")

    def health(self) -> dict:
        return httpx.get(f"{self.url}/health", timeout=10).json()

    def attempts(self) -> dict[str, tuple[str, int]]:
        """Each submission's (state, attempts), from the database inside the namespace."""
        rows = self.inside(sys.executable, "-c", "import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); "
                           "print('\\n'.join(f'{i} {s} {a}' for i, s, a in db.execute("
                           "'SELECT id, state, attempts FROM submissions')))", str(self.data / "grader.sqlite3")).stdout
        return {line.split()[0]: (line.split()[1], int(line.split()[2])) for line in rows.splitlines() if line}




def test_a_full_disk_pauses_uploads_and_grading_and_both_resume_when_space_is_back(tmp_path, assignments):
    data, token = make_data(tmp_path)
    server = TmpfsServer(data, assignments, size="24m").start()
    server.token = token
    try:
        server.fill(leave=96 * 1024)  # room for an upload and its row, not for its 160 KB report
        first = upload(server, "alice")
        assert first.status_code == 202, first.text
        wait_for(lambda: server.health()["status"] == "degraded", what="/health degraded by the full disk")
        assert "No space left on device" in server.health()["reason"] or "disk is full" in server.health()["reason"]
        refused = upload(server, "bob", path=JIRO_PY)
        assert refused.status_code == 503 and refused.json()["error"] == "degraded" and "Retry-After" in refused.headers
        server.inside("rm", f"{server.data}/filler")
        done = wait_done(server, [first.json()["id"]])
        assert done[first.json()["id"]]["result_status"] == "graded"
        again = upload(server, "bob", path=JIRO_PY)
        assert again.status_code == 202
        wait_done(server, [again.json()["id"]])
        assert server.health()["status"] == "ok"
        assert server.attempts() == {first.json()["id"]: ("done", 1), again.json()["id"]: ("done", 1)}
        assert set(server.inside("ls", f"{server.data}/results").stdout.split()) == {
            f"{first.json()['id']}.json", f"{again.json()['id']}.json"}
    finally:
        server.stop()


def test_a_read_only_data_folder_pauses_the_service_and_it_resumes_when_writable(tmp_path, assignments):
    data, token = make_data(tmp_path)
    server = TmpfsServer(data, assignments, size="64m").start()
    server.token = token
    try:
        first = upload(server, "alice")
        assert first.status_code == 202
        # The folders it writes made read-only, while the job is being graded (the database stays
        # writable: a file open for writing keeps its file system from a read-only remount).
        folders = [str(server.data / name) for name in ("files", "results", "reports", "incoming")]
        for folder in folders:
            server.inside("sh", "-c", f"mount --bind '{folder}' '{folder}' && mount -o remount,bind,ro '{folder}'")
        wait_for(lambda: server.health()["status"] == "degraded", what="/health degraded by the read-only folder")
        refused = upload(server, "bob", path=JIRO_PY)
        assert refused.status_code == 503 and refused.json()["error"] == "degraded", refused.text
        assert "Read-only file system" in refused.json()["detail"]
        assert "Read-only file system" in server.health()["reason"]
        for folder in folders:
            server.inside("umount", folder)
        wait_done(server, [first.json()["id"]])
        again = upload(server, "bob", path=JIRO_PY)
        assert again.status_code == 202, again.text
        wait_done(server, [again.json()["id"]])
        assert server.attempts() == {first.json()["id"]: ("done", 1), again.json()["id"]: ("done", 1)}
    finally:
        server.stop()


def test_sigkill_in_the_middle_of_grading_loses_nothing_and_grades_each_once(tmp_path, assignments):
    data, token = make_data(tmp_path)
    server = Server(data, assignments, workers=1).start()
    server.token = token
    try:
        ids = [upload(server, f"student{i}", path=SOLUTION_PY if i % 2 else JIRO_PY).json()["id"] for i in range(3)]
        database = sqlite3.connect(data / "grader.sqlite3")
        wait_for(lambda: database.execute("SELECT COUNT(*) FROM submissions WHERE state='running'").fetchone()[0] == 1,
                 what="a job being graded")
        cut = database.execute("SELECT id FROM submissions WHERE state='running'").fetchone()[0]
        database.close()
        server.kill()
        server.start()
        done = wait_done(server, ids)
        assert {body["result_status"] for body in done.values()} == {"graded"}
        with sqlite3.connect(data / "grader.sqlite3") as database:
            attempts = dict(database.execute("SELECT id, attempts FROM submissions").fetchall())
        assert attempts == {i: (2 if i == cut else 1) for i in ids}  # the cut one was begun twice, finished once
        assert sorted(p.stem for p in (data / "results").glob("*.json")) == sorted(ids)
    finally:
        server.stop()
