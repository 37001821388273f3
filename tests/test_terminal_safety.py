"""Nothing a student writes reaches the instructor's terminal as control codes or markup (issue 18, item 6).

The CLI runs with a real pseudo-terminal as its stdout, so rich believes it talks to a terminal (and
colours its own output), and the test reads every byte it wrote.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time
from pathlib import Path

import pytest
from fixtures.lms.builders import write_zip

from grader.outputs.terminal import safe_line, safe_text

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = ROOT / "tests" / "hostile"
GRADER = ROOT / ".venv" / "bin" / "grader"
FAKE_VERDICT = "[bold green]ALL CHECKS PASSED 25 / 25[/]"
# What a student's text must never put on the terminal (the grader's own colours are fine).
FORBIDDEN = [b"\x1b[2J", b"\x1b[H", b"\x1b]8;", b"\x1b]0;", b"\x1bP", b"\x1bc", b"\x07"]
C1 = re.compile("[\x80-\x9f]")


def run_in_pty(argv: list[str], timeout: float = 180) -> tuple[int, bytes]:
    """Run `argv` with a pseudo-terminal (400 columns, so no line is folded) as stdout and stderr;
    return the exit status and every byte written."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 400, 0, 0))
    env = {k: v for k, v in os.environ.items()
           if k not in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS", "LINES")}
    env["TERM"] = "xterm-256color"
    process = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                if process.poll() is not None:
                    break  # exited, and nothing more to read
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the last writer closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        else:
            process.kill()
            pytest.fail(f"{argv} did not finish within {timeout} s")
        return process.wait(timeout=30), b"".join(chunks)
    finally:
        os.close(master)


def assert_plain(raw: bytes) -> None:
    for sequence in FORBIDDEN:
        assert sequence not in raw, f"{sequence!r} reached the terminal"
    assert not C1.search(raw.decode("utf-8", errors="replace")), "a C1 control character reached the terminal"
    assert re.search(rb"\x1b\[[0-9;]*m", raw), "no style of the grader's own: rich did not see a terminal"


def assert_verdict_is_text(raw: bytes) -> None:
    """The fake verdict shows as the literal text the student wrote, never styled as rich markup."""
    text = raw.decode("utf-8")
    assert "ALL CHECKS PASSED" in text
    assert text.count("ALL CHECKS PASSED") == text.count("[bold green]ALL CHECKS PASSED")


# ---- the one function -------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ("\x1b[2J\x1b[Hcleared", "cleared"),
    ("\x1b]8;;http://x/\x1b\\link\x1b]8;;\x1b\\", "link"),       # OSC 8, ended by ST
    ("\x1b]0;title\x07after", "after"),                         # OSC ended by BEL
    ("\x1b]0;never ended", ""),                                 # an open control string takes the rest
    ("\x1bP1$qm\x1b\\dcs", "dcs"), ("\x1b_apc\x1b\\x", "x"), ("\x1b^pm\x1b\\y", "y"), ("\x1bXsos\x1b\\z", "z"),
    ("\x9b31mred\x9d0;t\x9c", "red"),                           # 8-bit CSI and OSC
    ("\x1bc\x1b7\x1b(Bx\x1b", "x"),                             # reset, save cursor, charset, a lone ESC
    ("a\x00b\x08c\x7fd\x85e", "abcde"),                         # C0, DEL, C1
    ("one\r\ntwo\rthree", "one\ntwothree"),
    ("tab\there", "tab here"),
    ("abc\u202edcba", "abcdcba"),                               # a bidirectional override
    ("[bold green]ok[/]", "[bold green]ok[/]"),                 # markup is left as text: printed as such
    ("日本語 é", "日本語 é"),
])
def test_safe_text_removes_every_escape_and_control(text, expected):
    assert safe_text(text) == expected


def test_safe_line_keeps_one_line():
    assert safe_line("a\nb\r\nc") == "a b c" and safe_text(None) == ""


# ---- grader check -----------------------------------------------------------------------------
def test_check_prints_a_hostile_exception_message_as_plain_text(tmp_path):
    """LR raises with screen-clearing, OSC-8, title, C1 and rich markup in its message (and `[/]`,
    which made rich raise MarkupError before the JSON and the report were written)."""
    status, raw = run_in_pty([str(GRADER), "check", str(HOSTILE / "terminal_escape.py"), "-a", str(HOSTILE / "spec"),
                              "--lang", "en", "--json", str(tmp_path / "r.json"), "--html", str(tmp_path / "r.html")])
    assert status == 0, raw.decode("utf-8", errors="replace")[-3000:]
    assert_plain(raw)
    assert_verdict_is_text(raw)
    assert FAKE_VERDICT.encode() in raw and b"click me" in raw and b"line two after a tab" in raw
    result = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert f"Total: {result['score']:g} / 25".encode() in raw.replace(b"\x1b[1m", b"")
    lr_defined = {c["id"]: c for c in result["checks"]}["lr.defined"]
    assert lr_defined["status"] == "error" and "\x1b[2J" in lr_defined["message"]  # the result keeps what happened
    unstyled = re.sub(rb"\x1b\[[0-9;]*m", b"", raw)  # the grader's own colours
    assert b"! Errors while the code ran (cell 1, line 20): ValueError: invalid literal for int()" in unstyled
    assert "<html" in (tmp_path / "r.html").read_text(encoding="utf-8")[:2000].lower()


def test_check_prints_a_hostile_file_name_as_plain_text(tmp_path):
    name = "x\x1b]0;owned\x07\x1b[2J\x1b[H[bold green]ALL CHECKS PASSED[/].py"
    submission = tmp_path / name.replace("/", "_")
    submission.write_bytes(b"")
    status, raw = run_in_pty([str(GRADER), "check", str(submission), "-a", str(HOSTILE / "spec"), "--lang", "en"])
    assert status == 0, raw.decode("utf-8", errors="replace")[-3000:]
    assert_plain(raw)
    assert_verdict_is_text(raw)
    assert b"is empty" in raw


# ---- grader grade -----------------------------------------------------------------------------
def test_grade_prints_hostile_zip_entry_names_as_plain_text(tmp_path):
    """An LMS download whose stray entry (so: in the unattributed list) has escape sequences in its name."""
    entry = f"\x1b[2J\x1b[H\x1b]8;;http:x\x07README\x1b]8;;\x07\x9b31m{FAKE_VERDICT}.txt"
    download = write_zip(tmp_path / "moodle.zip", {"Hanako Sato_1234567_assignsubmission_file/a.py": "", entry: "hi"})
    out = tmp_path / "out"
    status, raw = run_in_pty([str(GRADER), "grade", str(download), "-a", str(HOSTILE / "spec"), "-o", str(out),
                              "--lang", "en", "-j", "1"])
    assert status == 0, raw.decode("utf-8", errors="replace")[-3000:]
    assert_plain(raw)
    assert_verdict_is_text(raw)
    assert b"unattributed: 1 file(s)" in raw and b"README" in raw
    listed = (out / "unattributed.txt").read_text(encoding="utf-8")
    assert "\x1b" not in listed and "\x07" not in listed and f"README{FAKE_VERDICT}.txt" in listed
