"""Batch grading speed: this grader against the conventional way, and its scaling from -j 1 to -j 2.

    .venv/bin/python benchmarks/batch_speed.py [--count 50] [--baseline-sample 6]

Builds a batch of varied submissions (correct and faulty modules, lesson notebooks, the template,
zips, unreadable files), then measures in one run:
  1. `grader grade -j <cores>` on the whole batch (cold: no reused results);
  2. `grader grade -j 1` and `-j 2` on the same batch, for scaling;
  3. the conventional way nbgrader and Otter-Grader grade: each whole notebook executed top to
     bottom with nbclient (a module run with python) before any check runs. It is timed on a
     stratified sample and extrapolated to the batch by kind; the checks themselves are not even
     counted, so the ratio is a lower bound.
It prints seconds per submission, the ratios, the grader's own overhead per submission beyond the
training it does, the peak memory of a worker's sandboxed process, the grader process's memory
before and after, and the temporary folders left behind.
Targets (issue 5): >= 10x faster than whole-notebook execution, < 2 s overhead per submission beyond
its own training, < 600 MB peak per worker, no growth over the batch.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLUTION_PY = ROOT / "solutions" / "iris_basics" / "solution.py"
SOLUTION_NB = ROOT / "solutions" / "iris_basics" / "solution.ipynb"
TEMPLATE_NB = ROOT / "assignments" / "iris_basics" / "assignment.ipynb"
EXAMPLES = ROOT / "assignments" / "iris_basics" / "examples"
BIN = Path(sys.executable).parent

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


def grade_batch_timed(folder: Path, out: Path, jobs: int) -> tuple[float, int]:
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    completed = subprocess.run([str(BIN / "grader"), "grade", str(folder), "-o", str(out), "-j", str(jobs), "--force"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if completed.returncode != 0:
        raise SystemExit(f"grader grade failed: {completed.stderr[-2000:]}")
    peak_child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return time.perf_counter() - started, peak_child_kb


EXECUTE_NOTEBOOK = """
import sys, nbformat
from nbclient import NotebookClient
notebook = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(notebook, timeout=600, kernel_name="python3", allow_errors=True).execute()
"""


def conventional_seconds(path: Path, kind: str) -> float:
    started = time.perf_counter()
    if kind in ("notebook", "template"):
        subprocess.run([sys.executable, "-c", EXECUTE_NOTEBOOK, str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elif kind == "module" and path.suffix == ".py":
        subprocess.run([sys.executable, str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elif kind == "module":
        subprocess.run([sys.executable, "-c", "import zipfile,sys; zipfile.ZipFile(sys.argv[1]).testzip(); import torch",
                        str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def temp_leftovers() -> int:
    return sum(1 for p in Path(tempfile.gettempdir()).glob("grader-*"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--baseline-sample", type=int, default=6)
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as scratch:
        folder = Path(scratch) / "submissions"
        folder.mkdir()
        kinds = build_batch(folder, args.count)
        by_kind = {k: sum(1 for v in kinds.values() if v == k) for k in sorted(set(kinds.values()))}
        print(f"batch: {len(kinds)} submissions {by_kind}, {cores} cores")
        leftovers_before = temp_leftovers()

        wall_cores, peak_kb = grade_batch_timed(folder, Path(scratch) / "out", cores)
        results = [json.loads(p.read_text(encoding="utf-8")) for p in (Path(scratch) / "out" / "results").glob("*.json")]
        training = sum(r.get("training_s", 0.0) for r in results)
        wall_1, _ = grade_batch_timed(folder, Path(scratch) / "out1", 1)
        wall_2, _ = grade_batch_timed(folder, Path(scratch) / "out2", 2)

        sample: dict[str, list[float]] = {}
        for kind in by_kind:
            names = [n for n, k in kinds.items() if k == kind][: max(1, args.baseline_sample // len(by_kind))]
            sample[kind] = [conventional_seconds(folder / n, kind) for n in names]
        conventional = sum(statistics.mean(sample[k]) * by_kind[k] for k in by_kind)
        leftovers_after = temp_leftovers()

    n = len(kinds)
    print(f"this grader, -j {cores}          : {wall_cores:7.1f} s  = {wall_cores / n:5.2f} s per submission")
    print(f"this grader, -j 1              : {wall_1:7.1f} s  = {wall_1 / n:5.2f} s per submission")
    print(f"this grader, -j 2              : {wall_2:7.1f} s  = {wall_2 / n:5.2f} s per submission  "
          f"(scaling -j1/-j2: {wall_1 / wall_2:.2f}x)")
    print(f"whole-notebook execution       : {conventional:7.1f} s  = {conventional / n:5.2f} s per submission  "
          f"(sampled: {', '.join(f'{k} {statistics.mean(v):.1f} s x{len(v)}' for k, v in sample.items())})")
    print(f"speed-up over whole-notebook   : {conventional / wall_cores:7.1f}x  (target >= 10x)")
    overhead = (wall_1 - training) / n
    print(f"overhead beyond training (-j1) : {overhead:7.2f} s per submission (training itself {training / n:.2f} s; target < 2 s)")
    print(f"largest single process         : {peak_kb / 1024:7.0f} MB (a worker's sandboxed run or the grader; target < 600 MB per worker)")
    print(f"temporary folders left behind  : {leftovers_after - leftovers_before}")


if __name__ == "__main__":
    main()
