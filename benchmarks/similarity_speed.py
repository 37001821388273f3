"""Similar-submission detection on a class of 300: its time, what it finds, its share of a batch.

    .venv/bin/python benchmarks/similarity_speed.py [--count 300] [--copies 8] [--grade 0]

Builds `--count` varied submissions: modules and notebooks (the template filled in) whose five
classes are written in one of several styles with random names, each with its own evaluation code
(random statements, as a student's own code is), a few renamed copies of the examples and the
solutions, and `--copies` planted copies of other submissions of the batch (renamed, reindented,
comments and blank lines changed). Then times the similarity step alone as `grader grade` runs it
(read every file again + normalise + compare, `grader.outputs.similarity.similar_in_batch`), and prints the
pairs found, whether each planted copy was found, the pairs that were not planted, and the step's
share of the batch time. The batch time is `count` x the grading time per submission: 0.8 s at
`-j 2` (benchmarks/batch_speed.py), or measured with `--grade N` (grades N of the files with
`grader grade -j 2` into a temporary folder).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.intake.collect import collect_inputs  # noqa: E402
from grader.intake.submission import read_submission  # noqa: E402
from grader.outputs.similarity import (  # noqa: E402
    COMMON_MIN,
    COMMON_SHARE,
    find_similar,
    normalise,
    similar_in_batch,
    template_keys,
    template_paths,
)
from grader.spec import load_assignment  # noqa: E402

SOLUTION_PY = ROOT / "solutions" / "iris_basics" / "solution.py"
SOLUTION_NB = ROOT / "solutions" / "iris_basics" / "solution.ipynb"
TEMPLATE_NB = ROOT / "grader" / "assignments" / "iris_basics" / "assignment.ipynb"
EXAMPLES = ROOT / "grader" / "assignments" / "iris_basics" / "examples"
SECONDS_PER_SUBMISSION = 0.8  # `grader grade -j 2`, benchmarks/batch_speed.py

# Each model in a few styles; {a}, {b} are the student's attribute names.
STYLES = {
    "MLR": ["self.{a} = torch.nn.Linear(n_input, n_output)|return self.{a}(x)",
            "self.{a} = nn.Linear(n_input, n_output)|y = self.{a}(x)\nreturn y"],
    "LR": ["self.{a} = torch.nn.Linear(n_input, n_output)|return torch.sigmoid(self.{a}(x))",
           "self.{a} = nn.Sequential(nn.Linear(n_input, n_output), nn.Sigmoid())|return self.{a}(x)",
           "self.{a} = nn.Linear(n_input, n_output)\nself.{b} = nn.Sigmoid()|h = self.{a}(x)\nreturn self.{b}(h)"],
    "MLPR": ["self.{a} = torch.nn.Linear(n_input, n_hidden)\nself.{b} = torch.nn.Linear(n_hidden, n_output)|"
             "h = torch.sigmoid(self.{a}(x))\nreturn self.{b}(h)",
             "self.{a} = nn.Sequential(nn.Linear(n_input, n_hidden), nn.Sigmoid(), nn.Linear(n_hidden, n_output))|"
             "return self.{a}(x)"],
    "MLPC": ["self.{a} = torch.nn.Linear(n_input, n_hidden)\nself.{b} = torch.nn.Linear(n_hidden, n_output)|"
             "h = torch.sigmoid(self.{a}(x))\nreturn torch.sigmoid(self.{b}(h))",
             "self.{a} = nn.Sequential(nn.Linear(n_input, n_hidden), nn.Sigmoid(), nn.Linear(n_hidden, n_output), "
             "nn.Sigmoid())|return self.{a}(x)"],
}
ATTRS = ["l1", "l2", "fc", "fc1", "fc2", "linear", "layer", "net", "body", "hidden", "out", "lin", "act", "seq"]
WORDS = ["pred", "err", "acc", "loss", "total", "val", "res", "score", "diff", "mse", "tmp", "out", "y_hat", "z", "m", "k"]
IMPORTS = "import torch\nfrom torch import nn\nimport numpy as np\n"


def expression(rng: random.Random, names: list[str], depth: int = 0) -> str:
    choice = rng.randrange(8 if depth < 3 else 2)
    if choice == 0:
        return rng.choice(names)
    if choice == 1:
        return str(rng.choice([2, 3, 10, 0.5, 1e-3, 75, 100]))
    if choice in (2, 3):
        return f"{expression(rng, names, depth + 1)} {rng.choice(['+', '-', '*', '/', '**'])} {expression(rng, names, depth + 1)}"
    if choice == 4:
        return f"torch.{rng.choice(['mean', 'sum', 'abs', 'sqrt', 'argmax', 'max', 'exp'])}({expression(rng, names, depth + 1)})"
    if choice == 5:
        return f"({expression(rng, names, depth + 1)}).{rng.choice(['mean', 'sum', 'item', 'float', 'detach', 'numpy'])}()"
    if choice == 6:
        return f"{rng.choice(names)}[{rng.choice([':', '0', ':, 0', 'i', '-1'])}]"
    return f"{rng.choice(['model_mlr', 'model_lr', 'model_mlpr', 'model_mlpc', 'model_ae'])}({expression(rng, names, depth + 1)})"


def own_code(rng: random.Random) -> str:
    """A student's own evaluation code: random statements over the lesson's variables."""
    names = ["X_test", "Y_test", "X_train", "Y_train"]
    lines = []
    for _ in range(rng.randint(6, 12)):
        target = f"{rng.choice(WORDS)}{rng.randint(1, 9)}"
        if rng.random() < 0.2:
            lines.append(f"for i in range({rng.choice([3, 5, 75])}):\n    {target} = {expression(rng, names)}")
        else:
            lines.append(f"{target} = {expression(rng, names)}")
        names.append(target)
        if rng.random() < 0.3:
            lines.append(f"print({rng.choice(names)}, {expression(rng, names)})")
    return "\n".join(lines) + "\n"


def classes(rng: random.Random) -> dict[str, str]:
    out = {}
    for name, styles in STYLES.items():
        init, forward = rng.choice(styles).split("|")
        a, b = rng.sample(ATTRS, 2)
        init, forward = init.format(a=a, b=b), forward.format(a=a, b=b)
        args = "n_input, n_hidden, n_output" if name.startswith("MLP") else "n_input, n_output"
        body = "\n".join("        " + line for line in init.split("\n"))
        fwd = "\n".join("        " + line for line in forward.split("\n"))
        out[name] = (f"class {name}(torch.nn.Module):\n    def __init__(self, {args}):\n        super().__init__()\n"
                     f"{body}\n\n    def forward(self, x):\n{fwd}\n")
    a, b = rng.sample(ATTRS, 2)
    out["AE"] = (f"class AE(torch.nn.Module):\n    def __init__(self, n_input, n_hidden, n_output):\n        super().__init__()\n"
                 f"        self.{a} = nn.Linear(n_input, n_hidden)\n        self.{b} = nn.Linear(n_hidden, n_output)\n\n"
                 f"    def project(self, x):\n        return torch.sigmoid(self.{a}(x))\n\n"
                 f"    def forward(self, x):\n        return self.{b}(self.project(x))\n")
    return out


def notebook(cells: list[str]) -> str:
    template = json.loads(TEMPLATE_NB.read_text(encoding="utf-8"))
    template["cells"] = [c for c in template["cells"] if "TODO" not in "".join(c["source"])]
    template["cells"] += [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                           "source": source} for source in cells]
    return json.dumps(template, ensure_ascii=False)


def disguise(source: str, rng: random.Random) -> str:
    """A copy made to look different: names renamed, reindented, comments and blank lines changed."""
    names = set(re.findall(r"\b([a-z_][a-z0-9_]*)\s*=", source)) | set(re.findall(r"self\.([a-z_]\w*)", source))
    for name in sorted(names - {"self", "x", "i"}):
        source = re.sub(rf"\b{name}\b", f"{name}_{rng.randint(10, 99)}v", source)
    source = re.sub(r"#.*", "# my own notes", source).replace("    ", "  ")
    return "# homework\n\n" + source.replace("\n\n", "\n\n\n").replace(" = ", "=")


def build(folder: Path, count: int, copies: int, seed: int = 0) -> dict[str, str]:
    """Writes the batch; returns {copy: original} of the planted copies."""
    rng = random.Random(seed)
    sources: dict[str, str] = {}
    fixed = [SOLUTION_PY, EXAMPLES / "taro_sequential.py", EXAMPLES / "jiro_mistakes.py"]
    for n in range(count - copies - (1 if count > 10 else 0)):
        sid = f"s{n:03d}"
        if n < len(fixed):  # the examples and the solution, renamed
            source = disguise(fixed[n].read_text(encoding="utf-8"), rng)
        else:
            parts = classes(rng)
            source = IMPORTS + "\n\n".join(parts.values()) + "\n\n" + own_code(rng)
        sources[sid] = source
        if n % 3 == 0 and n >= len(fixed):
            cells = [IMPORTS] + list(classes(rng).values()) + [own_code(rng)]
            sources[sid] = "\n".join(cells)
            (folder / f"{sid}.ipynb").write_text(notebook(cells), encoding="utf-8")
        else:
            (folder / f"{sid}.py").write_text(source, encoding="utf-8")
    if count > 10:
        (folder / "s_lesson.ipynb").write_text(SOLUTION_NB.read_text(encoding="utf-8"), encoding="utf-8")
    planted = {}
    originals = rng.sample(sorted(sources)[len(fixed):], copies)
    for n, original in enumerate(originals):
        copy = f"c{n:02d}"
        (folder / f"{copy}.py").write_text(disguise(sources[original], rng), encoding="utf-8")
        planted[copy] = original
    return planted


def measure_grading(folder: Path, n: int) -> float:
    sample = sorted(folder.iterdir())[:n]
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "grader", "grade", *map(str, sample), "-a", "iris_basics",
                        "-o", str(Path(tmp) / "out"), "-j", "2"], check=True, capture_output=True, cwd=ROOT)
        return (time.perf_counter() - started) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--copies", type=int, default=8)
    parser.add_argument("--grade", type=int, default=0, help="grade this many files to measure s/submission")
    args = parser.parse_args()
    assignment = load_assignment("iris_basics")
    with tempfile.TemporaryDirectory() as tmp:
        folder, out = Path(tmp) / "in", Path(tmp) / "out"
        folder.mkdir()
        out.mkdir()
        planted = build(folder, args.count, args.copies)
        items = collect_inputs([folder])
        results = [SimpleNamespace(status="graded", submission=SimpleNamespace(student_id=i.student_id)) for i in items]
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            pairs = similar_in_batch(items, results, assignment, out)
            timings.append(time.perf_counter() - started)
        seconds = min(timings)
        # The compare step alone, and how much of the naive all-pairs work the inverted index leaves.
        template = template_keys(template_paths(assignment))
        docs = [normalise(i.student_id, read_submission(i.path, i.student_id).cells, template) for i in items]
        started = time.perf_counter()
        low = find_similar(docs, threshold=0.3, min_tokens=assignment.spec.similarity.min_tokens)
        compare_seconds = time.perf_counter() - started
        holders: dict[int, list[int]] = {}
        for index, doc in enumerate(docs):
            for value in doc.fingerprints:
                holders.setdefault(value, []).append(index)
        common = max(COMMON_MIN, int(COMMON_SHARE * len(docs)))
        candidates = {(h[x], h[y]) for h in holders.values() if 1 < len(h) <= common
                      for x in range(len(h)) for y in range(x + 1, len(h))}
        per_submission = measure_grading(folder, args.grade) if args.grade else SECONDS_PER_SUBMISSION
    found = {frozenset((p.student_a, p.student_b)): p.score for p in pairs}
    print(f"submissions: {len(items)} ({sum(i.path.suffix == '.ipynb' for i in items)} notebooks), "
          f"planted copies: {len(planted)}")
    print(f"similarity step (read + normalise + compare, best of 3): {seconds:.2f} s "
          f"({1000 * seconds / len(items):.1f} ms per submission)")
    print(f"compare step alone: {compare_seconds:.3f} s; pairs sharing any fingerprint (all the index looks at): "
          f"{len(candidates)} of {len(docs) * (len(docs) - 1) // 2} possible")
    print(f"pairs at or above the threshold {assignment.spec.similarity.threshold}: {len(pairs)}")
    for copy, original in planted.items():
        score = found.get(frozenset((copy, original)))
        print(f"  planted {copy} <- {original}: " + (f"found, score {score:.2f}" if score is not None else "NOT found"))
    others = [p for p in pairs if planted.get(p.student_a) != p.student_b and planted.get(p.student_b) != p.student_a]
    print(f"pairs that were not planted: {len(others)}"
          + "".join(f"\n  {p.student_a} {p.student_b} {p.score:.2f}" for p in others[:10]))
    unplanted = [p.score for p in low if planted.get(p.student_a) != p.student_b and planted.get(p.student_b) != p.student_a]
    print(f"highest score of a pair that was not planted: {max(unplanted, default=0):.2f}")
    batch = per_submission * len(items)
    source = f"measured, --grade {args.grade}" if args.grade else "benchmarks/batch_speed.py"
    print(f"batch grading estimate: {len(items)} x {per_submission:.2f} s ({source}) = {batch:.0f} s; "
          f"similarity share: {100 * seconds / (batch + seconds):.2f} %")


if __name__ == "__main__":
    main()
