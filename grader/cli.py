"""Command line: `grader check` for one submission, `grader grade` for many.

Imports are lazy so that `grader --help` answers at once (no torch, no pydantic at start-up).
Exit status: 0 when results were written, whatever the scores; 2 for usage errors; 1 for a grader
fault.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported lazily at run time (start-up speed)
    from rich.console import Console

    from grader.result import Graded
    from grader.spec import LoadedAssignment

EXIT_OK, EXIT_FAULT, EXIT_USAGE = 0, 1, 2


def _positive_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < 1e6:
        raise argparse.ArgumentTypeError(f"{text!r}: give a maximum grade above 0 (Moodle's default is 100)")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grader", description="Grade PyTorch model assignments in a sandbox.")
    parser.add_argument("--version", action="store_true", help="print the grader's version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = commands.add_parser("check", help="grade one submission and print a summary")
    check.add_argument("submission", type=Path, help=".ipynb, .py, or .zip holding one")
    _common_options(check)
    check.add_argument("--json", type=Path, metavar="FILE", help="write the result JSON here")
    check.add_argument("--html", type=Path, metavar="FILE", help="write the HTML report here")
    check.add_argument("--public", action="store_true",
                       help="score on the assignment's validation rows, as a student's self-check does "
                            "(grader.check; without [dataset.validation], the test rows as always)")
    check.add_argument("--as-student", action="store_true",
                       help="show, write and report only what a student may see now (no hidden check, no "
                            "instructor's note); without it, everything, as an instructor sees it")

    grade = commands.add_parser("grade", help="grade many submissions into an output folder")
    grade.add_argument("inputs", type=Path, nargs="+", metavar="INPUT", help="files or folders of submissions")
    _common_options(grade)
    grade.add_argument("-o", "--out", type=Path, required=True, metavar="OUTDIR", help="output folder")
    grade.add_argument("-j", "--jobs", type=int, metavar="N", help="parallel workers (default: the number of cores)")
    grade.add_argument("--force", action="store_true", help="grade everything again, even unchanged submissions")
    grade.add_argument("--cold", action="store_true",
                       help="start every sandbox from a fresh interpreter instead of a warm fork server (slower)")
    grade.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="grade on this Dask distributed scheduler")
    grade.add_argument("--lms", choices=["moodle", "canvas"],
                       help="the downloads given are from this LMS: only its layout is recognised (on the "
                            "inputs given, never inside a folder), and what it imports is written: Moodle's grading "
                            "worksheet and feedback zip, or Canvas's gradebook CSV (without --lms, a download of "
                            "either given as an input is still read)")
    grade.add_argument("--keep", choices=["latest", "best"], default="latest",
                       help="which submission counts when a student handed in several (default: latest)")
    grade.add_argument("--lms-assignment-id", metavar="ID",
                       help="Canvas: the assignment's id (the number in its URL), for the gradebook column")
    grade.add_argument("--lms-max-grade", metavar="N", type=_positive_number,
                       help="the LMS assignment's maximum grade (Moodle's default is 100): totals are scaled to it "
                            "(default: the assignment's own maximum, which the LMS's must then equal)")

    validate = commands.add_parser("validate", help="check an assignment (its spec, messages and data) and say what "
                                                    "it grades")
    _assignment_options(validate)

    calibrate = commands.add_parser("calibrate", help="measure a reference solution over many seeds against "
                                                      "baselines and propose each metric's thresholds")
    calibrate.add_argument("solution", type=Path, help="the reference solution (.ipynb, .py or .zip)")
    _assignment_options(calibrate)
    calibrate.add_argument("--seeds", type=int, default=30, metavar="N", help="initialisations to train (default: 30)")
    calibrate.add_argument("--margin", type=float, default=0.25, metavar="F",
                           help="how much full credit eases from the reference's worst group of seeds "
                                "(0 to 1, default: 0.25)")
    calibrate.add_argument("--write", action="store_true", help="write the proposals into assignment.toml")

    new = commands.add_parser("new", help="draft an assignment folder from a reference solution: its spec (classes, "
                                          "sizes, captured layers, measured thresholds), a students' template, a README")
    new.add_argument("name", help="the assignment's id (lower-case letters, digits and _)")
    new.add_argument("--from", dest="solution", type=Path, required=True, metavar="SOLUTION",
                     help="the reference solution (.ipynb or .py)")
    new.add_argument("-o", "--out", type=Path, default=Path("."), metavar="DIR",
                     help="where the folder NAME is made (default: here)")
    new.add_argument("--lang", choices=["ja", "en"], default="ja", help="the students' language (default: ja)")
    new.add_argument("--seeds", type=int, default=10, metavar="N",
                     help="initialisations the thresholds are measured over (default: 10)")
    new.add_argument("--dataset", default="iris", metavar="NAME",
                     help="the data set the models are fed (iris, wine, breast_cancer; default: iris)")

    kit = commands.add_parser("kit", help="write what students get for self-checks: the template notebook and a "
                                          "wheel of the assignment's public checks (pip install-able offline)")
    _assignment_options(kit)
    kit.add_argument("-o", "--out", type=Path, required=True, metavar="DIR", help="where the kit is written")

    doctor = commands.add_parser("doctor", help="say which isolation this machine gives student code, and why")
    doctor.add_argument("--json", action="store_true", help="print the findings as JSON")
    doctor.add_argument("--strict", action="store_true", help="exit with status 1 when runs would not be isolated")

    serve = commands.add_parser("serve", help="run the upload hook service (HTTP) that LMSs and CI call")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    serve.add_argument("--data", type=Path, default=Path("grader-data"), metavar="DIR",
                       help="state: SQLite file, uploads, results, tokens.toml (default: ./grader-data)")
    serve.add_argument("--assignments", type=Path, metavar="DIR",
                       help="folder of assignment folders to serve (default: those of GRADER_ASSIGNMENTS and the "
                            "bundled ones)")
    serve.add_argument("--workers", type=int, default=1, metavar="N",
                       help="submissions graded at once (default: 1; 0 queues without grading)")
    serve.add_argument("--max-upload-mb", type=float, default=20, metavar="MB", help="upload size limit (default: 20)")
    serve.add_argument("--lang", choices=["ja", "en"], help="language of reports (default: each assignment's)")
    serve.add_argument("--body-timeout", type=float, default=30, metavar="SECONDS",
                       help="cut off a client that sends nothing for this long in the middle of an upload "
                            "(408; default: 30)")
    from grader.apps.server.quotas import Quotas

    quotas = Quotas()
    serve.add_argument("--uploads-per-minute", type=int, default=quotas.uploads_per_window, metavar="N",
                       help=f"uploads one student may make per --rate-window (default: {quotas.uploads_per_window}; "
                            "0: no limit; instructor tokens are not limited)")
    serve.add_argument("--rate-window", type=float, default=quotas.window_s, metavar="SECONDS",
                       help=f"the window --uploads-per-minute counts in (default: {quotas.window_s:g})")
    serve.add_argument("--max-queued-per-student", type=int, default=quotas.max_queued_per_student, metavar="N",
                       help="submissions of one student waiting to be graded (default: "
                            f"{quotas.max_queued_per_student}; 0: no limit; not applied to instructor tokens)")
    serve.add_argument("--max-queue", type=int, default=quotas.max_queue, metavar="N",
                       help=f"submissions waiting to be graded in all, from anyone (default: {quotas.max_queue}; "
                            "0: no limit)")
    serve.add_argument("--init-tokens", action="store_true",
                       help="add an instructor token to DATA/tokens.toml (made if need be), print it, and exit")
    serve.add_argument("--student-token", metavar="STUDENT_ID",
                       help="print a signed token (link) for one student of -a ASSIGNMENT, and exit")
    serve.add_argument("-a", "--assignment", action="append", metavar="ASSIGNMENT",
                       help="with --init-tokens: the assignments the token sees (repeat; default: all); "
                            "with --student-token: the assignment")
    serve.add_argument("--name", default="instructor", help="with --init-tokens: whose token it is")
    serve.add_argument("--days", type=float, default=180, help="with --student-token: days until it expires")
    serve.add_argument("--public-url", metavar="URL",
                       help="the service's address as browsers and LMSs reach it (https://grader.example.edu); "
                            "LTI URLs are built on it (default: each request's own)")
    lti = serve.add_argument_group("LTI 1.3 (README: \"LTI 1.3 from Moodle and Canvas\")")
    lti.add_argument("--register-lti", metavar="NAME",
                     help="register an LMS under a short name (moodle, canvas) in DATA/lti/platforms.json, print "
                          "the URLs to enter in the LMS, and exit")
    lti.add_argument("--issuer", help="with --register-lti: the platform's issuer (iss)")
    lti.add_argument("--client-id", help="with --register-lti: the client id the LMS gave this tool")
    lti.add_argument("--deployment-id", action="append", metavar="ID",
                     help="with --register-lti: a deployment id the LMS shows (repeat for several)")
    lti.add_argument("--auth-url", help="with --register-lti: the LMS's OIDC authentication URL")
    lti.add_argument("--token-url", help="with --register-lti: the LMS's access token URL")
    lti.add_argument("--jwks-url", help="with --register-lti: the LMS's public keyset URL")
    lti.add_argument("--token-audience", help="with --register-lti: the token endpoint's audience, where it is not "
                                              "the token URL (Brightspace)")
    lti.add_argument("--rotate-lti-key", action="store_true",
                     help="add a new signing key (published now, signing after an hour) and exit")

    gradescope = commands.add_parser("gradescope", help="Gradescope: build the autograder zip, or grade inside it")
    gradescope_commands = gradescope.add_subparsers(dest="gradescope_command", metavar="ACTION", required=True)
    build = gradescope_commands.add_parser("build", help="write the autograder zip to upload to Gradescope")
    build.add_argument("-a", "--assignment", default="iris_basics",
                       help="a name on the search path (GRADER_ASSIGNMENTS, then the bundled assignments) or a path")
    build.add_argument("-o", "--out", type=Path, default=Path("autograder.zip"), metavar="ZIP", help="the zip to write")
    build.add_argument("--lang", choices=["ja", "en"], help="language of messages (default: the assignment's)")
    build.add_argument("--mode", choices=["definitions", "full"], help="execution mode (default: the assignment's)")
    build.add_argument("--visibility", choices=["visible", "after_due_date", "after_published", "hidden"],
                       default="visible", help="when students see the tests (default: visible)")
    gradescope_run = gradescope_commands.add_parser("run", help="grade /autograder/submission (what run_autograder does)")
    gradescope_run.add_argument("--source", type=Path, default=Path("/autograder/source"))
    gradescope_run.add_argument("--submission", type=Path, default=Path("/autograder/submission"))
    gradescope_run.add_argument("--results", type=Path, default=Path("/autograder/results"))
    gradescope_run.add_argument("--metadata", type=Path, default=Path("/autograder/submission_metadata.json"))
    return parser


def _common_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("-a", "--assignment", default="iris_basics",
                         help="a name on the search path (--assignments, GRADER_ASSIGNMENTS, then the bundled "
                              "assignments) or a path to a folder holding assignment.toml (default: iris_basics)")
    command.add_argument("--assignments", type=Path, metavar="DIR",
                         help="look for -a NAME in this folder of assignment folders first")
    command.add_argument("--lang", choices=["ja", "en"], help="language of messages (default: the assignment's)")
    command.add_argument("--mode", choices=["definitions", "full"], help="execution mode (default: the assignment's)")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from grader.version import __version__

        print(__version__)
        return EXIT_OK
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE

    if args.command == "doctor":
        from grader.sandbox.doctor import main as doctor

        return doctor(as_json=args.json, strict=args.strict)
    if args.command == "serve":
        return _serve(args)
    if args.command == "validate":
        return _validate(args)
    if args.command == "calibrate":
        return _calibrate(args)
    if args.command == "new":
        return _new(args)
    if args.command == "gradescope" and args.gradescope_command == "run":
        from grader.apps.gradescope import run

        run(args.source, args.submission, args.results, args.metadata)
        return EXIT_OK

    from grader.pipeline import load_assignment
    from grader.spec import AssignmentError

    try:
        assignment = load_assignment(args.assignment, [args.assignments] if getattr(args, "assignments", None) else [])
    except AssignmentError as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.command == "check":
        return _check(args, assignment)
    if args.command == "kit":
        from grader.apps.kit import write_kit

        made = write_kit(assignment, args.out)
        print(f"kit: {made.wheel}" + (f" and {made.template}" if made.template else ""))
        for left_out in made.withheld:
            print(f"  left out: {left_out}")
        print(f"students: pip install {made.wheel.name}, then in the notebook: import grader; "
              f"grader.check(\"{assignment.spec.models[0].id}\")")
        return EXIT_OK
    if args.command == "gradescope":
        from grader.apps.gradescope import build_autograder

        path = build_autograder(assignment, args.out, lang=args.lang, mode=args.mode, visibility=args.visibility)
        print(f"autograder: {path} (upload it under Configure Autograder > Zip file upload)")
        return EXIT_OK
    return _grade(args, assignment)


def _check(args: argparse.Namespace, assignment: LoadedAssignment) -> int:
    from rich.console import Console

    from grader.pipeline import grade_safely, render_report_safely

    if not args.submission.exists():
        print(f"grader: {args.submission}: no such file", file=sys.stderr)
        return EXIT_USAGE
    console = Console()
    if args.public:
        assignment = assignment.public()
    # Every step goes through the fault barrier, and the summary is rendered before anything is
    # written, so that the JSON, the report and the terminal all say the same (`error` after a fault).
    graded = grade_safely(args.submission, assignment, lang=args.lang, mode=args.mode)
    if args.as_student:
        graded = graded.for_students(assignment.spec.past_due(datetime.now(UTC)))
    graded, summary = _summary_safely(console, graded, assignment)
    report = None
    if args.html:
        rendered, report = render_report_safely(graded, assignment)
        if rendered is not graded:
            graded, summary = rendered, _summary_safely(console, rendered, assignment)[1]
    written = []
    try:
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(graded.result.to_json(), encoding="utf-8")
            written.append(f"JSON: {args.json}")
        if report is not None:
            args.html.parent.mkdir(parents=True, exist_ok=True)
            args.html.write_text(report, encoding="utf-8")
            written.append(f"HTML: {args.html}")
    except OSError as exc:
        print(f"grader: cannot write {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAULT
    sys.stdout.write(summary)
    for line in written:
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    return EXIT_FAULT if graded.result.status == "error" else EXIT_OK


def _summary_safely(console: Console, graded: Graded, assignment: LoadedAssignment) -> tuple[Graded, str]:
    """The terminal summary as text, or, when it cannot be rendered, the error result and a plain line
    (control characters replaced: the message may quote what the submission made)."""
    from grader.outputs.console import print_result
    from grader.pipeline import fault_graded

    try:
        with console.capture() as capture:
            print_result(console, graded.result, assignment.messages)
        return graded, capture.get()
    except Exception as exc:
        fault = fault_graded(graded.result, assignment, exc)
        line = f"{fault.result.submission.student_id}: {fault.result.status}: {fault.result.message}"
        return fault, re.sub(r"[\x00-\x1f\x7f-\x9f]", "?", line) + "\n"


def _grade(args: argparse.Namespace, assignment: LoadedAssignment) -> int:
    import signal

    from grader.apps.batch import grade_batch

    missing = [str(p) for p in args.inputs if not p.exists()]
    if missing:
        print(f"grader: no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE
    if args.jobs is not None and args.jobs < 1:
        print("grader: -j must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    try:
        summary = grade_batch(args.inputs, assignment, args.out, lang=args.lang, mode=args.mode, jobs=args.jobs,
                              force=args.force, scheduler=args.scheduler, lms=args.lms, keep=args.keep,
                              lms_assignment_id=args.lms_assignment_id, warm=not args.cold,
                              lms_max_grade=args.lms_max_grade)
    except KeyboardInterrupt:  # a second Ctrl-C: the first one's clean stop was not awaited
        print("grader: stopped at once; the results written so far are kept, the gradebook may be missing or "
              "out of date (run the same command again)", file=sys.stderr)
        return 128 + signal.SIGINT
    if summary.interrupted:  # as a shell reports a command a signal ended: 130 for Ctrl-C, 143 for SIGTERM
        return 128 + (summary.stop_signal or signal.SIGINT)
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    if args.register_lti or args.rotate_lti_key:
        return _lti_setup(args)
    if args.init_tokens:
        from grader.apps.server.auth import init_tokens

        path, token = init_tokens(args.data, args.name, args.assignment)
        print(f"added an instructor token for {args.name} ({', '.join(args.assignment or ['all assignments'])}) "
              f"to {path}\n(only its sha256 is kept there: copy the token now)\n\n{token}")
        return EXIT_OK
    if args.student_token:
        from grader.apps.server.auth import AuthConfigError, Tokens

        if not args.assignment or len(args.assignment) != 1:
            print("grader: --student-token needs one -a ASSIGNMENT", file=sys.stderr)
            return EXIT_USAGE
        try:
            token, expires = Tokens.load(args.data).sign_student(args.assignment[0], args.student_token, args.days)
        except AuthConfigError as exc:
            print(f"grader: {exc}", file=sys.stderr)
            return EXIT_USAGE
        print(token)
        return EXIT_OK
    if args.workers < 0 or not 0 < args.max_upload_mb <= 2048 or not 0 < args.body_timeout <= 3600:
        print("grader: --workers must be 0 or more, --max-upload-mb between 0 and 2048 and --body-timeout "
              "between 0 and 3600 seconds", file=sys.stderr)
        return EXIT_USAGE
    limits = (args.uploads_per_minute, args.max_queued_per_student, args.max_queue)
    if min(limits) < 0 or not 0 < args.rate_window <= 86400:
        print("grader: --uploads-per-minute, --max-queued-per-student and --max-queue must be 0 (no limit) or more, "
              "and --rate-window between 0 and 86400 seconds", file=sys.stderr)
        return EXIT_USAGE
    from grader.apps.server import serve
    from grader.apps.server.quotas import Quotas
    from grader.apps.server.storage import missing_database

    problem = missing_database(args.data)
    if problem is not None:
        print(f"grader: {problem}", file=sys.stderr)
        return EXIT_USAGE

    quotas = Quotas(uploads_per_window=args.uploads_per_minute, window_s=args.rate_window,
                    max_queued_per_student=args.max_queued_per_student, max_queue=args.max_queue)
    serve(args.data, host=args.host, port=args.port, assignments_dir=args.assignments, workers=args.workers,
          max_upload_mb=args.max_upload_mb, lang=args.lang, quotas=quotas, public_url=args.public_url,
          body_idle_s=args.body_timeout)
    return EXIT_OK


def _validate(args: argparse.Namespace) -> int:
    from grader.apps.validate import summary, validate

    checked = validate(args.assignment, (args.assignments,) if args.assignments else ())
    if checked.assignment is None:
        print(f"{checked.folder}: {len(checked.problems)} problem(s)", file=sys.stderr)
        for problem in checked.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_USAGE
    print("\n".join(summary(checked.assignment)))
    return EXIT_OK


def _calibrate(args: argparse.Namespace) -> int:
    from grader.apps.calibrate import calibrate, table, write
    from grader.pipeline import load_assignment
    from grader.spec import AssignmentError

    if not 1 <= args.seeds <= 200 or not 0 <= args.margin < 1:
        print("grader: --seeds must be 1 to 200 and --margin 0 to below 1", file=sys.stderr)
        return EXIT_USAGE
    try:
        loaded = load_assignment(args.assignment, (args.assignments,) if args.assignments else ())
    except AssignmentError as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not args.solution.is_file():
        print(f"grader: {args.solution}: no such file", file=sys.stderr)
        return EXIT_USAGE
    found = calibrate(loaded, args.solution, args.seeds, args.margin)
    print("\n".join(table(found, args.seeds)))
    if args.write:
        print(f"wrote the proposed thresholds into {write(loaded, found)}")
    return EXIT_OK


def _assignment_options(command: argparse.ArgumentParser) -> None:
    """-a (required) and --assignments, as the authoring commands take them."""
    command.add_argument("-a", "--assignment", required=True,
                         help="a folder holding assignment.toml, or a name on the search path")
    command.add_argument("--assignments", type=Path, metavar="DIR",
                         help="look for -a NAME in this folder of assignment folders first")


def _new(args: argparse.Namespace) -> int:
    from grader.apps.new_assignment import DraftError, new_assignment
    from grader.spec import AssignmentError

    if not args.solution.is_file() or args.solution.suffix not in (".py", ".ipynb"):
        print(f"grader: {args.solution}: give a reference solution, a .py or .ipynb file", file=sys.stderr)
        return EXIT_USAGE
    if not 1 <= args.seeds <= 200:
        print("grader: --seeds must be 1 to 200", file=sys.stderr)
        return EXIT_USAGE
    try:
        drafted = new_assignment(args.name, args.solution, args.out, lang=args.lang, seeds=args.seeds,
                                 dataset=args.dataset)
    except (DraftError, AssignmentError) as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"drafted {drafted.folder}: models {', '.join(drafted.models)}")
    for reason in drafted.skipped:
        print(f"  not drafted: {reason}")
    print(f"the solution scores {drafted.score:g} / {drafted.max_score:g} on it")
    for failing in drafted.failing:
        print(f"  ! {failing}")
    return EXIT_OK


def _lti_setup(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from grader.apps.server.lti.keys import ToolKeys
    from grader.apps.server.lti.platforms import Platform, PlatformError, Platforms
    from grader.apps.server.lti.tool import LTI_FOLDER

    folder = Path(args.data) / LTI_FOLDER
    if args.rotate_lti_key:
        key = ToolKeys(folder).rotate()
        print(f"added signing key {key.kid}: published at /lti/jwks now, signing in an hour")
        return EXIT_OK
    fields = {"name": args.register_lti, "issuer": args.issuer, "client_id": args.client_id,
              "deployment_ids": args.deployment_id or [], "auth_login_url": args.auth_url,
              "auth_token_url": args.token_url, "key_set_url": args.jwks_url, "token_audience": args.token_audience}
    missing = [f"--{flag}" for flag, key in (("issuer", "issuer"), ("client-id", "client_id"),
                                             ("deployment-id", "deployment_ids"), ("auth-url", "auth_login_url"),
                                             ("token-url", "auth_token_url"), ("jwks-url", "key_set_url"))
               if not fields[key]]
    if missing:
        print(f"grader: --register-lti needs {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE
    try:
        Platforms(folder).add(Platform.model_validate(fields))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        print(f"grader: --register-lti: {problems}", file=sys.stderr)
        return EXIT_USAGE
    except PlatformError as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return EXIT_USAGE
    ToolKeys(folder).ensure()
    base = (args.public_url or f"http://{args.host}:{args.port}").rstrip("/")
    print(f"registered {args.register_lti} ({args.issuer}) in {folder}. In the LMS's tool registration:\n"
          f"  Tool URL / Target link URI / Redirect URI:  {base}/lti/launch\n"
          f"  Initiate login URL / OIDC login URL:        {base}/lti/login\n"
          f"  Public keyset URL / JWK Set URL:            {base}/lti/jwks\n"
          f"  Deep linking URL (content selection):       {base}/lti/launch\n"
          "  Custom parameter, where a link is made by hand:  assignment=<assignment id>")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
