"""The trusted evaluation's own process: captured graphs are rebuilt, checked and trained there.

Why a process of its own: no student code ever runs in it (the graphs it runs are data the trusted
side validated), it trains in parallel with the grader's other workers (threads of one process
would share one interpreter lock, and the training is thousands of tiny torch calls), and it
imports torch while the sandboxed run goes on, so `grader check` does not wait for that import. A
batch worker keeps one for all its submissions, as it keeps its fork server. It runs sandboxed as
the harness does (`grader.sandbox.process.confine`: the launcher, bwrap's namespaces with no
network and a read-only system, the sandbox user, the seccomp filter, a cgroup), for depth: the
graphs it runs came from untrusted data. Its scratch folder is its own and goes with it.

The protocol is one JSON line each way per model: the request carries the capture line and the
harness's claimed observation (wire encoded), the recipe, the data as lists and the limits; the
answer carries the computed `ModelObservation` and `Training` (wire encoded, decoded strictly here
like any line) or the `GraphError` that refused the graph. If the process dies or overruns the
model's budget it is killed and started again for the next request, and that model's graph counts
as refused.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from grader.protocol.wire import Capture, ModelObservation, Recipe, Training, WireError, decode, encode
from grader.sandbox import tiers
from grader.sandbox.bwrap import runtime_paths
from grader.sandbox.cgroups import RunGroup
from grader.sandbox.process import ProcessLimits, confine, isolated_python_flags, remove_tree, scrubbed_environment

STARTUP_S = 60.0  # importing torch on a loaded machine, on top of a model's budget
# The evaluation's sandbox: no wall clock of its own (a batch worker keeps it for every submission;
# each answer has its deadline), memory and processes bounded by its cgroup where there is one.
LIMITS = ProcessLimits(timeout_s=math.inf, memory_bytes=2048 * 1024 * 1024, processes=64,
                       file_size_bytes=64 * 1024 * 1024, open_files=256, tmp_bytes=256 * 1024 * 1024)


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
    """One trusted evaluation process, started on first use (or by `start()`, to import torch early)."""

    def __init__(self, scratch_parent: str | None = None) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._group: RunGroup | None = None
        # Its TMPDIR (torch writes a cache folder there), made in `scratch_parent` (default: the
        # temporary folder) at each start and removed when it closes.
        self._scratch_parent = scratch_parent
        self._scratch: str | None = None

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        if self._process is not None and self._process.poll() is None:
            return
        self.close()
        self._scratch = tempfile.mkdtemp(prefix="grader-evaluator-", dir=self._scratch_parent)
        # The grader's own package, wherever it was imported from (a Gradescope image puts it on
        # sys.path at run time, not in the environment).
        package = Path(__file__).resolve().parents[1]
        environment = {**scrubbed_environment(Path(self._scratch)), "PYTHONPATH": str(package.parent)}
        argv = [sys.executable, *isolated_python_flags(), "-m", "grader.evaluate.evaluator"]
        confined = confine(argv, Path(self._scratch), LIMITS, environment, tiers.detect(),
                           readonly_paths=tuple(dict.fromkeys([*runtime_paths(), str(package)])))
        self._group = confined.group
        try:
            self._process = subprocess.Popen(confined.argv, cwd=self._scratch, env=environment,
                                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                             stderr=subprocess.DEVNULL, start_new_session=True,
                                             pass_fds=confined.pass_fds)
        finally:
            confined.started()

    @property
    def cgroups(self) -> tuple[Path, ...]:
        """The folders of its process's cgroup while it lives (none where the machine gives none)."""
        return tuple(self._group.dirs) if self._group is not None else ()

    def close(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)  # the launcher's session: bwrap and the evaluation
            process.wait()
        group, self._group = self._group, None
        if group is not None:
            group.kill_all()
            group.remove()
        scratch, self._scratch = self._scratch, None
        if scratch is not None:
            remove_tree(Path(scratch))

    def evaluate(self, capture: Capture, claimed: ModelObservation | None, recipe: Recipe,
                 data: dict[str, np.ndarray], budget_s: float, keep_student_init: bool,
                 max_constant: int) -> Evaluation:
        request = {"capture": encode(capture), "claimed": encode(claimed) if claimed is not None else None,
                   "recipe": encode(recipe), "data": {key: np.asarray(value).tolist() for key, value in data.items()},
                   "budget_s": budget_s, "keep_student_init": keep_student_init, "max_constant": max_constant}
        return _answer(self.exchange(json.dumps(request).encode(), budget_s))

    def exchange(self, request: bytes, budget_s: float) -> dict[str, Any]:
        """One request line sent, its answer read (the tests replay recorded answers here)."""
        self.start()
        assert self._process is not None and self._process.stdin is not None and self._process.stdout is not None
        try:
            self._process.stdin.write(request + b"\n")
            self._process.stdin.flush()
            line = _read_line(self._process.stdout, time.monotonic() + budget_s + STARTUP_S)
        except (OSError, TimeoutError) as exc:
            self.close()
            return {"error": f"the trusted evaluation did not answer ({type(exc).__name__})"}
        if not line:
            self.close()
            return {"error": "the trusted evaluation ended without an answer"}
        answer: dict[str, Any] = json.loads(line)
        return answer


def _read_line(stream: IO[bytes], deadline: float) -> bytes:
    chunks: list[bytes] = []
    descriptor = stream.fileno()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        ready, _, _ = select.select([descriptor], [], [], left)
        if not ready:
            continue
        chunk = os.read(descriptor, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        if chunk.endswith(b"\n"):
            return b"".join(chunks)


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
def _serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    import torch

    from grader.evaluate.graph import GraphError
    from grader.evaluate.trusted import ModelData, evaluate

    torch.set_num_threads(1)  # as the harness trains: one thread makes every kernel deterministic
    _warm_up()
    for raw in requests:
        request = json.loads(raw)
        data = request["data"]
        model_data = ModelData.of(*(np.asarray(data[key], dtype=np.float64) for key in
                                    ("train_x", "train_y", "test_x", "probe_x")))
        claimed = request["claimed"]
        try:
            evaluated = evaluate(_line(Capture, request["capture"]),
                                 _line(ModelObservation, claimed) if claimed is not None else None,
                                 decode(Recipe, request["recipe"]), model_data,
                                 time.monotonic() + request["budget_s"], request["keep_student_init"],
                                 request["max_constant"])
            answer: dict[str, Any] = {
                "observation": encode(evaluated.observation), "training": encode(evaluated.training),
                "student_init": evaluated.student_init, "seed_independent": list(evaluated.seed_independent),
                "suspicious": evaluated.suspicious}
        except (GraphError, WireError) as exc:
            answer = {"error": str(exc)[:500], "where": list(getattr(exc, "where", (0, 0)))}
        except Exception as exc:  # noqa: BLE001 - a graph that breaks the rebuild in a way not foreseen
            answer = {"error": f"the rebuilt graph failed: {type(exc).__name__}: {exc}"[:500]}
        answers.write(json.dumps(answer, allow_nan=False).encode() + b"\n")
        answers.flush()


def _warm_up() -> None:
    """One tiny training step and one fx graph, while the sandboxed run goes on: their first calls
    initialise lazily (about a second), which no model should pay for."""
    import torch
    import torch.fx as fx

    model = fx.symbolic_trace(torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Sigmoid()))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, fused=True)
    torch.nn.functional.mse_loss(model(torch.zeros(4, 3)), torch.zeros(4, 2)).backward()
    optimizer.step()


if __name__ == "__main__":
    _serve(sys.stdin.buffer, sys.stdout.buffer)
