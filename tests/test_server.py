"""The upload hook service, driven over HTTP: the real `grader serve` in a subprocess on 127.0.0.1.

Servers here grade a tiny copy of iris_basics (5 epochs, one seed: the reference solution scores
15.44 / 25 in about 4 s). `graded` is a server with 2 workers; `queue_only` has none (it accepts
and records, and grades nothing), for the tests about accepting and recording.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import socket
import sqlite3
import time
from pathlib import Path

import httpx
import pytest
from fixtures.lms.builders import EXAMPLES, JIRO_PY, SOLUTION_IPYNB, SOLUTION_PY, tiny_assignment
from fixtures.service import (
    OTHER_TOKEN,
    SOLUTION_SCORE,
    STUDENT_TOKEN,
    Server,
    auth,
    make_data,
    upload,
    wait_done,
)

from grader.apps.server.auth import Tokens
from grader.cli import main


@pytest.fixture(scope="module")
def assignments(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("assignments")
    tiny_assignment(folder)
    return folder


@pytest.fixture(scope="module")
def graded(tmp_path_factory, assignments):
    data, token = make_data(tmp_path_factory.mktemp("graded"))
    server = Server(data, assignments, workers=2).start()
    server.token = token
    yield server
    server.stop()


@pytest.fixture(scope="module")
def queue_only(tmp_path_factory, assignments):
    data, token = make_data(tmp_path_factory.mktemp("queue"))
    server = Server(data, assignments, workers=0).start()
    server.token = token
    yield server
    server.stop()


def test_health_and_openapi_document(graded):
    health = httpx.get(f"{graded.url}/health").json()
    assert health["status"] == "ok" and health["assignments"] == ["tiny"] and health["workers"] == 2
    document = httpx.get(f"{graded.url}/openapi.json").json()
    assert {"/health", "/submissions", "/submissions/{submission_id}", "/submissions/{submission_id}/report",
            "/submissions/{submission_id}/result", "/assignments/{assignment}/gradebook.csv"} <= set(document["paths"])
    form = document["paths"]["/submissions"]["post"]
    assert {"202", "401", "413", "415", "422", "429"} <= set(form["responses"])
    too_many = form["responses"]["429"]
    assert too_many["headers"]["Retry-After"]["schema"] == {"type": "integer"}
    assert too_many["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}


def test_upload_poll_fetch_report_dedupe_and_gradebook(graded):
    first = upload(graded, "bob", SOLUTION_PY)
    assert first.status_code == 202, first.text
    body = first.json()
    assert body["state"] in ("queued", "running") and body["duplicate"] is False
    assert body["sha256"] == hashlib.sha256(SOLUTION_PY.read_bytes()).hexdigest()
    again = upload(graded, "bob", SOLUTION_PY)  # the same file from the same student: not graded twice
    assert again.status_code == 200 and again.json()["id"] == body["id"] and again.json()["duplicate"] is True
    other = upload(graded, "carol", SOLUTION_PY)  # the same file from someone else is theirs to grade
    second = upload(graded, "bob", JIRO_PY)       # a resubmission
    assert other.status_code == second.status_code == 202
    assert len({body["id"], other.json()["id"], second.json()["id"]}) == 3

    done = wait_done(graded, [body["id"], second.json()["id"]])
    status = done[body["id"]]
    assert (status["result_status"], status["score"], status["max_score"]) == ("graded", SOLUTION_SCORE, 25.0)
    assert status["result"]["submission"]["student_id"] == "bob"
    result = httpx.get(f"{graded.url}/submissions/{body['id']}/result", headers=auth(graded.token)).json()
    assert result == status["result"] and len(result["checks"]) == 33
    report = httpx.get(f"{graded.url}/submissions/{body['id']}/report", headers=auth(graded.token))
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    assert report.headers["referrer-policy"] == "no-referrer" and "bob" in report.text
    worse = done[second.json()["id"]]["score"]
    assert worse < SOLUTION_SCORE

    def gradebook(keep: str) -> dict[str, dict]:
        answer = httpx.get(f"{graded.url}/assignments/tiny/gradebook.csv", params={"keep": keep}, headers=auth(graded.token))
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
        return {row["student_id"]: row for row in csv.DictReader(io.StringIO(answer.text))}

    latest, best = gradebook("latest"), gradebook("best")
    assert (latest["bob"]["submission"], latest["bob"]["submissions"], float(latest["bob"]["score"])) == (
        second.json()["id"], "2", worse)
    assert (best["bob"]["submission"], float(best["bob"]["score"])) == (body["id"], SOLUTION_SCORE)


def test_tokens_instructor_student_and_signed_links(graded):
    url = graded.url
    assert httpx.get(f"{url}/assignments/tiny/gradebook.csv").status_code == 401
    missing = httpx.get(f"{url}/submissions/0123456789abcdef0123")
    assert missing.status_code == 401 and missing.json()["error"] == "unauthorized"
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = httpx.get(f"{url}/assignments/tiny/gradebook.csv", headers=auth("not-a-token-at-all"))
    assert wrong.status_code == 401 and "not valid" in wrong.json()["detail"]
    # An instructor of another assignment sees nothing of this one.
    assert httpx.get(f"{url}/assignments/tiny/gradebook.csv", headers=auth(OTHER_TOKEN)).status_code == 403
    assert upload(graded, "zed", token=OTHER_TOKEN).status_code == 403

    # A student token (tokens.toml) hands in and reads its own submissions only.
    own = upload(graded, "alice", SOLUTION_IPYNB, token=STUDENT_TOKEN)
    assert own.status_code == 202
    assert upload(graded, "mallory", token=STUDENT_TOKEN).json() == {
        "error": "forbidden", "detail": "this token may not hand in for this student or assignment"}
    someone_else = upload(graded, "dave").json()["id"]
    assert httpx.get(f"{url}/submissions/{own.json()['id']}", headers=auth(STUDENT_TOKEN)).status_code == 200
    assert httpx.get(f"{url}/submissions/{someone_else}", headers=auth(STUDENT_TOKEN)).status_code == 403
    assert httpx.get(f"{url}/assignments/tiny/gradebook.csv", headers=auth(STUDENT_TOKEN)).status_code == 403
    listed = httpx.get(f"{url}/assignments/tiny/submissions", headers=auth(STUDENT_TOKEN)).json()
    assert {s["student_id"] for s in listed} == {"alice"}

    # A signed link for dave (made by an instructor through the API) opens dave's report, nothing else.
    made = httpx.post(f"{url}/assignments/tiny/student-tokens", json={"student_id": "dave", "days": 30},
                      headers=auth(graded.token))
    assert made.status_code == 201 and made.json()["token"].startswith("st1.")
    link = made.json()["token"]
    assert httpx.get(f"{url}/submissions/{someone_else}", params={"token": link}).status_code == 200
    assert httpx.get(f"{url}/submissions/{own.json()['id']}", params={"token": link}).status_code == 403
    assert httpx.post(f"{url}/assignments/tiny/student-tokens", json={"student_id": "x"},
                      headers=auth(link)).status_code == 403
    tampered = link[:-2] + ("AA" if not link.endswith("AA") else "BB")
    assert httpx.get(f"{url}/submissions/{someone_else}", params={"token": tampered}).status_code == 401
    expired, _ = Tokens.load(graded.data).sign_student("tiny", "dave", days=-1)
    assert httpx.get(f"{url}/submissions/{someone_else}", params={"token": expired}).status_code == 401


def test_cli_makes_tokens_an_instructor_can_use(tmp_path, capsys):
    data = tmp_path / "data"
    assert main(["serve", "--init-tokens", "--data", str(data), "--name", "sato", "-a", "tiny"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    tokens = Tokens.load(data, environ={})
    principal = tokens.authenticate(token)
    assert principal is not None and principal.is_instructor_of("tiny") and not principal.is_instructor_of("other")
    assert token not in (data / "tokens.toml").read_text()  # only its sha256 is kept
    assert oct((data / "tokens.toml").stat().st_mode & 0o777) == "0o600"
    assert main(["serve", "--student-token", "bob", "-a", "tiny", "--data", str(data)]) == 0
    link = capsys.readouterr().out.strip()
    assert tokens.authenticate(link).student_id == "bob"
    assert Tokens.load(data, environ={"GRADER_INSTRUCTOR_TOKEN": "ci-secret-token-123456"}).authenticate(
        "ci-secret-token-123456").is_instructor_of("anything")


@pytest.mark.parametrize(("fields", "file", "status", "error", "detail"), [
    ({"student_id": "bob", "assignment": "nope"}, ("a.py", b"x = 1\n"), 422, "unknown_assignment",
     "unknown assignment 'nope'; this service grades: tiny"),
    ({"student_id": "bob", "assignment": "tiny"}, ("notes.pdf", b"%PDF"), 415, "unsupported_file_type",
     "notes.pdf is not a file the grader reads: send a .ipynb, .py or .zip"),
    ({"student_id": "bob", "assignment": "tiny"}, ("big.py", b"#" * (2 * 2**20)), 413, "too_large",
     "the upload is 2.0 MB, over the 1 MB limit"),   # refused on its Content-Length, before it is read
    ({"student_id": "bob", "assignment": "tiny"}, ("big.py", b"#" * (2**20 + 4096)), 413, "too_large",
     "the upload is over 1.0 MB, over the 1 MB limit"),  # under the header's margin: counted while read
    ({"student_id": "bob", "assignment": "tiny"}, ("empty.py", b""), 422, "empty_file", "empty.py is empty"),
    ({"student_id": "../etc", "assignment": "tiny"}, ("a.py", b"x = 1\n"), 422, "bad_student_id", None),
    ({"assignment": "tiny"}, None, 422, "missing_fields", "missing field(s): file, student_id"),
])
def test_bad_uploads_get_a_4xx_that_says_what_is_wrong(graded, fields, file, status, error, detail):
    answer = httpx.post(f"{graded.url}/submissions", data=fields, files={"file": file} if file else None,
                        headers=auth(graded.token), timeout=30)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"] == error
    if detail:
        assert answer.json()["detail"] == detail


def test_unknown_things_are_404_and_bad_queries_422(graded):
    headers = auth(graded.token)
    assert httpx.get(f"{graded.url}/submissions/0123456789abcdef0123", headers=headers).json() == {
        "error": "unknown_submission", "detail": "no submission '0123456789abcdef0123'"}
    assert httpx.get(f"{graded.url}/submissions/..%2F..%2Fetc", headers=headers).status_code == 404
    assert httpx.get(f"{graded.url}/assignments/nope/gradebook.csv", headers=headers).json()["error"] == "unknown_assignment"
    assert httpx.get(f"{graded.url}/no/such/route").json()["error"] == "not_found"
    wrong_keep = httpx.get(f"{graded.url}/assignments/tiny/gradebook.csv", params={"keep": "worst"}, headers=headers)
    assert wrong_keep.status_code == 422 and wrong_keep.json()["error"] == "invalid_request"


def test_result_before_grading_is_409(queue_only):
    sid = upload(queue_only, "erin").json()["id"]
    for part in ("result", "report"):
        answer = httpx.get(f"{queue_only.url}/submissions/{sid}/{part}", headers=auth(queue_only.token))
        assert answer.status_code == 409 and answer.json()["error"] == "not_graded"


# ---- durability and load -----------------------------------------------------------------------
def test_restart_mid_queue_grades_every_job(tmp_path, assignments):
    """Three uploads with one worker; the server is SIGKILLed while the first is being graded and the
    other two wait; started again on the same data folder (with two workers), it grades all three."""
    data, token = make_data(tmp_path)
    server = Server(data, assignments, workers=1)
    server.token = token
    server.start()
    try:
        ids = [upload(server, f"s{i}", SOLUTION_PY).json()["id"] for i in range(3)]
        deadline = time.monotonic() + 20
        while httpx.get(f"{server.url}/submissions/{ids[0]}", headers=auth(token)).json()["state"] != "running":
            assert time.monotonic() < deadline, "the first job never started"
            time.sleep(0.05)
        server.kill()
        with sqlite3.connect(data / "grader.sqlite3") as db:
            states = dict(db.execute("SELECT id, state FROM submissions").fetchall())
        assert states[ids[0]] == "running" and states[ids[1]] == states[ids[2]] == "queued"

        server.start(workers=2)
        done = wait_done(server, ids)
        assert [(done[i]["result_status"], done[i]["score"]) for i in ids] == [("graded", SOLUTION_SCORE)] * 3
        with sqlite3.connect(data / "grader.sqlite3") as db:
            attempts = dict(db.execute("SELECT id, attempts FROM submissions").fetchall())
            assert db.execute("SELECT COUNT(*) FROM submissions").fetchone()[0] == 3
        assert attempts[ids[0]] == 2 and attempts[ids[1]] == attempts[ids[2]] == 1  # the cut-off one, redone
    finally:
        server.stop()


def test_a_long_japanese_file_name_is_cut_in_bytes_and_a_decomposed_name_is_the_same_student(queue_only):
    """85 Japanese characters are 255 bytes of UTF-8, the file system's limit with a suffix beyond it
    (it was a 500 and an empty folder); "José" typed on a Mac is "Jose" and a combining accent."""
    long_name = "課" * 85 + ".py"
    answer = upload(queue_only, "taro", content=b"x = 1\n", name=long_name)
    assert answer.status_code == 202, answer.text
    stored = answer.json()["file"]
    assert stored.endswith(".py") and len(stored.encode("utf-8")) <= 200 and stored.startswith("課" * 60)
    first = upload(queue_only, "Jose\u0301", content=b"y = 2\n", name="a.py")
    again = upload(queue_only, "Jos\u00e9", content=b"y = 2\n", name="a.py")
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["id"] == first.json()["id"] and again.json()["student_id"] == "Jos\u00e9"


def test_two_file_parts_in_one_upload_are_a_400(queue_only):
    files = [("file", ("a.py", b"x = 1\n")), ("file", ("b.py", b"y = 2\n"))]
    answer = httpx.post(f"{queue_only.url}/submissions", files=files, data={"student_id": "twice", "assignment": "tiny"},
                        headers=auth(queue_only.token), timeout=30)
    assert (answer.status_code, answer.json()["error"]) == (400, "several_files")
    assert answer.json()["detail"] == "the upload has 2 file parts; send one file per upload (several files: a .zip)"


def test_a_chunked_upload_without_a_length_is_cut_off_at_the_limit(queue_only):
    """No Content-Length (Transfer-Encoding: chunked), 3 MB against the 1 MB limit: a 413 as the
    bytes pass the limit (before, the whole body was spooled to a temporary file first)."""
    boundary = "grader-test-boundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"student_id\"\r\n\r\nchunky\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"assignment\"\r\n\r\ntiny\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.py\"\r\n"
            "Content-Type: text/x-python\r\n\r\n").encode()
    sent = []

    def body():
        yield head
        for _ in range(48):  # 3 MB in 64 KB chunks
            sent.append(1)
            yield b"#" * 65536
        yield f"\r\n--{boundary}--\r\n".encode()

    answer = httpx.post(f"{queue_only.url}/submissions", content=body(), timeout=30,
                        headers={**auth(queue_only.token), "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert answer.status_code == 413 and answer.json()["error"] == "too_large", answer.text
    assert answer.json()["detail"] == "the upload is over the 1 MB limit"
    assert upload(queue_only, "chunky", content=b"x = 3\n", name="ok.py").status_code == 202  # the service goes on


def test_a_client_that_stalls_mid_upload_is_cut_off(tmp_path, assignments):
    """A raw socket sends the head and half a body, then nothing: a 408 after --body-timeout (1 s
    here), and nothing of it is kept."""
    data, token = make_data(tmp_path)
    server = Server(data, assignments, workers=0, options=("--body-timeout", "1")).start()
    try:
        body = b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.py\"\r\n\r\nx = 1\n"
        head = (f"POST /submissions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: {len(body) * 4}\r\n\r\n").encode()
        with socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1])), timeout=20) as client:
            started = time.monotonic()
            client.sendall(head + body)
            received = b""
            while chunk := client.recv(65536):  # the service closes the connection after its answer
                received += chunk
            answer = received.decode("utf-8", "replace")
            waited = time.monotonic() - started
        assert answer.startswith("HTTP/1.1 408"), answer
        assert '"error": "stalled"' in answer and "nothing arrived for 1 s" in answer
        assert 0.9 < waited < 10
        assert not any((data / "incoming").iterdir()) and not any((data / "files").iterdir())
    finally:
        server.stop()


def test_100_concurrent_uploads_are_all_accepted_and_recorded(queue_only):
    """100 uploads at once (4 distinct files, 100 students) to a server that grades nothing: every one
    is answered 202 with its own id and is in storage with the right bytes, also after a SIGKILL and
    a restart. This proves acceptance and recording under concurrency, not grading throughput."""
    files = [SOLUTION_PY, JIRO_PY, SOLUTION_IPYNB, EXAMPLES / "taro_sequential.py"]
    students = [f"load{i:03d}" for i in range(100)]

    async def send_all() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
        async with httpx.AsyncClient(base_url=queue_only.url, headers=auth(queue_only.token), timeout=60,
                                     limits=limits) as client:
            return await asyncio.gather(*(
                client.post("/submissions", data={"student_id": s, "assignment": "tiny"},
                            files={"file": (files[i % 4].name, files[i % 4].read_bytes())})
                for i, s in enumerate(students)))

    answers = asyncio.run(send_all())
    assert [a.status_code for a in answers] == [202] * 100
    ids = {a.json()["student_id"]: a.json()["id"] for a in answers}
    assert len(set(ids.values())) == 100 and set(ids) == set(students)

    def recorded() -> dict[str, dict]:
        listed = httpx.get(f"{queue_only.url}/assignments/tiny/submissions", headers=auth(queue_only.token)).json()
        return {s["student_id"]: s for s in listed if s["student_id"].startswith("load")}

    rows = recorded()
    assert set(rows) == set(students) and all(r["state"] == "queued" for r in rows.values())
    for i, student in enumerate(students):
        assert rows[student]["id"] == ids[student]
        assert rows[student]["sha256"] == hashlib.sha256(files[i % 4].read_bytes()).hexdigest()
        stored = queue_only.data / "files" / ids[student] / files[i % 4].name
        assert stored.read_bytes() == files[i % 4].read_bytes()
    queue_only.kill()
    queue_only.start()
    assert recorded() == rows


# ---- quotas ------------------------------------------------------------------------------------
def link_for(server: Server, student: str) -> str:
    made = httpx.post(f"{server.url}/assignments/tiny/student-tokens", json={"student_id": student},
                      headers=auth(server.token))
    assert made.status_code == 201, made.text
    return made.json()["token"]


def module(n: int) -> bytes:
    """A distinct small .py for each n (these servers grade nothing, so what it holds does not matter)."""
    return f"answer = {n}\n".encode()


def stored_uploads(data: Path) -> tuple[int, list[str]]:
    """(submission folders under DATA/files, files left under DATA/incoming)."""
    return len(list((data / "files").iterdir())), sorted(p.name for p in (data / "incoming").iterdir())


def head_only_upload(server: Server, token: str, length: int = 500_000) -> bytes:
    """Sends the head of an upload (a Content-Length of `length`) and no body, and returns what the
    server answers within 5 s: an answer comes only from a server that decides without the body."""
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall((f"POST /submissions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
                      f"Content-Type: multipart/form-data; boundary=xyz\r\nContent-Length: {length}\r\n\r\n").encode())
        try:
            return sock.recv(65536)
        except TimeoutError:
            return b"(no answer in 5 s: the server waited for the body)"


def test_upload_rate_window_is_exact_shared_by_a_students_tokens_and_forgets_idle_students():
    """The sliding window on a fake clock: 2 per 10 s; Retry-After is when the oldest upload leaves
    the window (rounded up); refused attempts do not push it further; idle students are dropped."""
    from grader.apps.server.auth import Principal
    from grader.apps.server.quotas import UploadRate

    clock = [100.0]
    rate = UploadRate(2, 10, clock=lambda: clock[0])
    alice = Principal("student", "alice", assignment="tiny", student_id="alice")
    alice_by_link = Principal("student", "alice", assignment="tiny", student_id="alice")
    teacher = Principal("instructor", "sato", frozenset({"*"}))
    assert rate.admit(alice) is None
    clock[0] = 104.0
    assert rate.admit(alice_by_link) is None
    clock[0] = 105.5
    refused = rate.admit(alice)
    assert (refused.error, refused.retry_after_s) == ("rate_limited", 5)  # 100 + 10 - 105.5 = 4.5, rounded up
    clock[0] = 109.9
    assert rate.admit(alice).retry_after_s == 1
    clock[0] = 110.0
    assert rate.admit(alice) is None  # the upload at 100 left the window; the one at 104 is still in it
    assert rate.admit(alice).retry_after_s == 4
    assert all(rate.admit(teacher) is None for _ in range(50))
    assert rate.admit(Principal("student", "bob", assignment="tiny", student_id="bob")) is None
    clock[0] = 130.0
    assert rate.admit(Principal("student", "carol", assignment="tiny", student_id="carol")) is None
    assert rate.tracked == {("student", "tiny", "carol")}


def test_upload_rate_is_per_student_answered_429_with_retry_after_and_spares_instructors(tmp_path, assignments):
    """2 uploads per 3 s: alice's third is refused (also through her signed link: the same student,
    the same count) before its body is read, and nothing of it is stored; bob and an instructor
    uploading for many students go on; after Retry-After seconds alice is accepted again."""
    data, token = make_data(tmp_path)
    server = Server(data, assignments, workers=0, options=("--uploads-per-minute", "2", "--rate-window", "3",
                                                                "--max-queued-per-student", "0"))
    server.token = token
    server.start()
    try:
        alice_link, bob_link = link_for(server, "alice"), link_for(server, "bob")
        accepted = [upload(server, "alice", token=STUDENT_TOKEN, name="a.py", content=module(i)) for i in range(2)]
        assert [a.status_code for a in accepted] == [202, 202], [a.text for a in accepted]
        before = stored_uploads(data)

        refused = upload(server, "alice", token=alice_link, name="a.py", content=module(2))
        assert refused.status_code == 429, refused.text
        wait = int(refused.headers["retry-after"])
        assert 1 <= wait <= 3
        assert refused.json() == {"error": "rate_limited", "detail": (
            f"too many uploads: at most 2 every 3 s for student alice of tiny; try again in {wait} s")}
        assert head_only_upload(server, STUDENT_TOKEN).startswith(b"HTTP/1.1 429 ")
        assert head_only_upload(server, "not-a-token-at-all").startswith(b"HTTP/1.1 401 ")  # authentication first
        assert stored_uploads(data) == before == (2, [])

        assert upload(server, "bob", token=bob_link, content=module(0)).status_code == 202
        by_instructor = [upload(server, student, content=module(10 + i)).status_code
                         for i, student in enumerate(["alice", "alice", "carol", "dave", "erin", "frank"])]
        assert by_instructor == [202] * 6

        time.sleep(wait)
        again = upload(server, "alice", token=STUDENT_TOKEN, name="a.py", content=module(2))
        assert again.status_code == 202, again.text
        assert stored_uploads(data) == (2 + 1 + 6 + 1, [])
    finally:
        server.stop()


def test_queued_jobs_per_student_and_in_all_are_limited_from_storage(tmp_path, assignments):
    """At most 2 waiting jobs per student and 5 in all, on a server that grades nothing: alice's third
    is `too_many_queued` while bob is accepted; the same file again is still 200 with its earlier
    id; an instructor hands in for alice past her limit; the sixth job is `queue_full` for everyone.
    The counts come from storage: after a SIGKILL and a restart they hold."""
    data, token = make_data(tmp_path)
    server = Server(data, assignments, workers=0, options=("--max-queued-per-student", "2", "--max-queue", "5"))
    server.token = token
    server.start()
    try:
        bob_link = link_for(server, "bob")
        first, second = (upload(server, "alice", token=STUDENT_TOKEN, content=module(i)) for i in range(2))
        assert (first.status_code, second.status_code) == (202, 202)

        def assert_too_many_queued(waiting: int) -> None:
            refused = upload(server, "alice", token=STUDENT_TOKEN, content=module(9))
            assert refused.status_code == 429, refused.text
            assert refused.headers["retry-after"] == "30"
            assert refused.json() == {"error": "too_many_queued", "detail": (
                f"student alice already has {waiting} submissions of tiny waiting to be graded, the most this service "
                "queues for one student; try again when one is graded")}

        assert_too_many_queued(2)
        duplicate = upload(server, "alice", token=STUDENT_TOKEN, content=module(0))
        assert (duplicate.status_code, duplicate.json()["id"], duplicate.json()["duplicate"]) == (
            200, first.json()["id"], True)
        assert upload(server, "bob", token=bob_link, content=module(0)).status_code == 202
        assert upload(server, "alice", content=module(2)).status_code == 202  # an instructor, for alice
        assert upload(server, "carol", content=module(0)).status_code == 202
        assert stored_uploads(data) == (5, [])

        for student, who in (("dave", token), ("bob", bob_link)):
            full = upload(server, student, token=who, content=module(5))
            assert full.status_code == 429, full.text
            assert full.headers["retry-after"] == "30"
            assert full.json() == {"error": "queue_full", "detail": (
                "the service already has 5 submissions waiting to be graded, the most it queues; try again later")}
        assert upload(server, "carol", content=module(0)).status_code == 200  # a duplicate adds nothing
        assert stored_uploads(data) == (5, [])
        assert httpx.get(f"{server.url}/health").json()["queue"] == {"queued": 5, "running": 0, "done": 0}

        server.kill()
        server.start()
        assert_too_many_queued(3)  # her two and the instructor's one
        assert upload(server, "erin", content=module(0)).json()["error"] == "queue_full"
        assert stored_uploads(data) == (5, [])
    finally:
        server.stop()


# ---- fuzzing the OpenAPI document ----------------------------------------------------------------
def test_openapi_fuzzed_never_500(queue_only):
    """Schemathesis generates requests for every operation of /openapi.json, valid and invalid
    (300 examples, fixed seed, an instructor token): none gets a 5xx, and every operation is hit.
    (Driven through hypothesis directly: schemathesis's pytest plugin does not run on pytest 9.)"""
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from schemathesis import GenerationMode

    schema = schemathesis.openapi.from_url(f"{queue_only.url}/openapi.json")
    strategy = st.one_of(schema.as_strategy(GenerationMode.POSITIVE), schema.as_strategy(GenerationMode.NEGATIVE))
    seen: dict[str, set[int]] = {}

    @given(case=strategy)
    @settings(max_examples=300, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def fuzz(case):
        response = case.call(base_url=queue_only.url, headers=auth(queue_only.token), timeout=30)
        seen.setdefault(f"{case.method} {case.operation.path}", set()).add(response.status_code)
        assert response.status_code < 500, f"{case.as_curl_command()} -> {response.status_code} {response.text[:300]}"

    fuzz()
    operations = {f"{method.upper()} {path}" for path, item in httpx.get(f"{queue_only.url}/openapi.json").json()[
        "paths"].items() for method in item}
    assert set(seen) == operations, f"not exercised: {operations - set(seen)}"
    assert httpx.get(f"{queue_only.url}/health").status_code == 200
