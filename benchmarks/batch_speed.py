"""Batch grading speed: this grader against the conventional way, and its scaling from -j 1 to -j 2.

    .venv/bin/python benchmarks/batch_speed.py [--count 50] [--baseline-per-kind 2]

Builds a batch of varied submissions (correct and faulty modules, lesson notebooks, the template,
zips, unreadable files), then measures in one run, each `grader grade --force` as a user runs it:
  1. `-j <cores>` on the whole batch, warm (each worker's fork server), and on its notebooks alone
     and its modules alone;
  2. `-j 1` and `-j 2`, for scaling, and `-j 1 --cold` (a fresh interpreter per submission), with a
     comparison of the scores of the warm and cold runs;
  3. the conventional way nbgrader and Otter-Grader grade, one submission after another: each
     notebook executed whole with nbclient (its own training loops included), then the checks in
     the same kernel, as an appended cell (they train each model under the recipe, one seed at a
     time); a module run with python, then the same checks in the same interpreter. Timed on a
     stratified sample (the submissions of one kind differ by a comment) and extrapolated by kind.
It prints seconds per submission, the ratios (whole batch, notebooks, modules), the grader's own
overhead per submission beyond the training it does, the largest single process, the grader's and
the fork servers' memory over the batch, and the temporary folders left behind.
Targets (issue 5): >= 10x faster than whole-notebook execution, < 2 s overhead per submission beyond
its own training, < 600 MB peak per worker, no growth over the batch.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
SOLUTION_PY = ROOT / "solutions" / "iris_basics" / "solution.py"
SOLUTION_NB = ROOT / "solutions" / "iris_basics" / "solution.ipynb"
TEMPLATE_NB = ROOT / "grader" / "assignments" / "iris_basics" / "assignment.ipynb"
EXAMPLES = ROOT / "grader" / "assignments" / "iris_basics" / "examples"
BIN = Path(sys.executable).parent
MB = 1024 * 1024

# (old, new) text edits of solution.py / solution.ipynb that make typical faulty submissions.
FAULTS = [
    ("        return self.l1(x)\n", "        return self.l1(x).squeeze()\n"),
    ("        h2 = torch.sigmoid(h1)\n        return h2", "        return h1"),
    ("self.l1 = torch.nn.Linear(n_input, n_hidden)", "self.l1 = torch.nn.Linear(n_input, 5)"),
    ("self.l2 = torch.nn.Linear(n_hidden, n_output)", "self.l2 = torch.nn.Linear(5, n_output)"),
    ("        h1 = self.l1(x)\n        h2 = torch.sigmoid(h1)\n        h3 = self.l2(h2)\n        h4",
     "        h1 = self.l1(x).detach()\n        h2 = torch.sigmoid(h1)\n        h3 = self.l2(h2)\n        h4"),
    ("class MLPC(", "class MLPC_("),
    ("    def forward(self, x):\n        return self.l1(x)", "    def forward(self, x):\n        raise RuntimeError('oops')"),
]
INVALID = {
    "broken.ipynb": b'{"cells": [',
    "empty.py": b"",
    "binary.py": b"\x00\x01\x02import torch",
    "notes.txt": b"not a submission",
    "latin1.py": "# caf\xe9\nimport torch\n".encode("latin-1") + b"\xff\xfe",
}


def build_batch(folder: Path, count: int) -> dict[str, str]:
    """Writes `count` submissions into `folder`; returns {file name: kind}."""
    rng = random.Random(0)
    solution = SOLUTION_PY.read_text(encoding="utf-8")
    notebook = SOLUTION_NB.read_text(encoding="utf-8")
    kinds: dict[str, str] = {}

    def add(name: str, data: bytes | str, kind: str) -> None:
        path = folder / name
        path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
        kinds[name] = kind

    index = 0
    while len(kinds) < count:
        index += 1
        slot = index % 10
        tag = f"\n# student {index}\n"
        if slot in (0, 1, 2):
            add(f"s{index:03d}_correct.py", solution + tag, "module")
        elif slot in (3, 4):
            old, new = FAULTS[rng.randrange(len(FAULTS))]
            add(f"s{index:03d}_faulty.py", solution.replace(old, new, 1) + tag, "module")
        elif slot in (5, 6):
            nb = json.loads(notebook)
            nb["cells"][0]["source"] = [f"# student {index}\n"] + list(nb["cells"][0].get("source", []))
            add(f"s{index:03d}_lesson.ipynb", json.dumps(nb, ensure_ascii=False), "notebook")
        elif slot == 7:
            nb = json.loads(TEMPLATE_NB.read_text(encoding="utf-8"))
            nb["cells"][0]["source"] = [f"# student {index}\n"] + list(nb["cells"][0].get("source", []))
            add(f"s{index:03d}_template.ipynb", json.dumps(nb, ensure_ascii=False), "template")
        elif slot == 8:
            buffer = folder / f"s{index:03d}_zipped.zip"
            with zipfile.ZipFile(buffer, "w") as archive:
                archive.writestr("homework/models.py", (EXAMPLES / "taro_sequential.py").read_text(encoding="utf-8") + tag)
                archive.writestr("__MACOSX/homework/._models.py", b"junk")
            kinds[buffer.name] = "module"
        else:
            name, data = list(INVALID.items())[(index // 10) % len(INVALID)]
            add(f"s{index:03d}_{name}", data, "invalid")
    return kinds


@dataclass
class BatchRun:
    seconds: float
    peak_process_mb: float  # the largest single process of the run: the grader, a fork server or a sandboxed child
    grader_rss_mb: list[tuple[int, float]]  # (results written so far, the grader process's RSS)
    server_rss_mb: list[tuple[int, float]]  # (results written so far, a fork server's RSS)


def grade_batch_timed(folder: Path, out: Path, jobs: int, cold: bool = False) -> BatchRun:
    """`grader grade` as a user runs it, sampling its memory and its fork servers' as it goes."""
    shutil.rmtree(out, ignore_errors=True)
    command = [str(BIN / "grader"), "grade", str(folder), "-o", str(out), "-j", str(jobs), "--force"]
    started = time.perf_counter()
    process = subprocess.Popen(command + (["--cold"] if cold else []), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True)
    grader = psutil.Process(process.pid)
    peak, grader_rss, server_rss = 0.0, [], []
    while process.poll() is None:
        try:
            done = len(list((out / "results").glob("*.json"))) if (out / "results").is_dir() else 0
            grader_rss.append((done, grader.memory_info().rss / MB))
            for child in grader.children(recursive=True):
                rss = child.memory_info().rss / MB
                peak = max(peak, rss)
                command = child.cmdline()
                # The fork server itself: python (not the bwrap around it, not its children as the sandbox user).
                if (command and "python" in Path(command[0]).name and "grader.harness.zygote" in command
                        and child.uids().real == 0):
                    server_rss.append((done, rss))
            peak = max(peak, grader_rss[-1][1])
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
        time.sleep(0.25)
    if process.returncode != 0:
        raise SystemExit(f"grader grade failed: {process.stderr.read()[-2000:]}")
    return BatchRun(time.perf_counter() - started, peak, grader_rss, server_rss)


# "Then the checks": what this grader's checks cost beyond executing the file is training every
# model under the recipe; here one seed at a time with the grader's own training code, in the
# namespace the file left behind (a notebook's kernel, a module's globals).
CHECKS = """
import json as _json, time as _time, torch as _torch
from grader.harness.loader import ClassRecord as _ClassRecord
from grader.harness.training import train_model as _train_model
from grader.protocol import wire as _wire
_torch.set_num_threads(1)
for _data in _json.load(open({models!r}, encoding="utf-8")):
    _data["recipe"]["train_seeds_together"] = False
    _model = _wire.decode(_wire.ModelJob, _data)
    _cls = next((globals()[_n] for _n in _model.class_names if isinstance(globals().get(_n), type)), None)
    if _cls is not None:
        try:
            _train_model(_model, _ClassRecord(_cls.__name__, 0, 0, _cls), _time.monotonic() + 300)
        except Exception:
            pass
"""

EXECUTE_NOTEBOOK = """
import sys, nbformat
from nbclient import NotebookClient
notebook = nbformat.read(sys.argv[1], as_version=4)
notebook.cells.append(nbformat.v4.new_code_cell(sys.argv[2]))
NotebookClient(notebook, timeout=600, kernel_name="python3", allow_errors=True).execute()
"""

RUN_MODULE = """
import runpy, sys, tempfile, zipfile
from pathlib import Path
path = Path(sys.argv[1])
if path.suffix == ".zip":
    folder = Path(tempfile.mkdtemp())
    zipfile.ZipFile(path).extractall(folder)
    path = next(p for p in folder.rglob("*.py") if "__MACOSX" not in p.parts)
    sys.path.insert(0, str(path.parent))
try:
    namespace = runpy.run_path(str(path), run_name="__main__")
except BaseException:
    namespace = {}
exec(sys.argv[2], namespace)
"""


def write_models_json(folder: Path) -> Path:
    """The models of the assignment as the harness gets them to train them itself (recipe, arguments,
    data splits): the job of a run that observes every model the old way, as a conventional grader does."""
    from grader.evaluate.execute import build_job
    from grader.intake.submission import read_submission
    from grader.protocol import wire
    from grader.spec import load_assignment
    from grader.spec.datasets import splits_for

    assignment = load_assignment("iris_basics")
    splits = splits_for(assignment.spec)
    job = build_job(read_submission(SOLUTION_PY), assignment, splits, "definitions", "",
                    uncaptured=frozenset(model.id for model in assignment.spec.models))
    path = folder / "models.json"
    path.write_text(json.dumps(wire.encode(job)["models"]), encoding="utf-8")
    return path


def conventional_seconds(path: Path, kind: str, checks: str) -> float:
    """One submission graded the conventional way: the whole file executed, then the checks."""
    started = time.perf_counter()
    if kind in ("notebook", "template"):
        command = [sys.executable, "-c", EXECUTE_NOTEBOOK, str(path), checks]
    elif kind == "module":
        command = [sys.executable, "-c", RUN_MODULE, str(path), checks]
    else:  # unreadable: the conventional tools stop at reading it
        command = [sys.executable, "-c", "import nbformat, sys; open(sys.argv[1], 'rb').read()", str(path)]
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=path.parent)
    return time.perf_counter() - started


def subset(folder: Path, kinds: dict[str, str], wanted: tuple[str, ...], name: str) -> Path:
    """A folder with the submissions of the wanted kinds (hard links)."""
    target = folder.parent / name
    target.mkdir()
    for file_name, kind in kinds.items():
        if kind in wanted:
            os.link(folder / file_name, target / file_name)
    return target


def temp_leftovers() -> int:
    return sum(1 for p in Path(tempfile.gettempdir()).glob("grader-*"))


def rss_growth(samples: list[tuple[int, float]], total: int) -> str:
    """A process's RSS when a fifth of the batch was done against when all of it was."""
    early = [rss for done, rss in samples if done >= total // 5]
    late = [rss for done, rss in samples if done >= total - 2]
    if not early or not late:
        return "not enough samples"
    return f"{early[0]:.0f} MB at {total // 5} results -> {late[-1]:.0f} MB at {total} ({late[-1] - early[0]:+.0f} MB)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--baseline-per-kind", type=int, default=2, help="whole executions timed per kind of submission")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as scratch:
        folder = Path(scratch) / "submissions"
        folder.mkdir()
        kinds = build_batch(folder, args.count)
        n = len(kinds)
        by_kind = {k: sum(1 for v in kinds.values() if v == k) for k in sorted(set(kinds.values()))}
        print(f"batch: {n} submissions {by_kind}, {cores} cores")
        leftovers_before = temp_leftovers()

        main_run = grade_batch_timed(folder, Path(scratch) / "out", cores)
        notebook_kinds, module_kinds = ("notebook", "template"), ("module",)
        notebooks_run = grade_batch_timed(subset(folder, kinds, notebook_kinds, "notebooks"), Path(scratch) / "out-nb", cores)
        modules_run = grade_batch_timed(subset(folder, kinds, module_kinds, "modules"), Path(scratch) / "out-mod", cores)
        run_1 = grade_batch_timed(folder, Path(scratch) / "out1", 1)
        run_2 = grade_batch_timed(folder, Path(scratch) / "out2", 2)
        cold_1 = grade_batch_timed(folder, Path(scratch) / "out-cold", 1, cold=True)
        # The training the -j 1 run did (its own clock: at -j 2 two trainings share the cores).
        training = sum(json.loads(p.read_text(encoding="utf-8")).get("training_s", 0.0)
                       for p in (Path(scratch) / "out1" / "results").glob("*.json"))
        same = all(json.loads((Path(scratch) / "out-cold" / "results" / p.name).read_text(encoding="utf-8"))["score"]
                   == json.loads(p.read_text(encoding="utf-8"))["score"] for p in (Path(scratch) / "out1" / "results").glob("*.json"))

        checks = CHECKS.format(models=str(write_models_json(Path(scratch))))
        sample: dict[str, list[float]] = {}
        for kind in by_kind:
            names = [name for name, k in kinds.items() if k == kind][: 1 if kind == "invalid" else args.baseline_per_kind]
            sample[kind] = [conventional_seconds(folder / name, kind, checks) for name in names]
        leftovers_after = temp_leftovers()

    def conventional_of(wanted) -> tuple[float, int]:
        count = sum(by_kind.get(k, 0) for k in wanted)
        return sum(statistics.mean(sample[k]) * by_kind[k] for k in wanted if k in by_kind), count

    conventional, _ = conventional_of(tuple(by_kind))
    print(f"this grader, -j {cores} (warm)       : {main_run.seconds:7.1f} s  = {main_run.seconds / n:5.2f} s per submission")
    print(f"this grader, -j 1 (warm)       : {run_1.seconds:7.1f} s  = {run_1.seconds / n:5.2f} s per submission")
    print(f"this grader, -j 2 (warm)       : {run_2.seconds:7.1f} s  = {run_2.seconds / n:5.2f} s per submission  "
          f"(scaling -j1/-j2: {run_1.seconds / run_2.seconds:.2f}x)")
    print(f"this grader, -j 1 --cold       : {cold_1.seconds:7.1f} s  = {cold_1.seconds / n:5.2f} s per submission  "
          f"(warm start saves {(cold_1.seconds - run_1.seconds) / n:.2f} s per submission; same scores: {same})")
    print(f"conventional (whole file, then checks): {conventional:7.1f} s  = {conventional / n:5.2f} s per submission  "
          f"(sampled: {', '.join(f'{k} {statistics.mean(v):.1f} s x{len(v)}' for k, v in sample.items())})")
    for label, wanted, run in (("whole batch", tuple(by_kind), main_run), ("notebooks alone", notebook_kinds, notebooks_run),
                               ("modules alone", module_kinds, modules_run)):
        seconds, count = conventional_of(wanted)
        target = "  (target >= 10x: whole-notebook execution)" if wanted == notebook_kinds else ""
        print(f"speed-up, {label:<16}     : {seconds / run.seconds:7.1f}x  ({count} submissions: conventional "
              f"{seconds / count:5.2f} s vs {run.seconds / count:5.2f} s per submission here){target}")
    overhead = (run_1.seconds - training) / n
    print(f"overhead beyond training (-j1) : {overhead:7.2f} s per submission (training itself {training / n:.2f} s; target < 2 s)")
    print(f"largest single process         : {max(main_run.peak_process_mb, run_1.peak_process_mb):7.0f} MB "
          "(grader, fork server or sandboxed child; target < 600 MB per worker)")
    print(f"grader process memory (-j1)    : {rss_growth(run_1.grader_rss_mb, n)}")
    print(f"fork server memory (-j1)       : {rss_growth(run_1.server_rss_mb, n)}")
    print(f"temporary folders left behind  : {leftovers_after - leftovers_before}")


if __name__ == "__main__":
    main()
