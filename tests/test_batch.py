"""`grader grade`: parallel workers, resumable results, Dask distributed, and the CSV it writes."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console

from grader.apps.batch import grade_batch
from grader.spec import load_assignment

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "grader" / "assignments" / "iris_basics" / "examples"
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def batch_input(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("submissions")
    shutil.copy(EXAMPLES / "taro_sequential.py", folder / "taro.py")
    shutil.copy(EXAMPLES / "jiro_mistakes.py", folder / "jiro.py")
    shutil.copy(EXAMPLES / "saburo_broken.ipynb", folder / "saburo.ipynb")
    (folder / ".ipynb_checkpoints").mkdir()
    shutil.copy(EXAMPLES / "taro_sequential.py", folder / ".ipynb_checkpoints" / "ignored.py")
    return folder


@pytest.fixture(scope="module")
def local_batch(batch_input, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    summary = grade_batch([batch_input], load_assignment("iris_basics"), out, lang="en", jobs=2,
                          console=Console(file=open("/dev/null", "w")))
    return out, summary


def _results(out: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in (out / "results").glob("*.json")}


def test_parallel_batch_grades_every_file_and_skips_checkpoints(local_batch):
    out, summary = local_batch
    results = _results(out)
    assert sorted(results) == ["jiro", "saburo", "taro"]
    assert (summary.graded, summary.invalid, summary.errors, summary.reused) == (2, 1, 0, 0)
    assert results["taro"]["score"] == 25
    assert results["saburo"]["status"] == "invalid" and results["saburo"]["score"] == 0
    assert "JSON" in results["saburo"]["message"]
    assert all((out / "reports" / f"{sid}.html").is_file() for sid in results)


def test_grades_csv_has_one_column_per_check(local_batch):
    out, _ = local_batch
    with (out / "grades.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["student_id"] for r in rows] == ["jiro", "saburo", "taro"]
    by_id = {r["student_id"]: r for r in rows}
    assert by_id["jiro"]["mlr.forward_shape"] == "0"  # jiro squeezes MLR's output
    assert by_id["taro"]["mlr.forward_shape"] == "1"
    assert by_id["saburo"]["mlr.forward_shape"] == ""  # invalid: no checks ran
    assert by_id["taro"]["score"] == "25"


def test_rerun_reuses_unchanged_results_and_regrades_changed_ones(local_batch, batch_input, tmp_path):
    out, _ = local_batch
    copy_out = tmp_path / "out"
    shutil.copytree(out, copy_out)
    quiet = Console(file=open("/dev/null", "w"))
    assignment = load_assignment("iris_basics")
    again = grade_batch([batch_input], assignment, copy_out, lang="en", jobs=2, console=quiet)
    assert again.reused == 3 and again.graded == 2
    # A language change is a different result: nothing is reused.
    changed = tmp_path / "in"
    shutil.copytree(batch_input, changed)
    (changed / "taro.py").write_text((changed / "taro.py").read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    partial = grade_batch([changed], assignment, copy_out, lang="en", jobs=2, console=quiet)
    assert partial.reused == 2
    assert _results(copy_out)["taro"]["submission"]["sha256"] != _results(out)["taro"]["submission"]["sha256"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def dask_cluster():
    """A real Dask scheduler and one worker process, on loopback only."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                  "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = subprocess.Popen([str(BIN / "dask"), "worker", address, "--nworkers", "1", "--nthreads", "2",
                               "--no-dashboard", "--host", "127.0.0.1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(1, timeout=60)
        yield address
    finally:
        for process in (worker, scheduler):
            process.terminate()
        for process in (worker, scheduler):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def test_dask_scheduler_gives_the_same_results_as_local_grading(dask_cluster, local_batch, batch_input, tmp_path):
    out, _ = local_batch
    started = time.perf_counter()
    summary = grade_batch([batch_input], load_assignment("iris_basics"), tmp_path, lang="en", force=True,
                          scheduler=dask_cluster, console=Console(file=open("/dev/null", "w")))
    assert (summary.graded, summary.invalid, summary.errors) == (2, 1, 0)
    local, remote = _results(out), _results(tmp_path)
    assert sorted(remote) == sorted(local)
    for student in local:
        assert remote[student]["status"] == local[student]["status"]
        assert remote[student]["score"] == local[student]["score"]
        assert remote[student]["metrics"] == local[student]["metrics"]
        assert [(c["id"], c["status"], c["score"]) for c in remote[student]["checks"]] == \
               [(c["id"], c["status"], c["score"]) for c in local[student]["checks"]]
    assert (tmp_path / "reports" / "taro.html").is_file()
    assert time.perf_counter() - started < 120


def _a_run_holds_a_process(grader_pid: int) -> bool:
    """Whether a cgroup of a run of this `grader grade` process exists and holds a process."""
    from grader.sandbox import cgroups

    for base in (Path("/sys/fs/cgroup/memory"), Path("/sys/fs/cgroup/pids"), cgroups.V2_BASE):
        for group in base.rglob(f"{cgroups.PREFIX}{grader_pid}-*") if base.is_dir() else ():
            with contextlib.suppress(OSError):
                if (group / "cgroup.procs").read_text().split():
                    return True
    return False


def test_ctrl_c_stops_cleanly_and_keeps_what_is_done(tmp_path):
    """SIGINT to `grader grade` (what Ctrl-C sends): exit 130 within seconds, every finished result
    kept with its report and the gradebook, no sandboxed process or work folder left behind."""
    import signal

    from grader.sandbox import cgroups

    hostile = ROOT / "tests" / "hostile"
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(EXAMPLES / "taro_sequential.py", folder / "a_taro.py")
    for index in range(4):  # each hangs in __init__ until its construction budget (4 s), then restarts
        shutil.copy(hostile / "slow_init.py", folder / f"b_slow{index}.py")
    out = tmp_path / "out"
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    scratch.chmod(0o711)
    env = {**__import__("os").environ, "TMPDIR": str(scratch)}
    process = subprocess.Popen([str(BIN / "grader"), "grade", str(folder), "-a", str(hostile / "spec"), "-o", str(out),
                                "-j", "1", "--lang", "en"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 120
    while not (out / "results" / "a_taro.json").exists():
        assert time.monotonic() < deadline and process.poll() is None, "the first result never came"
        time.sleep(0.2)
    # taro's cgroup is gone before its result is written: a run group holding a process now is a hang's.
    while not _a_run_holds_a_process(process.pid):
        assert time.monotonic() < deadline and process.poll() is None, "the hanging run never started"
        time.sleep(0.05)
    interrupted_at = time.monotonic()
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 130, output.decode(errors="replace")[-2000:]
    assert time.monotonic() - interrupted_at < 15
    assert json.loads((out / "results" / "a_taro.json").read_text(encoding="utf-8"))["status"] == "graded"
    assert (out / "reports" / "a_taro.html").is_file()
    assert sorted(p.stem for p in (out / "results").glob("*.json")) == ["a_taro"]  # nothing half-done kept
    assert "a_taro" in (out / "grades.csv").read_text(encoding="utf-8")
    assert list(scratch.iterdir()) == [], "a work or fork-server folder was left behind"
    leftover = [p for base in (Path("/sys/fs/cgroup/memory"), Path("/sys/fs/cgroup/pids"), cgroups.V2_BASE)
                if base.is_dir() for p in base.rglob(f"{cgroups.PREFIX}{process.pid}-*")]
    assert leftover == [], "a cgroup (so a sandboxed process) of the batch was left behind"


# ---- a stop request in every phase of a batch, in-process -----------------------------------------
HANG_S = 10  # how long the fake hanging submission waits for the pool's stop


class SignalEscaped(Exception):
    """SIGTERM reached the test's own handler: the batch had none of its own."""


@contextlib.contextmanager
def sigterm_raises():
    """Where no batch handles SIGTERM, its default would end pytest itself: make it an exception."""
    def escaped(number, frame):
        raise SignalEscaped(f"signal {number} was not handled by the batch")

    previous = signal.signal(signal.SIGTERM, escaped)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _empty_submissions(folder: Path, names: list[str]) -> Path:
    """Empty modules: each is graded `invalid` at once, without a sandbox."""
    folder.mkdir()
    for name in names:
        (folder / f"{name}.py").write_text("", encoding="utf-8")
    return folder


def _grade_cli(folder: Path, out: Path, capsys) -> tuple[int, str]:
    from grader import cli

    with sigterm_raises():
        try:
            code = cli.main(["grade", str(folder), "-a", "iris_basics", "-o", str(out), "-j", "1", "--cold",
                             "--lang", "en"])
        except (KeyboardInterrupt, SignalEscaped) as exc:
            pytest.fail(f"the stop request escaped `grader grade` as {type(exc).__name__}: no gradebook")
    return code, capsys.readouterr().err


def test_ctrl_c_while_the_main_thread_runs_a_finalizer_is_not_lost(tmp_path, monkeypatch):
    """CPython raises KeyboardInterrupt wherever the main thread is; raised inside a finalizer (a
    __del__, a weakref callback, what the GC collects) it is printed as "Exception ignored" and
    lost, and a batch that waited for that exception graded on to the end and exited 0. Here the
    SIGINT arrives in a __del__ run just after the first result is written, while the second
    submission hangs until the pool's stop is set."""
    from grader.apps import batch
    from grader.apps import pool as workers

    folder = _empty_submissions(tmp_path / "in", ["a", "b"])
    out = tmp_path / "out"
    stop_seen: list[bool] = []

    def hang_until_stopped(self, task, stop):
        if task.student_id == "b":
            deadline = time.monotonic() + HANG_S
            while not stop.is_set() and time.monotonic() < deadline:
                time.sleep(0.02)
            stop_seen.append(stop.is_set())
        return workers.run_task(task, stop)

    class SignalInFinalizer:
        def __del__(self) -> None:
            os.kill(os.getpid(), signal.SIGINT)  # Python's handler runs as this call returns: in __del__

    real_write = batch._write_output

    def write_then_finalize(out_dir, output, past_due):
        result = real_write(out_dir, output, past_due)
        SignalInFinalizer()  # made and dropped at once: its __del__ runs here, in the main thread
        return result

    monkeypatch.setattr(workers.Together, "run", hang_until_stopped)
    monkeypatch.setattr(batch, "_write_output", write_then_finalize)
    started = time.monotonic()
    try:
        summary = grade_batch([folder], load_assignment("iris_basics"), out, lang="en", jobs=1, warm=False,
                              console=Console(file=io.StringIO()))
    except KeyboardInterrupt:
        pytest.fail("the Ctrl-C escaped grade_batch: no gradebook was written")
    assert summary.interrupted and summary.stop_signal == signal.SIGINT
    assert stop_seen == [True], "the hanging run was never told to stop"
    assert time.monotonic() - started < HANG_S
    assert sorted(p.stem for p in (out / "results").glob("*.json")) == ["a"]  # b was cut short: not kept
    assert "a" in (out / "grades.csv").read_text(encoding="utf-8")


@pytest.mark.parametrize("phase, number, status", [
    ("collecting", signal.SIGINT, 130), ("writing", signal.SIGINT, 130), ("collecting", signal.SIGTERM, 143),
])
def test_a_stop_while_inputs_are_collected_or_outputs_written_ends_with_the_gradebook(phase, number, status, tmp_path,
                                                                                    monkeypatch, capsys):
    """Before and after the pool, a stop request is noted, never raised into what the main thread is
    doing: what is collected or written is finished, the gradebook of what is done is written, and
    the status says which signal stopped the batch (130 for Ctrl-C, 143 for SIGTERM)."""
    from grader.apps import batch

    folder = _empty_submissions(tmp_path / "in", ["a"])
    out = tmp_path / "out"
    target = {"collecting": "collect_inputs", "writing": "write_grades_csv"}[phase]
    real = getattr(batch, target)

    def signalled(*args, **kwargs):
        os.kill(os.getpid(), number)
        return real(*args, **kwargs)

    monkeypatch.setattr(batch, target, signalled)
    code, _ = _grade_cli(folder, out, capsys)
    assert code == status
    assert (out / "grades.csv").is_file() and (out / "index.html").is_file()
    graded = sorted(p.stem for p in (out / "results").glob("*.json"))
    assert graded == ([] if phase == "collecting" else ["a"])  # nothing starts after a stop


def test_a_second_ctrl_c_stops_at_once(tmp_path, monkeypatch, capsys):
    """The first Ctrl-C asks for a clean stop; a second one is Python's KeyboardInterrupt again, for
    an instructor who will not wait for the gradebook."""
    from grader.apps import batch

    folder = _empty_submissions(tmp_path / "in", ["a"])
    out = tmp_path / "out"
    real = batch.write_grades_csv

    def twice(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)
        return real(*args, **kwargs)

    monkeypatch.setattr(batch, "write_grades_csv", twice)
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    code, err = _grade_cli(folder, out, capsys)
    assert code == 130
    assert "stopped at once" in err
    assert not (out / "grades.csv").exists()
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers  # the batch's are gone
