"""The trusted evaluation's own process: captured graphs are rebuilt, checked and trained there.

Why a process of its own: no student code ever runs in it (the graphs it runs are data the trusted
side validated), it trains in parallel with the grader's other workers (threads of one process
would share one interpreter lock, and the training is thousands of tiny torch calls), and it
imports torch while the sandboxed run goes on, so `grader check` does not wait for that import. A
batch worker keeps one for all its submissions, as it keeps its fork server. It runs sandboxed as
the harness does (`grader.sandbox.process.confine`: the launcher, bwrap's namespaces with no
network and a read-only system, the sandbox user, the seccomp filter, a cgroup), for depth: the
graphs it runs came from untrusted data. Its scratch folder is its own and goes with it.

Inside, the process imports torch and warms up once, then forks `workers` evaluators and only
routes requests to them (`_route`): it never runs a graph, so a worker that dies or overruns its
model's budget is killed and replaced by a fresh fork in milliseconds (not a new interpreter and
`import torch`), and only that model's graph counts as refused. With two workers, `grader check`
evaluates two models at a time on a 2-core machine; a batch worker, one of several, uses one.

The protocol is one line each way per model, `ID JSON`: the request carries the capture line and
the harness's claimed observation (wire encoded), the recipe, the data as lists and the limits; the
answer carries the computed `ModelObservation` and `Training` (wire encoded, decoded strictly here
like any line) or the `GraphError` that refused the graph. `exchange` may be called from several
threads at once: at most `workers` requests are in flight, and each waits for its own answer.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from grader.protocol.wire import Capture, ModelObservation, Recipe, Training, WireError, decode, encode
from grader.sandbox import tiers
from grader.sandbox.bwrap import runtime_paths
from grader.sandbox.cgroups import RunGroup
from grader.sandbox.process import ProcessLimits, confine, isolated_python_flags, remove_tree, scrubbed_environment

STARTUP_S = 60.0  # importing torch on a loaded machine, on top of a model's budget
# A worker past its request's budget by this much is killed by the router (the trusted training
# stops at its deadline on its own; this is for an operation that does not return).
OVERRUN_S = 10.0
MAX_ANSWER_BYTES = 16 * 1024 * 1024  # a model's facts and test predictions are a few kB
# The evaluation's sandbox: no wall clock of its own (a batch worker keeps it for every submission;
# each answer has its deadline), memory and processes bounded by its cgroup where there is one.
LIMITS = ProcessLimits(timeout_s=math.inf, memory_bytes=2048 * 1024 * 1024, processes=64,
                       file_size_bytes=64 * 1024 * 1024, open_files=256, tmp_bytes=256 * 1024 * 1024)


class RunFailed(Exception):
    """The model could not be run on a check's inputs: the graph refused them, or the evaluation failed."""


@dataclass(frozen=True)
class Evaluation:
    """The answer for one model: its facts, or why its graph was refused (`error`, with where)."""

    observation: ModelObservation | None = None
    training: Training | None = None
    student_init: bool = False
    seed_independent: tuple[str, ...] = ()
    suspicious: str = ""
    error: str = ""
    where: tuple[int, int] = (0, 0)


class Evaluator:
    """One trusted evaluation process with `workers` evaluators in it, started on first use (or by
    `start()`, to import torch early) and again after it died."""

    def __init__(self, scratch_parent: str | None = None, workers: int = 1) -> None:
        self.workers = max(1, workers)
        # Its TMPDIR (torch writes a cache folder there), made in `scratch_parent` (default: the
        # temporary folder) at each start and removed when it closes.
        self._scratch_parent = scratch_parent
        self._channel: _Channel | None = None
        self._lock = threading.Lock()  # starting and closing the process
        self._slots = threading.BoundedSemaphore(self.workers)  # requests in flight

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        self._current()

    def _current(self) -> _Channel:
        with self._lock:
            if self._channel is None or not self._channel.alive():
                if self._channel is not None:
                    self._channel.close()
                self._channel = _started_on_a_thread_of_its_own(self._scratch_parent, self.workers)
            return self._channel

    @property
    def cgroups(self) -> tuple[Path, ...]:
        """The folders of its process's cgroup while it lives (none where the machine gives none)."""
        channel = self._channel
        return tuple(channel.group.dirs) if channel is not None and channel.group is not None else ()

    def close(self) -> None:
        with self._lock:
            channel, self._channel = self._channel, None
        if channel is not None:
            channel.close()

    @property
    def parallel_models(self) -> int:
        """How many of a submission's models the pipeline asks for at a time."""
        return self.workers

    def evaluate(self, capture: Capture, claimed: ModelObservation | None, recipe: Recipe,
                 data: dict[str, np.ndarray], budget_s: float, keep_student_init: bool,
                 max_constant: int) -> Evaluation:
        request = evaluation_request(capture, claimed, recipe, data, budget_s, keep_student_init, max_constant)
        return _answer(self.exchange(json.dumps(request).encode(), budget_s))

    def evaluate_together(self, requests: list[dict[str, Any]]) -> list[Evaluation]:
        """The answers to several models' `evaluation_request`s sent as one: those of one structure,
        recipe and data train together (`grader.evaluate.trusted.evaluate_together`). The
        request's budget is the sum of theirs."""
        budget_s = sum(float(request["budget_s"]) for request in requests)
        answer = self.exchange(json.dumps({"kind": "group", "members": requests, "budget_s": budget_s}).encode(),
                               budget_s)
        answers = answer.get("answers")
        if not isinstance(answers, list) or len(answers) != len(requests):
            error = str(answer.get("error", "the trusted evaluation answered for another number of models"))
            return [Evaluation(error=error) for _ in requests]
        return [_answer(item) if isinstance(item, dict) else Evaluation(error="the trusted evaluation's answer "
                                                                              "did not decode") for item in answers]

    def run(self, capture: Capture, recipe: Recipe, data: dict[str, np.ndarray], inputs: list[np.ndarray],
            trained: bool, seed: int, budget_s: float, keep_student_init: bool) -> list[np.ndarray]:
        """The captured model's outputs on `inputs` (an instructor's check's own batches), rebuilt
        under `seed` and, when `trained`, trained under the recipe first. Raises `RunFailed`."""
        request = {"kind": "run", "capture": encode(capture), "recipe": encode(recipe),
                   "data": {key: np.asarray(value).tolist() for key, value in data.items()},
                   "inputs": [np.asarray(batch, dtype=np.float64).tolist() for batch in inputs],
                   "trained": trained, "seed": seed, "budget_s": budget_s, "keep_student_init": keep_student_init}
        answer = self.exchange(json.dumps(request).encode(), budget_s)
        if "error" in answer:
            raise RunFailed(str(answer["error"]))
        try:
            outputs = [np.asarray(output, dtype=np.float64) for output in answer["outputs"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise RunFailed(f"the trusted evaluation's answer did not decode: {exc}") from None
        if len(outputs) != len(inputs):
            raise RunFailed("the trusted evaluation answered for another number of batches")
        return outputs

    def exchange(self, request: bytes, budget_s: float) -> dict[str, Any]:
        """One request sent, its answer waited for (the tests replay recorded answers here). Each
        request's clock starts when it is sent: no more are sent than there are workers."""
        with self._slots:
            channel = self._current()
            try:
                answer = channel.send(request).result(timeout=budget_s + OVERRUN_S + STARTUP_S)
            except TimeoutError:
                answer = None
            if answer is None:  # the router answers every request in time unless it is stuck or gone
                with self._lock:
                    if channel is self._channel:
                        self._channel = None
                channel.close()
                return {"error": "the trusted evaluation did not answer"}
            return answer


def evaluation_request(capture: Capture, claimed: ModelObservation | None, recipe: Recipe,
                       data: dict[str, np.ndarray], budget_s: float, keep_student_init: bool,
                       max_constant: int) -> dict[str, Any]:
    """One model's request, as the evaluation process reads it."""
    return {"capture": encode(capture), "claimed": encode(claimed) if claimed is not None else None,
            "recipe": encode(recipe), "data": {key: np.asarray(value).tolist() for key, value in data.items()},
            "budget_s": budget_s, "keep_student_init": keep_student_init, "max_constant": max_constant}


def _started_on_a_thread_of_its_own(scratch_parent: str | None, workers: int) -> _Channel:
    """The evaluation process, started by a thread that lives as long as it does. bwrap's
    `--die-with-parent` is PR_SET_PDEATHSIG, which fires when the *thread* that started it ends: one
    started from a grading's worker thread (the models' evidence is gathered on a pool) was killed
    as that pool shut down, with the next request on its way (seen as "did not answer")."""
    started: Future[_Channel] = Future()

    def keep() -> None:
        try:
            channel = _Channel.start(scratch_parent, workers)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, which raises it
            started.set_exception(exc)
            return
        started.set_result(channel)
        channel.process.wait()

    threading.Thread(target=keep, name="evaluator-keeper", daemon=True).start()
    return started.result()


@dataclass
class _Channel:
    """One evaluation process: its pipes, its cgroup and scratch folder, and the answers awaited."""

    process: subprocess.Popen[bytes]
    group: RunGroup | None
    scratch: str
    pending: dict[int, Future[dict[str, Any] | None]] = field(default_factory=dict)
    ids: itertools.count[int] = field(default_factory=itertools.count)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def start(cls, scratch_parent: str | None, workers: int) -> _Channel:
        scratch = tempfile.mkdtemp(prefix="grader-evaluator-", dir=scratch_parent)
        # The grader's own package, wherever it was imported from (a Gradescope image puts it on
        # sys.path at run time, not in the environment).
        package = Path(__file__).resolve().parents[1]
        environment = {**scrubbed_environment(Path(scratch)), "PYTHONPATH": str(package.parent)}
        argv = [sys.executable, *isolated_python_flags(), "-m", "grader.evaluate.evaluator", str(workers)]
        confined = confine(argv, Path(scratch), LIMITS, environment, tiers.detect(),
                           readonly_paths=tuple(dict.fromkeys([*runtime_paths(), str(package)])))
        try:
            process = subprocess.Popen(confined.argv, cwd=scratch, env=environment,
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       stderr=subprocess.DEVNULL, start_new_session=True,
                                       pass_fds=confined.pass_fds)
        except BaseException:
            if confined.group is not None:
                confined.group.remove()
            remove_tree(Path(scratch))
            raise
        finally:
            confined.started()
        channel = cls(process, confined.group, scratch)
        threading.Thread(target=channel._read_answers, name="evaluator-answers", daemon=True).start()
        return channel

    def alive(self) -> bool:
        return self.process.poll() is None

    def send(self, request: bytes) -> Future[dict[str, Any] | None]:
        answer: Future[dict[str, Any] | None] = Future()
        assert self.process.stdin is not None
        with self.lock:
            key = next(self.ids)
            self.pending[key] = answer
            try:
                self.process.stdin.write(b"%d %s\n" % (key, request))
                self.process.stdin.flush()
            except OSError:
                self.pending.pop(key).set_result(None)
        return answer

    def _read_answers(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            key, _, payload = line.partition(b" ")
            with self.lock:
                answer = self.pending.pop(int(key), None) if key.isdigit() else None
            if answer is not None:
                try:
                    answer.set_result(json.loads(payload))
                except ValueError:
                    answer.set_result({"error": "the trusted evaluation's answer was not JSON"})
        self.process.stdout.close()
        with self.lock:  # the process ended: nothing more will be answered
            ended, self.pending = list(self.pending.values()), {}
        for answer in ended:
            answer.set_result(None)

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)  # the launcher's session: bwrap and the evaluation
        self.process.wait()
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        if self.group is not None:
            self.group.kill_all()
            self.group.remove()
        remove_tree(Path(self.scratch))


def _line(kind: type[Any], data: dict[str, Any]) -> Any:
    """A line's fields without its `kind` (which `encode` writes first)."""
    return decode(kind, {key: value for key, value in data.items() if key != "kind"})


def _answer(data: dict[str, Any]) -> Evaluation:
    if "error" in data:
        return Evaluation(error=data["error"], where=tuple(data.get("where", (0, 0))))
    try:
        return Evaluation(observation=_line(ModelObservation, data["observation"]),
                          training=_line(Training, data["training"]), student_init=bool(data["student_init"]),
                          seed_independent=tuple(data["seed_independent"]), suspicious=str(data["suspicious"]))
    except (WireError, KeyError) as exc:
        return Evaluation(error=f"the trusted evaluation's answer did not decode: {exc}")


# ---- inside the evaluation process ---------------------------------------------------------------------
@dataclass
class _Worker:
    """A forked evaluator: its process id, the pipe ends the router writes requests to and reads
    answers from, and the request it holds (its id and deadline) and the bound of its answer."""

    pid: int
    requests: int
    answers: int
    holding: tuple[bytes, float] | None = None
    unread: bytes = b""
    answer_bytes: int = MAX_ANSWER_BYTES


def _route(requests: IO[bytes], answers: IO[bytes], workers: int, serve: Callable[[IO[bytes], IO[bytes]], None],
           overrun_s: float = OVERRUN_S) -> None:
    """Hand each request line to an idle worker, each answer back with its request's id; a worker
    that ends without answering, answers more than one line or MAX_ANSWER_BYTES (per model of a group), or overruns its request's budget
    by `overrun_s` is killed and replaced, and its request is answered with an error. (The grader
    sends no more requests than there are workers; any more wait here.) `serve`: what a forked
    worker runs over its two pipes."""
    idle: list[_Worker] = []
    for _ in range(workers):
        idle.append(_fork(serve, idle))
    busy: dict[int, _Worker] = {}
    source, unread = requests.fileno(), b""
    while True:
        while idle and b"\n" in unread:
            line, unread = unread.split(b"\n", 1)
            key, _, request = line.partition(b" ")
            worker = idle.pop()
            fields = json.loads(request)
            worker.holding = (key, time.monotonic() + float(fields["budget_s"]) + overrun_s)
            worker.answer_bytes = MAX_ANSWER_BYTES * max(1, len(fields.get("members", ())))  # a group's: each model's
            _write_all(worker.requests, request + b"\n")
            busy[worker.answers] = worker
        deadlines = [worker.holding[1] for worker in busy.values() if worker.holding is not None]
        ready, _, _ = select.select([source, *busy], [], [], max(0.0, min(deadlines) - time.monotonic()) if deadlines else None)
        if source in ready:
            chunk = os.read(source, 1 << 20)
            if not chunk:
                break  # the grader closed its end
            unread += chunk
        for descriptor in [d for d in ready if d in busy]:
            worker = busy[descriptor]
            chunk = os.read(descriptor, 1 << 20)
            worker.unread += chunk
            if chunk and not worker.unread.endswith(b"\n") and len(worker.unread) <= worker.answer_bytes:
                continue  # more of the answer to come
            # One line per request: a worker that writes more (or more than the bound) is not trusted
            # with the next, and its extra lines can never answer another request.
            if chunk and len(worker.unread) <= worker.answer_bytes and worker.unread.count(b"\n") == 1:
                _reply(answers, worker, worker.unread.rstrip(b"\n"))
                worker.holding, worker.unread = None, b""
                idle.append(busy.pop(descriptor))
            else:
                _reply(answers, worker, _error("the trusted evaluation of this graph ended without an answer"))
                idle.append(_replaced(busy.pop(descriptor), serve, [*idle, *busy.values()]))
        for descriptor, worker in list(busy.items()):
            if worker.holding is not None and time.monotonic() >= worker.holding[1]:
                _reply(answers, worker, _error("the trusted evaluation of this graph ran past its budget"))
                idle.append(_replaced(busy.pop(descriptor), serve, [*idle, *busy.values()]))
    for worker in [*idle, *busy.values()]:
        _end(worker)


def _fork(serve: Callable[[IO[bytes], IO[bytes]], None], others: list[_Worker]) -> _Worker:
    """A worker forked from the router (which runs no graph: every worker starts from the same warm
    state). It keeps only its own two pipes: the router's stdin and stdout become /dev/null, so
    nothing a worker prints can pass for an answer, and the other workers' pipe ends are closed."""
    request_read, request_write = os.pipe()
    answer_read, answer_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        status = 0
        try:
            os.close(request_write)
            os.close(answer_read)
            for other in others:
                os.close(other.requests)
                os.close(other.answers)
            null = os.open(os.devnull, os.O_RDWR)
            os.dup2(null, 0)
            os.dup2(null, 1)
            with os.fdopen(request_read, "rb") as worker_requests, os.fdopen(answer_write, "wb") as worker_answers:
                serve(worker_requests, worker_answers)
        except BaseException:  # noqa: BLE001 - a worker never returns into the router's loop
            status = 1
        os._exit(status)
    os.close(request_read)
    os.close(answer_write)
    return _Worker(pid, request_write, answer_read)


def _replaced(worker: _Worker, serve: Callable[[IO[bytes], IO[bytes]], None], others: list[_Worker]) -> _Worker:
    _end(worker)
    return _fork(serve, others)


def _end(worker: _Worker) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(worker.pid, signal.SIGKILL)
    os.waitpid(worker.pid, 0)
    os.close(worker.requests)
    os.close(worker.answers)


def _write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view):]


def _reply(answers: IO[bytes], worker: _Worker, answer: bytes) -> None:
    """The answer to the request `worker` holds, with that request's id."""
    assert worker.holding is not None
    answers.write(worker.holding[0] + b" " + answer + b"\n")
    answers.flush()


def _error(message: str) -> bytes:
    return json.dumps({"error": message}).encode()


def _evaluate_lines(requests: IO[bytes], answers: IO[bytes]) -> None:
    """A worker's loop: one answer line per request line (a group's: one answer per member, in order)."""
    from grader.evaluate.trusted import evaluate_together

    for raw in requests:
        request = json.loads(raw)
        if request.get("kind") == "run":
            answer: dict[str, Any] = _run_request(request, _model_data(request["data"]))
        else:
            members = request["members"] if request.get("kind") == "group" else [request]
            decoded = [_model_request(member) for member in members]
            evaluated = iter(evaluate_together([item for item in decoded if not isinstance(item, Exception)]))
            answered = [_evaluation_answer(item if isinstance(item, Exception) else next(evaluated)) for item in decoded]
            answer = {"answers": answered} if request.get("kind") == "group" else answered[0]
        answers.write(json.dumps(answer, allow_nan=False).encode() + b"\n")
        answers.flush()


def _model_data(data: dict[str, Any]) -> Any:
    from grader.evaluate.trusted import ModelData

    train_x, train_y, test_x, probe_x = (np.asarray(data[key], dtype=np.float64) for key in
                                         ("train_x", "train_y", "test_x", "probe_x"))
    return ModelData.of(train_x, train_y, test_x, probe_x, data.get("input_dtype", "float32"))


def _model_request(request: dict[str, Any]) -> Any:
    """One model's request decoded (`grader.evaluate.trusted.ModelRequest`), or the WireError that refused it."""
    from grader.evaluate.trusted import ModelRequest

    claimed = request["claimed"]
    try:
        return ModelRequest(_line(Capture, request["capture"]),
                            _line(ModelObservation, claimed) if claimed is not None else None,
                            decode(Recipe, request["recipe"]), _model_data(request["data"]),
                            float(request["budget_s"]), request["keep_student_init"],
                            request["max_constant"])
    except WireError as exc:
        return exc


def _evaluation_answer(evaluated: Any) -> dict[str, Any]:
    """The answer line of one model: its facts, or why its graph was refused."""
    from grader.evaluate.graph import GraphError

    if isinstance(evaluated, (GraphError, WireError)):
        return {"error": str(evaluated)[:500], "where": list(getattr(evaluated, "where", (0, 0)))}
    if isinstance(evaluated, Exception):  # a graph that breaks the rebuild in a way not foreseen
        return {"error": f"the rebuilt graph failed: {type(evaluated).__name__}: {evaluated}"[:500]}
    return {"observation": encode(evaluated.observation), "training": encode(evaluated.training),
            "student_init": evaluated.student_init, "seed_independent": list(evaluated.seed_independent),
            "suspicious": evaluated.suspicious}


def _run_request(request: dict[str, Any], model_data: Any) -> dict[str, Any]:
    """The answer to an instructor's check's request to run the model on its inputs."""
    import torch

    from grader.evaluate.graph import GraphError
    from grader.evaluate.trusted import run_inputs
    from grader.train.loop import OutOfBudget

    try:
        inputs = [torch.tensor(batch, dtype=torch.float32) for batch in request["inputs"]]
        outputs = run_inputs(_line(Capture, request["capture"]), decode(Recipe, request["recipe"]), model_data,
                             inputs, bool(request["trained"]), int(request["seed"]),
                             time.monotonic() + request["budget_s"], bool(request["keep_student_init"]))
    except OutOfBudget:
        return {"error": "the training ran past its time budget"}
    except (GraphError, WireError, ValueError) as exc:
        return {"error": str(exc)[:500]}
    except Exception as exc:  # noqa: BLE001 - the model's own error on these inputs (a shape that does not fit)
        return {"error": f"{type(exc).__name__}: {exc}"[:500]}
    # A non-finite output is a fact about the model, sent as null (JSON has no NaN); it reads back as nan.
    return {"outputs": _finite_lists(outputs)}


def _finite_lists(value: Any) -> Any:
    if isinstance(value, list):
        return [_finite_lists(item) for item in value]
    return value if isinstance(value, float) and math.isfinite(value) else (None if isinstance(value, float) else value)


def _warm_up() -> None:
    """One tiny training step and one fx graph, while the sandboxed run goes on: their first calls
    initialise lazily (about a second), which no model should pay for. Every worker forked after
    it starts warm."""
    import torch
    import torch.fx as fx

    torch.set_num_threads(1)  # as the harness trains: one thread makes every kernel deterministic
    model = fx.symbolic_trace(torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Sigmoid()))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, fused=True)
    torch.nn.functional.mse_loss(model(torch.zeros(4, 3)), torch.zeros(4, 2)).backward()
    optimizer.step()
    import grader.evaluate.trusted  # noqa: F401 - what every worker needs, imported once for all


if __name__ == "__main__":
    _warm_up()
    _route(sys.stdin.buffer, sys.stdout.buffer, int(sys.argv[1]), _evaluate_lines)
