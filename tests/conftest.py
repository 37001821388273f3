"""Shared fixtures and helpers: the assignment, grading one file, and building submission variants.

Grading one submission through the sandbox trains 5 models x 3 seeds in a subprocess (seconds), so
only the tests whose point is the sandbox or the harness do it, each file once (module-scoped
fixtures). The others grade recorded observations (`replayed`, fixtures/recorded.py: the pipeline
after the sandbox, in milliseconds).
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fixtures import submissions as _submissions

# Building submissions: defined in fixtures/submissions.py (shared with the recorder), used from here.
from fixtures.submissions import (
    module_source,
    solution_class_sources,
    solution_text,
    substitute,
    write_module,
    write_notebook,
    write_substituted,
)

from grader.evaluate.execute import Execution
from grader.intake.submission import Submission
from grader.pipeline import grade_file
from grader.result import CheckResult, Graded, Result
from grader.sandbox import cgroups, forkserver
from grader.spec import LoadedAssignment, load_assignment

if TYPE_CHECKING:
    from fixtures.hostile import HostileGrader

ROOT = Path(__file__).resolve().parent.parent
SOLUTION_PY = ROOT / "solutions" / "iris_basics" / "solution.py"
SOLUTION_IPYNB = ROOT / "solutions" / "iris_basics" / "solution.ipynb"
ASSIGNMENT_DIR = _submissions.ASSIGNMENT_DIR
TEMPLATE_IPYNB = ASSIGNMENT_DIR / "assignment.ipynb"
MODEL_IDS = ("mlr", "lr", "mlpr", "mlpc", "ae")
SOLUTION_CLASSES = ("MLR", "LR", "MLPR", "MLPC", "AE")
__all__ = ["module_source", "solution_class_sources", "solution_text", "substitute", "write_module",
           "write_notebook", "write_substituted"]  # re-exported for the test modules


# ---- the order in which test files are handed to the workers --------------------------------------
# The files that take longest, longest first (measured on the project's 2-core machine, 2026-12-02).
# `make test` hands whole files to whichever worker is free (pytest-xdist, --dist loadfile), so
# starting with these leaves the short files to even out the end. A stale list costs balance only.
SLOWEST_FIRST = ("test_hostile_limits.py", "test_forkserver.py", "test_server.py", "test_batch.py", "test_capture.py",
                 "test_server_faults.py", "test_lti.py", "test_self_check.py", "test_new_assignment.py", "test_kit.py",
                 "test_hostile.py", "test_browser.py", "test_model_budget.py", "test_fault_barrier.py",
                 "test_sandbox.py", "test_seed_training.py", "test_lms_exports.py", "test_visibility.py", "test_report.py",
                 "test_terminal_safety.py", "test_similarity.py", "test_checks.py", "test_gradescope.py",
                 "test_written.py", "test_intake_fuzz.py", "test_instructor_checks.py", "test_lms_import.py",
                 "test_student_code.py", "test_recipes.py", "test_validation_split.py", "test_datasets.py",
                 "test_metric_kinds.py")


def pytest_configure(config: pytest.Config) -> None:
    # Torch in a test process trains on one thread, as the harness and the trusted evaluation do. With
    # its default (a thread per core), test workers' thread pools fight over the two cores: with four
    # workers, test_capture.py's five training tests took 180 s (6 s alone; 46 s in all with this).
    # The subprocesses the tests start (`grader serve`, the CLI) inherit it.
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)
    # xdist's own order is by the number of tests in a file (its --loadscope-reorder default), which
    # puts the few long sandbox files last; this file's order (below) replaces it.
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: index for index, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their order


# ---- the trusted evaluation: one per test process ----------------------------------------------------
@pytest.fixture(autouse=True, scope="session")
def one_trusted_evaluation_per_test_process() -> Iterator[None]:
    """Every grading of the tests uses the process's one `RecordedEvaluator` (fixtures/recorded.py)
    where it would start an evaluation process of its own."""
    from fixtures.recorded import recorded_evaluator

    import grader.pipeline

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(grader.pipeline, "Evaluator", lambda **_: recorded_evaluator())
        yield


# ---- the assignment and grading ----------------------------------------------------------------
@functools.cache
def _assignment() -> LoadedAssignment:
    return load_assignment("iris_basics")


@pytest.fixture(scope="session")
def assignment() -> LoadedAssignment:
    return _assignment()


def not_captured(assignment: LoadedAssignment) -> LoadedAssignment:
    """`assignment` with every model graded the old way, inside the sandbox (`[models.checks.capture]
    enabled = false`): for tests of the harness's own probes and training."""
    spec = assignment.spec
    models = [m.model_copy(update={"checks": {**m.checks, "capture": {"enabled": False}}}) for m in spec.models]
    return assignment.model_copy(update={"spec": spec.model_copy(update={"models": models})})


def grade(path: Path | str, lang: str | None = "en", mode: str | None = None) -> Result:
    """Grade one file against iris_basics and return its result JSON model."""
    return grade_full(path, lang=lang, mode=mode).result


def grade_full(path: Path | str, lang: str | None = "en", mode: str | None = None) -> Graded:
    return grade_file(Path(path), _assignment(), lang=lang, mode=mode)


def checks_by_id(result: Result) -> dict[str, CheckResult]:
    checks = {c.id: c for c in result.checks}
    assert len(checks) == len(result.checks), "duplicate check ids"
    return checks


def model_checks(result: Result, model: str) -> dict[str, CheckResult]:
    """The checks of one model, keyed by the check name (`structure`, not `mlr.structure`)."""
    return {c.id.split(".", 1)[1]: c for c in result.checks if c.model == model}


def statuses(result: Result, model: str) -> dict[str, str]:
    return {name: c.status for name, c in model_checks(result, model).items()}


def assert_full_marks(result: Result, models: Iterable[str]) -> None:
    for model in models:
        checks = model_checks(result, model)
        assert checks, f"no checks for {model}"
        bad = {name: (c.status, c.score, c.max_score, c.message) for name, c in checks.items()
               if c.status != "passed" or c.score != c.max_score}
        assert not bad, f"{model} lost points: {bad}"


# ---- what a run may leave behind ----------------------------------------------------------------
def leftover_cgroups() -> list[Path]:
    """The cgroups of this test process's runs that still exist (a cgroup cannot be removed while a
    process of it lives, so none means no survivor); not the process's one trusted evaluation's,
    which lives on."""
    from fixtures.recorded import recorded_evaluator

    evaluation = set(recorded_evaluator().cgroups)
    found = []
    prefix = f"{cgroups.PREFIX}{os.getpid()}-"
    for base in (Path("/sys/fs/cgroup/memory"), Path("/sys/fs/cgroup/pids"), cgroups.V2_BASE):
        # A walk, not rglob: the machine's other processes make and remove cgroups under the same
        # roots while it reads them, and a folder gone mid-walk is no leftover (rglob raised).
        for folder, children, _ in os.walk(base, onerror=lambda error: None):
            found += [Path(folder) / child for child in children if child.startswith(prefix)]
    return [p for p in found if p.is_dir() and p not in evaluation]


def private_tempdir(monkeypatch: pytest.MonkeyPatch, prefix: str) -> Path:
    """A temporary folder for the runs of one test, to see that nothing is left in it (other tests,
    in parallel, make and remove their own in /tmp). Under /tmp and traversable, like the default one:
    without namespaces the sandbox user must reach its work directory."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    folder.chmod(0o711)
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


# ---- recorded observations: grading without a sandbox ----------------------------------------------
def replayed(name: str, lang: str = "en", student_id: str | None = None) -> Graded:
    """`name` of fixtures/submissions.RECORDED graded from its recorded observations (milliseconds),
    once per test process, language and student id. Shared: do not change what it returns."""
    return _replayed(name, lang, student_id)


@functools.cache
def _replayed(name: str, lang: str, student_id: str | None) -> Graded:
    from fixtures.recorded import replay

    return replay(name, lang, student_id=student_id)


class RecordedSandbox:
    """Stands in for the sandbox where a test is about what the pipeline does after it (a batch's
    outputs, an LMS export, the report): `grader.pipeline.execute` answers each submission with the
    execution recorded for it (fixtures/recorded.py), found by the submission's sha256, or by its
    student id in `stand_ins` (a recording that stands for a file with none of its own). A
    submission with neither, or graded under another spec than its recording's, fails the test
    instead of reaching the sandbox. That the recordings are what the sandbox observes today is
    tests/test_forkserver.py's (live gradings compared with their replay) and test_checks.py's
    (hashes)."""

    def __init__(self, stand_ins: dict[str, str] | None = None) -> None:
        from fixtures.recorded import manifest

        self._entries = manifest()["submissions"]
        self._by_sha = {entry["sha256"]: name for name, entry in self._entries.items()}
        self._stand_ins = dict(stand_ins or {})
        self.replayed: list[str] = []  # the recordings used, in order (list.append is thread-safe)

    def __call__(self, submission: Submission, assignment: LoadedAssignment, mode: str | None = None,
                 **run_options: object) -> Execution:
        from fixtures.recorded import execution

        name = self._by_sha.get(submission.sha256) or self._stand_ins.get(submission.student_id)
        assert name is not None, (
            f"{submission.main_file} ({submission.student_id}) has no recording: add it to fixtures/submissions.RECORDED "
            "or give it a stand-in")
        entry = self._entries[name]
        assert assignment.spec_sha256 == entry["spec_sha256"], f"{name} was recorded under another spec than this test's"
        assert (mode or assignment.spec.mode) == entry["mode"], f"{name} was recorded in {entry['mode']} mode"
        self.replayed.append(name)
        return execution(name, assignment)


def install_recorded_sandbox(monkeypatch: pytest.MonkeyPatch, stand_ins: dict[str, str] | None = None) -> RecordedSandbox:
    """Until `monkeypatch` is undone, every grading in this process replays recorded observations
    instead of running the sandbox (see RecordedSandbox)."""
    sandbox = RecordedSandbox(stand_ins)
    for target, name, value in recorded_replacements(sandbox):
        monkeypatch.setattr(target, name, value)
    return sandbox


def recorded_replacements(sandbox: RecordedSandbox) -> list[tuple[object, str, object]]:
    """What replaying puts in place (module, name, value): the sandbox, and the trusted evaluation as
    recorded too (the recorded runs' captures get their recorded answers: no process, no training)."""
    from fixtures.recorded import RecordedEvaluator, recorded_evaluator

    import grader.apps.pool
    import grader.pipeline

    def evaluator(*args: object, **kwargs: object) -> RecordedEvaluator:
        return recorded_evaluator()

    return [(grader.pipeline, "execute", sandbox), (grader.pipeline, "Evaluator", evaluator),
            (grader.apps.pool, "Evaluator", evaluator)]


@pytest.fixture
def recorded_sandbox(monkeypatch: pytest.MonkeyPatch) -> Callable[..., RecordedSandbox]:
    """`recorded_sandbox(stand_ins)`: `install_recorded_sandbox` for the rest of this test."""
    return functools.partial(install_recorded_sandbox, monkeypatch)


# ---- one fork server per test module ----------------------------------------------------------------
class SharedForkServer:
    """A test module's one fork server (starting one costs what a cold run does: an interpreter and
    `import torch`), started at its first use and again after its death, always in a folder of its
    own: the tests look in their own temporary folders for what a run left."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.server = forkserver.ForkServer()

    def ready(self) -> forkserver.ForkServer:
        if not self.server.running:
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(tempfile, "tempdir", str(self.folder))
                self.server.close()
                self.server.start()
        return self.server


@pytest.fixture(scope="module")
def shared_fork_server() -> Iterator[SharedForkServer]:
    """The module's fork server; closed after its last test, and then nothing of it may be left."""
    folder = Path(tempfile.mkdtemp(prefix="grader-test-server-", dir="/tmp"))
    folder.chmod(0o711)  # as private_tempdir's
    shared = SharedForkServer(folder)
    try:
        yield shared
    finally:
        shared.server.close()
        left = list(folder.iterdir())
        shutil.rmtree(folder, ignore_errors=True)
    assert left == [], f"the fork server left {left} behind"


@pytest.fixture(params=["cold", "warm"])
def grade_hostile(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                  shared_fork_server: SharedForkServer) -> Iterator[HostileGrader]:
    """A fixtures.hostile.HostileGrader, cold and then warm (from the module's fork server)."""
    from fixtures.hostile import FORK_SERVER_UNAVAILABLE, HostileGrader

    warm = request.param == "warm"
    if warm and FORK_SERVER_UNAVAILABLE:
        pytest.skip(f"no fork server here: {FORK_SERVER_UNAVAILABLE}")
    # The runs' own temporary folder, to see that nothing is left in it. Under /tmp and traversable,
    # like the default one: without namespaces the sandbox user must reach its work directory.
    runs = private_tempdir(monkeypatch, "grader-hostile-runs-")
    grader = HostileGrader(warm, tmp_path, runs, shared_fork_server)
    yield grader
    try:
        grader.close()
    finally:
        shutil.rmtree(runs, ignore_errors=True)
