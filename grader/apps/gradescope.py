"""Gradescope: build the autograder zip, and grade inside it (`run_autograder`).

The zip (lms-formats.md §3) holds at its root:

    setup.sh                  Gradescope runs it once, as root, when it builds the image: installs
                              Python (3.11 where the image's is older), torch (CPU), the grader from
                              package/, and the sandbox (setup-sandbox.sh)
    setup-sandbox.sh          scripts/setup-sandbox.sh: bubblewrap, setpriv, libseccomp2, the sandbox user
    run_autograder            grades /autograder/submission into /autograder/results/results.json
    grader-gradescope.json    the settings chosen at build time (language, mode, visibility)
    assignment/               the assignment folder (assignment.toml ...)
    package/                  the grader's source (pyproject.toml, grader/)

`run_autograder` reads its paths from the environment so that it runs anywhere (the tests run it in
a temporary folder): GRADESCOPE_SOURCE (/autograder/source), GRADESCOPE_SUBMISSION
(/autograder/submission), GRADESCOPE_RESULTS (/autograder/results), GRADESCOPE_METADATA
(/autograder/submission_metadata.json) and GRADER_PYTHON (/autograder/venv/bin/python); arguments
after it (`--submission DIR` ...) win over those.

results.json has one test per check (`<model>: <check>`, its score, max_score, `passed`/`failed`,
the message and hint as output, the visibility chosen at build time), the total as `score`, and the
summary as `output`. A file that cannot be graded gets no tests, score 0 and the reason.
"""

from __future__ import annotations

import argparse
import html
import json
import stat
import sys
import time
import zipfile
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.version import __version__

if TYPE_CHECKING:
    from grader.i18n import Lang
    from grader.result import Result
    from grader.spec import LoadedAssignment, Mode

VISIBILITIES = ("visible", "after_due_date", "after_published", "hidden")
CONFIG_FILE = "grader-gradescope.json"
PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the folder holding pyproject.toml and grader/
TORCH_PIN = "torch==2.13.0"
SANDBOX_SETUP = PACKAGE_ROOT / "scripts" / "setup-sandbox.sh"

SETUP_SH = f"""#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu 22.04 or 24.04).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SOURCE="${{GRADESCOPE_SOURCE:-/autograder/source}}"
VENV="${{GRADER_VENV:-/autograder/venv}}"
apt-get update -y
apt-get install -y --no-install-recommends python3 python3-venv python3-pip
# The grader needs Python 3.11 or later: Ubuntu 24.04's python3 is 3.12; 22.04's is 3.10, and its
# universe archive has 3.11.
PYTHON=python3
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    apt-get install -y --no-install-recommends python3.11 python3.11-venv
    PYTHON=python3.11
fi
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install --upgrade pip
# The CPU build of torch: the default one pulls several GB of CUDA libraries.
"$VENV/bin/pip" install "{TORCH_PIN}" --index-url https://download.pytorch.org/whl/cpu
"$VENV/bin/pip" install "$SOURCE/package[sandbox]"
# The sandbox: bubblewrap, setpriv, libseccomp2 and the unprivileged user the student's code runs as.
# Without them grading still runs, unisolated, and results.json says so (not_isolated).
if [ -f "$SOURCE/setup-sandbox.sh" ]; then
    sh "$SOURCE/setup-sandbox.sh" "$VENV"
else
    echo "setup.sh: no setup-sandbox.sh in this zip (built from an installed grader): grading runs unisolated" >&2
fi
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Grades the submission with the grader in this zip (see grader/apps/gradescope.py). Whatever happens,
# results.json is left behind: where the grader cannot even start (no Python, a Python it does not
# run on), a zero with the reason, as Gradescope asks of an autograder.
set -u
SOURCE="${GRADESCOPE_SOURCE:-/autograder/source}"
PYTHON="${GRADER_PYTHON:-/autograder/venv/bin/python}"
RESULTS="${GRADESCOPE_RESULTS:-/autograder/results}"
export PYTHONPATH="$SOURCE/package${PYTHONPATH:+:$PYTHONPATH}"
rm -f "$RESULTS/results.json"
"$PYTHON" -m grader.apps.gradescope run \\
    --source "$SOURCE" \\
    --submission "${GRADESCOPE_SUBMISSION:-/autograder/submission}" \\
    --results "$RESULTS" \\
    --metadata "${GRADESCOPE_METADATA:-/autograder/submission_metadata.json}" \\
    "$@"
status=$?
if [ ! -s "$RESULTS/results.json" ]; then
    mkdir -p "$RESULTS"
    printf '%s\\n' '{"score": 0.0, "stdout_visibility": "visible", "output": "The autograder could not run (exit status '"$status"'): the grader did not start on this image, so nothing was graded. This is not your fault; tell your instructor (the log above says why)."}' > "$RESULTS/results.json"
    echo "run_autograder: the grader exited with status $status before writing results.json; wrote a zero with the reason" >&2
fi
exit 0
"""


def build_autograder(assignment: LoadedAssignment, output: Path, lang: Lang | None = None, mode: Mode | None = None,
                     visibility: str = "visible") -> Path:
    """Write the autograder zip for `assignment` (a LoadedAssignment) to `output`."""
    if visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {VISIBILITIES}")
    config = {"grader_version": __version__, "assignment": assignment.spec.id, "lang": lang or assignment.spec.lang,
              "mode": mode or assignment.spec.mode, "visibility": visibility}
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        _add_text(archive, "setup.sh", SETUP_SH, executable=True)
        _add_text(archive, "run_autograder", RUN_AUTOGRADER, executable=True)
        if SANDBOX_SETUP.is_file():  # in a source checkout (an installed wheel has no scripts/)
            archive.write(SANDBOX_SETUP, "setup-sandbox.sh")
        _add_text(archive, CONFIG_FILE, json.dumps(config, indent=2) + "\n")
        for path in _files(assignment.folder, skip_dirs={"examples"}):
            archive.write(path, f"assignment/{path.relative_to(assignment.folder).as_posix()}")
        for name in ("pyproject.toml", "README.md"):
            if (PACKAGE_ROOT / name).is_file():
                archive.write(PACKAGE_ROOT / name, f"package/{name}")
        for path in _files(PACKAGE_ROOT / "grader"):
            archive.write(path, f"package/grader/{path.relative_to(PACKAGE_ROOT / 'grader').as_posix()}")
    return output


def _add_text(archive: zipfile.ZipFile, name: str, text: str, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = ((0o755 if executable else 0o644) | stat.S_IFREG) << 16
    archive.writestr(info, text.replace("\r\n", "\n"))


def _files(folder: Path, skip_dirs: Collection[str] = frozenset()) -> list[Path]:
    found: list[Path] = []
    for path in sorted(folder.rglob("*")):
        parts = path.relative_to(folder).parts
        if (path.is_file() and not any(p.startswith(".") or p == "__pycache__" for p in parts)
                and not (len(parts) > 1 and parts[0] in skip_dirs) and path.suffix != ".pyc"):
            found.append(path)
    return found


# -- inside Gradescope ---------------------------------------------------------------------------
def find_submission(folder: Path, scratch: Path) -> Path | None:
    """The file to grade among what the student uploaded: the one notebook or module, or all of them
    packed into one zip (the submission reader then grades the notebook, or says which ones clash)."""
    from grader.intake.collect import pack_files
    from grader.intake.files import is_junk, is_submission_file

    files = [p for p in sorted(folder.rglob("*")) if p.is_file() and not is_junk(p.relative_to(folder).parts)]
    gradeable = [p for p in files if is_submission_file(p.name)]
    if len(gradeable) == 1:
        return gradeable[0]
    if gradeable:
        return pack_files([(p.relative_to(folder).as_posix(), p) for p in gradeable], scratch / "submission.zip")
    return files[0] if files else None


def student_from_metadata(path: Path) -> str:
    try:
        users = json.loads(path.read_text(encoding="utf-8")).get("users") or []
        user = users[0]
        return str(user.get("email") or user.get("id") or "submission")
    except (OSError, ValueError, AttributeError, IndexError, KeyError, TypeError):
        return "submission"


MAX_HTML_OUTPUT = 900 * 1024  # the report in results.json; a larger one (long captured output) stays text


def results_json(result: Result, assignment: LoadedAssignment, visibility: str, execution_time: float,
                 report: str | None = None) -> dict[str, Any]:
    """Gradescope's results.json from a grader Result; with the HTML report (the students' view of
    it), its content is the top-level output (Gradescope renders `output_format: html`, sanitised:
    the report's own script and stylesheet are left out, its text, tables and SVG figures go in).

    Each check is a test with its own visibility: a `hidden` check is Gradescope's `hidden`, an
    `after_due_date` one Gradescope's, a visible one the visibility chosen at build time. The
    top-level output, which every student sees, says only what the visible checks say; the score is
    the grade, every check's points."""
    from grader.i18n import Messages

    messages = Messages(result.lang, assignment.messages)
    titles = {m.id: m.title.get(result.lang) or m.id for m in assignment.spec.models}
    model_number = {m.id: index for index, m in enumerate(assignment.spec.models, start=1)}
    tests: list[dict[str, Any]] = []
    counters: dict[str, int] = {}
    for check in result.checks:
        counters[check.model] = counters.get(check.model, 0) + 1
        name = check.id.split(".", 1)[1]
        key = f"check.{name}"
        label = check.title or (messages.text(key) if _has_key(key) else name)
        output = check.message + (f"\n{messages.text('label.hint')}: {check.hint}" if check.hint else "")
        tests.append({
            "name": f"{titles.get(check.model, check.model)}: {label} ({check.id})",
            "number": f"{model_number.get(check.model, 0)}.{counters[check.model]}",
            "score": check.score, "max_score": check.max_score,
            "status": "passed" if check.status == "passed" else "failed",
            "output": output, "tags": [check.model],
            "visibility": visibility if check.visibility == "visible" else check.visibility,
        })
    shown = result.for_students(past_due=False)
    lines = [messages.text("gradescope.summary", score=f"{shown.score:g}", max=f"{shown.max_score:g}")]
    if shown.withheld:
        lines.append(messages.text("report.withheld"))
    if result.message:
        lines.append(result.message)
    lines += [f"- {incident.message}" for incident in result.incidents if incident.kind != "not_isolated"]
    not_isolated = [incident.message for incident in result.incidents if incident.kind == "not_isolated"]
    output, output_format = "\n".join(lines), "text"
    body = _report_body(report) if report is not None else None
    if body is not None and len(body) <= MAX_HTML_OUTPUT:
        output, output_format = "<p>" + "<br>".join(html.escape(line) for line in lines) + "</p>\n" + body, "html"
    return {
        "score": result.score,
        "execution_time": round(execution_time),
        "output": output,
        "output_format": output_format,
        "test_output_format": "text",
        "visibility": visibility,
        "stdout_visibility": "hidden",
        "tests": tests,
        # For the instructor (Gradescope shows extra_data to no student): whether the submission ran in
        # the sandbox, and why not where it did not (an image without bubblewrap).
        "extra_data": {"status": result.status, "max_score": result.max_score, "metrics": result.metrics,
                       "grader_version": result.grader_version, "isolated": not not_isolated,
                       "not_isolated": not_isolated[0] if not_isolated else None},
    }


def _report_body(page: str) -> str | None:
    """The report's <main>: what it says, without its page (head, stylesheet, script)."""
    start, end = page.find("<main>"), page.rfind("</main>")
    return page[start:end + len("</main>")] if 0 <= start < end else None


def _has_key(key: str) -> bool:
    from grader.i18n import CATALOGUE

    return key in CATALOGUE


def run(source: Path, submission: Path, results: Path, metadata: Path) -> dict[str, Any]:
    """Grade the submission folder with the assignment in `source`; write results.json (and the
    HTML report beside it); return the results."""
    import tempfile

    from grader.i18n import Messages
    from grader.pipeline import grade_safely, load_assignment, render_report_safely, student_reports_safely

    started = time.perf_counter()
    config = json.loads((source / CONFIG_FILE).read_text(encoding="utf-8"))
    assignment = load_assignment(str(source / "assignment"))
    visibility = config.get("visibility", "visible")
    results.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="grader-gradescope-") as scratch:
        path = find_submission(submission, Path(scratch)) if submission.is_dir() else None
        if path is None:
            messages = Messages(config.get("lang") or assignment.spec.lang, assignment.messages)
            data = {"score": 0.0, "execution_time": round(time.perf_counter() - started),
                    "output": messages.text("gradescope.no_file"), "output_format": "text", "visibility": visibility,
                    "stdout_visibility": "hidden", "tests": [], "extra_data": {"status": "invalid"}}
        else:
            student_id = student_from_metadata(metadata)
            # A grader fault (grading or the report) still ends in a results.json that says so.
            graded = grade_safely(path, assignment, lang=config.get("lang"), mode=config.get("mode"),
                                  student_id=student_id)
            graded, report = render_report_safely(graded, assignment)
            (results / "report.html").write_text(report, encoding="utf-8")
            students = student_reports_safely(graded, assignment)  # the output is shown to every student
            data = results_json(graded.result, assignment, visibility, time.perf_counter() - started,
                                students.before_due if students is not None else report)
    (results / "results.json").write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.apps.gradescope")
    commands = parser.add_subparsers(dest="command", required=True)
    runner = commands.add_parser("run", help="grade inside Gradescope (what run_autograder calls)")
    runner.add_argument("--source", type=Path, default=Path("/autograder/source"))
    runner.add_argument("--submission", type=Path, default=Path("/autograder/submission"))
    runner.add_argument("--results", type=Path, default=Path("/autograder/results"))
    runner.add_argument("--metadata", type=Path, default=Path("/autograder/submission_metadata.json"))
    args = parser.parse_args(argv)
    data = run(args.source, args.submission, args.results, args.metadata)
    print(data["output"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
