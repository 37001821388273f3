"""Command line: `grader check` for one submission, `grader grade` for many.

Imports are lazy so that `grader --help` answers at once (no torch, no pydantic at start-up).
Exit status: 0 when results were written, whatever the scores; 2 for usage errors; 1 for a grader
fault.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_FAULT, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grader", description="Grade PyTorch model assignments in a sandbox.")
    parser.add_argument("--version", action="store_true", help="print the grader's version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = commands.add_parser("check", help="grade one submission and print a summary")
    check.add_argument("submission", type=Path, help=".ipynb, .py, or .zip holding one")
    _common_options(check)
    check.add_argument("--json", type=Path, metavar="FILE", help="write the result JSON here")
    check.add_argument("--html", type=Path, metavar="FILE", help="write the HTML report here")

    grade = commands.add_parser("grade", help="grade many submissions into an output folder")
    grade.add_argument("inputs", type=Path, nargs="+", metavar="INPUT", help="files or folders of submissions")
    _common_options(grade)
    grade.add_argument("-o", "--out", type=Path, required=True, metavar="OUTDIR", help="output folder")
    return parser


def _common_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("-a", "--assignment", default="iris_basics", help="name under assignments/ or a path (default: iris_basics)")
    command.add_argument("--lang", choices=["ja", "en"], help="language of messages (default: the assignment's)")
    command.add_argument("--mode", choices=["definitions", "full"], help="execution mode (default: the assignment's)")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from grader import __version__

        print(__version__)
        return EXIT_OK
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE

    from grader.assignment import AssignmentError, load_assignment

    try:
        assignment = load_assignment(args.assignment)
    except AssignmentError as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.command == "check":
        return _check(args, assignment)
    return _grade(args, assignment)


def _check(args: argparse.Namespace, assignment) -> int:
    from rich.console import Console

    from grader.grading import grade_file
    from grader.report.html import write_report
    from grader.summary import print_result

    if not args.submission.exists():
        print(f"grader: {args.submission}: no such file", file=sys.stderr)
        return EXIT_USAGE
    graded = grade_file(args.submission, assignment, lang=args.lang, mode=args.mode)
    console = Console()
    print_result(console, graded.result)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(graded.result.to_json(), encoding="utf-8")
        console.print(f"JSON: {args.json}")
    if args.html:
        write_report(args.html, graded, assignment)
        console.print(f"HTML: {args.html}")
    return EXIT_OK


def _grade(args: argparse.Namespace, assignment) -> int:
    from grader.batch import grade_batch

    missing = [str(p) for p in args.inputs if not p.exists()]
    if missing:
        print(f"grader: no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE
    grade_batch(args.inputs, assignment, args.out, lang=args.lang, mode=args.mode)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
