"""The intake under a long fuzz run, and under the zip that once took the grader to 8.4 GB.

    .venv/bin/python benchmarks/fuzz_intake.py [--examples 50000] [--no-attack]

1. The attack of issue 18: a zip of 9,000 helper modules of 1 MB each (about 9.7 MB zipped) read
   with the default `[limits]`: the outcome, the time, and the grader process's peak memory.
2. `--examples` mutated notebooks, modules and zips (a third each; the strategies of
   tests/test_intake_fuzz.py) through `read_submission`, notebooks and modules also through
   `collect_inputs`: how many, the outcomes, exceptions (anything but InvalidSubmission), faults (an
   InvalidSubmission whose message is not in the catalogue or does not fill in), and the peak RSS
   (`ru_maxrss`) at the end.
"""

from __future__ import annotations

import argparse
import collections
import resource
import sys
import tempfile
import time
import traceback
import warnings
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import test_intake_fuzz as fuzz  # noqa: E402
from hypothesis import given, seed, settings  # noqa: E402

from grader.i18n import CATALOGUE, LANGS, Messages  # noqa: E402
from grader.intake.collect import collect_inputs  # noqa: E402
from grader.intake.submission import InvalidSubmission, read_submission  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def attack_zip(path: Path, members: int = 9000, member_bytes: int = 1_000_000) -> Path:
    helper = (b"x = 1\n" * (member_bytes // 6 + 1))[:member_bytes]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("main.py", (ROOT / "solutions" / "iris_basics" / "solution.py").read_bytes())
        for index in range(members):
            archive.writestr(f"helpers/h{index:04d}.py", helper)
    return path


def run_attack(folder: Path) -> None:
    started = time.perf_counter()
    path = attack_zip(folder / "attack.zip")
    built = time.perf_counter() - started
    before = peak_rss_mb()
    started = time.perf_counter()
    try:
        read_submission(path)
        outcome = "read (no limit applied!)"
    except InvalidSubmission as exc:
        outcome = f"invalid: {Messages('en').text(exc.key, **exc.params)}"
    seconds = time.perf_counter() - started
    print(f"attack zip: 9000 x 1 MB helpers, {path.stat().st_size / 2**20:.1f} MB zipped (built in {built:.0f} s)")
    print(f"  outcome: {outcome}")
    print(f"  read in {seconds * 1000:.0f} ms; peak RSS {before:.0f} MB before, {peak_rss_mb():.0f} MB after")
    path.unlink()


def current_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_fuzz(total: int, folder: Path, batch: int) -> None:
    """`total` inputs in seeded batches of `batch`: Hypothesis keeps what it explored for as long as
    one test runs, so one long run would measure Hypothesis; the RSS after each batch shows whether
    the grader's side grows."""
    outcomes: collections.Counter[str] = collections.Counter()
    exceptions: list[str] = []
    faults: list[str] = []
    cases = (("notebook", fuzz.notebooks(), "fuzz.ipynb", True), ("module", fuzz.modules(), "fuzz.py", True),
             ("zip", fuzz.zips(), "fuzz.zip", False))
    generated = 0
    started = time.perf_counter()
    rss_after_batches: list[float] = []

    def one(kind: str, name: str, through_inputs: bool, case) -> None:
        data, limits = case if isinstance(case, tuple) else (case, None)
        own = folder / kind  # collect_inputs sees this one file only
        own.mkdir(exist_ok=True)
        path = own / name
        path.write_bytes(data)
        readers = [lambda: read_submission(path, limits=limits)]
        if through_inputs:
            readers.append(lambda: [read_submission(i.path, i.student_id, limits) for i in collect_inputs([own])])
        for read in readers:
            try:
                read()
                outcomes[f"{kind}: read"] += 1
            except InvalidSubmission as exc:
                outcomes[f"{kind}: {exc.key}"] += 1
                try:
                    assert exc.key in CATALOGUE
                    for lang in LANGS:
                        Messages(lang).text(exc.key, **exc.params)
                except Exception:
                    faults.append(f"{kind}: {exc.key} {exc.params!r:.200}")
            except Exception:
                exceptions.append(f"{kind}: {traceback.format_exc(limit=-3)}"[:2000])

    number = 0
    while generated < total:
        for kind, strategy, name, through_inputs in cases:
            examples = min(batch, total - generated)
            if examples <= 0:
                break

            @seed(number)
            @settings(fuzz.FUZZ, max_examples=examples, derandomize=False)
            @given(case=strategy)
            def run(case) -> None:
                nonlocal generated
                generated += 1
                one(kind, name, through_inputs, case)

            run()
            number += 1
        rss_after_batches.append(current_rss_mb())
    seconds = time.perf_counter() - started
    count = sum(outcomes.values())
    print(f"fuzz: {generated} inputs generated, {count} reads (notebooks and modules read twice, directly and "
          f"through collect_inputs) in {seconds:.0f} s")
    print(f"  exceptions: {len(exceptions)}; faults: {len(faults)}; peak RSS {peak_rss_mb():.0f} MB; RSS after each "
          f"round of batches: {', '.join(f'{v:.0f}' for v in rss_after_batches)} MB")
    for line in sorted(outcomes.items()):
        print(f"    {line[0]}: {line[1]}")
    for text in (exceptions + faults)[:5]:
        print(text)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=2_500, help="inputs per Hypothesis run (default: 2500)")
    parser.add_argument("--no-attack", action="store_true", help="skip building the 9,000-member zip (about 30 s)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print(f"peak RSS after imports: {peak_rss_mb():.0f} MB")
    with tempfile.TemporaryDirectory(prefix="grader-fuzz-bench-") as scratch:
        if not args.no_attack:
            run_attack(Path(scratch))
        run_fuzz(args.examples, Path(scratch), args.batch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
