"""The warm start: runs forked from a batch worker's fork server give the same results as cold runs.

The hostile submissions run through both paths in tests/test_hostile.py and test_hostile_limits.py
(and the fallback where no fork server can run: test_hostile.py's
`test_without_namespaces_grading_works_and_says_it_was_not_isolated[warm]`); here: identical
results on ordinary submissions (modules, notebooks, a zip with a helper module, top-level
randomness, full mode, which also agrees with definitions mode: a Jupyter kernel inside the
sandbox), one server outliving hostile runs and its own death, and nothing left behind. The warm
gradings of ordinary submissions come from one fork server for the module (tests/conftest.py,
`shared_fork_server`), as a batch worker's do. The cold gradings of recorded submissions are also
compared with their replay from tests/fixtures/observations: the end-to-end proof that what
tests/test_checks.py grades is what the sandbox observes today (a harness change that alters an
observation fails here).
"""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

import pytest
from conftest import (
    ASSIGNMENT_DIR,
    SOLUTION_PY,
    SharedForkServer,
    assert_full_marks,
    private_tempdir,
    replayed,
)
from fixtures.submissions import small_lesson_notebook

from grader.pipeline import grade_file
from grader.result import Result
from grader.sandbox import forkserver
from grader.sandbox import tiers as isolation
from grader.spec import LoadedAssignment, load_assignment

ISOLATION = isolation.detect()
REASON = forkserver.unavailable_reason(ISOLATION)
needs_fork_server = pytest.mark.skipif(REASON is not None, reason=f"no fork server on this machine: {REASON}")
HOSTILE = Path(__file__).resolve().parent / "hostile"
EXAMPLES = ASSIGNMENT_DIR / "examples"


def comparable(result: Result) -> dict:
    """Everything of a result but the clock."""
    return result.model_dump(exclude={"graded_at", "duration_s", "training_s"})


def differences(first: dict, second: dict, where: str = "") -> list[str]:
    """Where two results differ, field by field (a short message instead of two long dicts)."""
    if isinstance(first, dict) and isinstance(second, dict):
        return [d for key in sorted(set(first) | set(second), key=str)
                for d in differences(first.get(key), second.get(key), f"{where}.{key}")]
    if isinstance(first, list) and isinstance(second, list) and len(first) == len(second):
        return [d for index, (a, b) in enumerate(zip(first, second)) for d in differences(a, b, f"{where}[{index}]")]
    return [] if first == second else [f"{where}: {str(first)[:200]!r} != {str(second)[:200]!r}"]


@pytest.fixture(scope="module")
def zipped_with_helper(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("zip") / "s0042.zip"
    solution = SOLUTION_PY.read_text(encoding="utf-8")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hw/layers.py", "import torch\n\ndef linear(a, b):\n    return torch.nn.Linear(a, b)\n")
        archive.writestr("hw/main.py", "from layers import linear\n" +
                         solution.replace("torch.nn.Linear(n_input, n_output)", "linear(n_input, n_output)"))
    return path


# Top-level code that draws from every generator and depends on the order of a set of strings: the
# MLR's output moves with what it drew.
RANDOM_AT_TOP_LEVEL = """
import random
import numpy
DRAWN = float(torch.rand(1)) + random.random() + float(numpy.random.rand())
FIRST = list({"linear", "sigmoid", "relu", "tanh", "softmax"})[0]
"""


@pytest.fixture(scope="module")
def random_at_top_level(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("random") / "drawn.py"
    solution = SOLUTION_PY.read_text(encoding="utf-8")
    path.write_text(solution.replace("import torch\n", "import torch\n" + RANDOM_AT_TOP_LEVEL, 1).replace(
        "        return self.l1(x)\n", "        return self.l1(x) + 0.1 * DRAWN + 0.01 * len(FIRST)\n", 1), encoding="utf-8")
    return path


# What the seccomp filter must leave working now that SysV IPC and POSIX message queues are refused:
# a DataLoader whose worker processes hand tensors back through /dev/shm, and Python's own POSIX
# shared memory, both at the first construction of MLR.
WORKERS_IN_INIT = """
        if not _LOADED:
            import multiprocessing.shared_memory
            loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.arange(64.0).reshape(32, 2)),
                                                 batch_size=4, num_workers=2)
            _LOADED.append(float(sum(batch[0].sum() for batch in loader)))
            shared = multiprocessing.shared_memory.SharedMemory(create=True, size=1 << 20)
            shared.buf[:5] = b"hello"
            print("DATALOADER SUM", _LOADED[0], "SHARED", bytes(shared.buf[:5]).decode())
            shared.close()
            shared.unlink()
"""


@pytest.fixture(scope="module")
def dataloader_with_workers(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("loader") / "loader.py"
    solution = SOLUTION_PY.read_text(encoding="utf-8")
    first_layer = "        self.l1 = torch.nn.Linear(n_input, n_output)\n"
    assert first_layer in solution
    path.write_text(solution.replace("import torch\n", "import torch\n_LOADED = []\n", 1)
                    .replace(first_layer, first_layer + WORKERS_IN_INIT.lstrip("\n"), 1), encoding="utf-8")
    return path


def warm_grading(path: Path, assignment: LoadedAssignment, shared: SharedForkServer, mode: str | None = None,
                 runs: int = 1) -> Result:
    """`path` graded from the module's fork server, which ran `runs` runs for it (full mode: none)."""
    server = shared.ready()
    before = server.runs_started
    result = grade_file(path, assignment, lang="en", mode=mode, fork_server=server).result
    assert server.runs_started - before == runs and server.broken is None
    return result


@needs_fork_server
def test_a_dataloader_with_worker_processes_runs_warm_and_cold(dataloader_with_workers, assignment, shared_fork_server):
    cold = grade_file(dataloader_with_workers, assignment, lang="en").result
    warm = warm_grading(dataloader_with_workers, assignment, shared_fork_server)
    for result in (cold, warm):
        assert "DATALOADER SUM 2016.0 SHARED hello" in result.stdout, result.stdout[-2000:] + result.stderr[-2000:]
        assert result.score == result.max_score
        assert [i.kind for i in result.incidents] == []


@pytest.fixture(scope="module")
def small_lesson(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("full") / "small_lesson.ipynb"
    path.write_bytes(small_lesson_notebook())
    return path


# name: the file; recorded: its recording in tests/fixtures/observations, if it has one.
WARM_AND_COLD = {
    "solution.py": (SOLUTION_PY, "solution_py"),
    "jiro_mistakes.py": (EXAMPLES / "jiro_mistakes.py", "jiro_mistakes"),
    "hanako_lesson.ipynb": (EXAMPLES / "hanako_lesson.ipynb", "hanako_lesson"),  # the lesson's notebook
    "zip": (None, None),  # a zip with a helper module
    "random": (None, None),  # top-level code that draws from every generator
}


@needs_fork_server
@pytest.mark.parametrize("name, mode", [*((name, None) for name in WARM_AND_COLD), ("small_lesson.ipynb", "full")])
def test_warm_results_equal_cold_results(name, mode, zipped_with_helper, random_at_top_level, small_lesson,
                                         assignment, shared_fork_server):
    path, recording = WARM_AND_COLD.get(name, (None, None))
    path = path or {"zip": zipped_with_helper, "random": random_at_top_level, "small_lesson.ipynb": small_lesson}[name]
    cold = grade_file(path, assignment, lang="en", mode=mode).result
    assert cold.status == "graded"
    # Full mode runs a Jupyter kernel that needs its files on disk: it always starts cold, so a second
    # run would be another cold one (it is compared with definitions mode's, warm, below).
    if mode != "full":
        warm = warm_grading(path, assignment, shared_fork_server)
        assert differences(comparable(warm), comparable(cold)) == []
    if recording is not None:
        # The same submission graded from what the sandbox observed when it was recorded.
        assert differences(comparable(cold), comparable(replayed(recording).result)) == [], (
            f"the sandbox observes {name} differently from its recording: if the harness changed on purpose,"
            " regenerate the recording with `.venv/bin/python tests/fixtures/record_observations.py`")
    if name in ("solution.py", "zip"):  # the zip's main.py imports its helper module, warm as cold
        assert cold.score == cold.max_score == 25 and cold.incidents == [] and cold.code_errors == []
    if name == "random":
        # Seeded (the same draws cold and warm): top-level randomness does not move a score.
        assert cold.metrics["mlr.test_mse"] is not None
    if mode == "full":
        # The kernel's ZeroMQ needs a TCP socket of its own: allowed only in full mode, and only
        # inside the run's network namespace. The checks agree with definitions mode's, which
        # skipped what full mode ran (the loop, the plot and the print).
        assert cold.mode == "full" and cold.skipped == []
        assert "Kernel died" not in cold.stderr and "Fontconfig" not in cold.stderr
        # A package the sandbox lacks: its import went through, the one statement using it failed.
        assert cold.missing_packages == ["japanize_matplotlib"]
        assert [(e.cell, e.line, e.text) for e in cold.code_errors] == [(11, 2, "japanize_matplotlib.japanize()")]
        assert cold.code_errors[0].error.startswith("ModuleNotFoundError: No module named 'japanize_matplotlib'")
        assert_full_marks(cold, ["mlr", "lr", "mlpr", "mlpc", "ae"])
        definitions = warm_grading(path, assignment, shared_fork_server)
        assert definitions.mode == "definitions" and definitions.skipped != []
        assert definitions.submission.sha256 == cold.submission.sha256
        assert {c.id: (c.status, c.score) for c in cold.checks} == {c.id: (c.status, c.score) for c in definitions.checks}


@needs_fork_server
def test_one_server_outlives_hostile_runs_and_starts_again_after_its_own_death(assignment, tmp_path):
    hostile = load_assignment(str(HOSTILE / "spec"))
    with forkserver.ForkServer() as server:
        for name in ("kill_all", "os_exit", "fork_bomb"):
            (tmp_path / f"{name}.py").write_text((HOSTILE / f"{name}.py").read_text(encoding="utf-8"), encoding="utf-8")
            result = grade_file(tmp_path / f"{name}.py", hostile, lang="en", fork_server=server).result
            assert_full_marks(result, ["mlr", "lr", "mlpr"])
        assert server.running
        first = server._process.pid  # the test kills the server under the grader's feet
        server._process.kill()
        server._process.wait()
        result = grade_file(SOLUTION_PY, assignment, lang="en", fork_server=server).result
        assert result.score == result.max_score
        assert server.running and server._process.pid != first
        assert server.runs_started == 5  # the fork bomb's run, and the fresh one after its timeout


@needs_fork_server
def test_nothing_is_left_behind_after_a_server_closes(assignment, monkeypatch):
    # A temporary folder of its own: other tests (in parallel) make and remove theirs in /tmp.
    scratch = private_tempdir(monkeypatch, "grader-test-forkserver-")
    before = set(Path(tempfile.gettempdir()).glob("grader-*"))
    with forkserver.ForkServer() as server:
        grade_file(SOLUTION_PY, assignment, lang="en", fork_server=server)
        runs = server._runs
        assert runs is not None and list(runs.iterdir()) == []  # the run's folder is gone at once
        pid = server._process.pid
    assert not Path(f"/proc/{pid}").exists()
    assert set(Path(tempfile.gettempdir()).glob("grader-*")) == before
    scratch.rmdir()  # empty: nothing of the server or its runs is left in it
