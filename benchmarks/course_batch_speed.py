"""A batch of one course assignment's submissions, graded as an instructor grades a class.

    .venv/bin/python benchmarks/course_batch_speed.py [--assignment digits_cnn] [--count 20] [-j 2]

Builds `--count` submissions from the assignment's reference (module and notebook) and its bundled
faulty examples, each made distinct by a comment (so that no cached result is reused), and times
`grader grade -j N --force` over them in one process tree: seconds per submission, and the scores
(every copy of a file must score what the file scores alone: determinism across the batch).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def sources(assignment: str) -> list[Path]:
    folder = ROOT / "grader" / "assignments" / assignment / "examples"
    return sorted([*(ROOT / "solutions" / assignment).glob("solution.*"), *folder.iterdir()])


def distinct_copy(source: Path, index: int, folder: Path) -> Path:
    """`source` with a comment of its own: another file (another sha256), the same code."""
    target = folder / f"s{index:03d}_{source.stem}{source.suffix}"
    if source.suffix == ".ipynb":
        notebook = json.loads(source.read_text(encoding="utf-8"))
        notebook["cells"].append({"cell_type": "markdown", "metadata": {}, "source": [f"copy {index}"]})
        target.write_text(json.dumps(notebook, ensure_ascii=False), encoding="utf-8")
    else:
        target.write_text(source.read_text(encoding="utf-8") + f"\n# copy {index}\n", encoding="utf-8")
    return target


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--assignment", default="digits_cnn")
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("-j", "--jobs", type=int, default=2)
    args = parser.parse_args()
    kinds = sources(args.assignment)
    with tempfile.TemporaryDirectory() as scratch:
        batch, out = Path(scratch) / "batch", Path(scratch) / "out"
        batch.mkdir()
        made = {distinct_copy(kinds[i % len(kinds)], i, batch).stem: kinds[i % len(kinds)].name
                for i in range(args.count)}
        started = time.perf_counter()
        subprocess.run([str(BIN / "grader"), "grade", str(batch), "-a", args.assignment, "-o", str(out), "-j",
                        str(args.jobs), "--force"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - started
        scores: dict[str, set[float]] = defaultdict(set)
        for path in (out / "results").glob("*.json"):
            result = json.loads(path.read_text(encoding="utf-8"))
            scores[made[path.stem]].add(result["score"])
    print(f"{args.assignment}: {args.count} submissions ({len(kinds)} kinds) graded with -j {args.jobs} in {wall:.1f} s: "
          f"{wall / args.count:.2f} s per submission")
    for kind, found in sorted(scores.items()):
        print(f"  {kind:24} score {', '.join(f'{s:g}' for s in sorted(found))}"
              f"{'' if len(found) == 1 else '  NOT THE SAME ACROSS COPIES'}")


if __name__ == "__main__":
    main()
