"""The reports in a real browser: headless Chromium loads each page, runs its script, and we read back
the DOM (`--dump-dom`), the console (`--enable-logging=stderr`: every console message and uncaught
error is a `CONSOLE` line) and screenshots at a desktop and a phone width (saved under the pytest
tmp dir, to look at).

Skipped, with the reason, when no Chromium can be had: `scripts/setup-browser.sh` installs it, or
point GRADER_BROWSER at a Chromium or Chrome binary.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

import pytest
from conftest import install_recorded_sandbox
from fixtures.sample_graded import sample_graded
from fixtures.submissions import REPORT_MARKUP

from grader.outputs.report.class_summary import write_summary_page
from grader.outputs.report.html import write_report
from grader.spec import load_assignment

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--hide-scrollbars", "--enable-logging=stderr", "--v=0")
DESKTOP, PHONE = (1280, 2000), (390, 844)
CONSOLE = re.compile(r":CONSOLE[:(]|Uncaught")


class Browser:
    def __init__(self, binary: str) -> None:
        self.binary = binary

    def run(self, url: str, *extra: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
        with tempfile.TemporaryDirectory(prefix="grader-chromium-") as profile:
            return subprocess.run([self.binary, *FLAGS, f"--user-data-dir={profile}", *extra, url],
                                  capture_output=True, text=True, timeout=timeout)

    def dom(self, url: str) -> tuple[str, list[str]]:
        """The DOM after the page's scripts ran, and the console lines it produced."""
        done = self.run(url, "--dump-dom")
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout, [line for line in done.stderr.splitlines() if CONSOLE.search(line)]

    def screenshot(self, url: str, path: Path, size: tuple[int, int]) -> tuple[int, int]:
        done = self.run(url, f"--screenshot={path}", f"--window-size={size[0]},{size[1]}")
        assert done.returncode == 0 and path.exists(), done.stderr[-2000:]
        header = path.read_bytes()[:24]
        assert header[:8] == b"\x89PNG\r\n\x1a\n"
        return struct.unpack(">II", header[16:24])


def _find_binary() -> str | None:
    named = os.environ.get("GRADER_BROWSER")
    for candidate in ([named] if named else []) + list(CANDIDATES):
        found = shutil.which(candidate) if candidate else None
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser() -> Browser:
    binary = _find_binary()
    if binary is None:
        pytest.skip("no headless Chromium found: run scripts/setup-browser.sh, or set GRADER_BROWSER")
    browser = Browser(binary)
    try:
        probe = browser.run("data:text/html,<p>ok</p>", "--dump-dom", timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"Chromium at {binary} does not start: {exc}")
    if probe.returncode != 0 or "<p>ok</p>" not in probe.stdout:
        pytest.skip(f"Chromium at {binary} does not start headless: {probe.stderr[-500:]}")
    return browser


@pytest.fixture(scope="module")
def assignment():
    return load_assignment("iris_basics")


@pytest.fixture(scope="module")
def pages(tmp_path_factory, assignment) -> dict[str, Path]:
    """A sample report in each language, a batch (a hostile module and a broken notebook) with its
    reports and index.html, and a class summary with several scores to sort."""
    from rich.console import Console

    from grader.apps.batch import grade_batch

    folder = tmp_path_factory.mktemp("pages")
    made = {}
    for lang in ("ja", "en"):
        made[f"sample-{lang}"] = folder / f"sample-{lang}.html"
        write_report(made[f"sample-{lang}"], sample_graded(assignment, lang), assignment)
    inputs = folder / "inputs"
    inputs.mkdir()
    # It prints a script tag and raises with an img tag; its run is the recorded one (the pages are
    # the point here, not the sandbox).
    (inputs / "evil.py").write_text(REPORT_MARKUP, encoding="utf-8")
    (inputs / "broken.ipynb").write_text('{"cells": [', encoding="utf-8")
    with open(os.devnull, "w") as quiet, pytest.MonkeyPatch.context() as patch:
        sandbox = install_recorded_sandbox(patch)
        grade_batch([inputs], assignment, folder / "batch", lang="en", console=Console(file=quiet))
    assert sandbox.replayed == ["report_markup"]
    made["evil"] = folder / "batch" / "reports" / "evil.html"
    made["batch-index"] = folder / "batch" / "index.html"
    base = sample_graded(assignment, "en").result
    results = [base.model_copy(update={"score": score, "submission": base.submission.model_copy(update={"student_id": name})})
               for name, score in (("alice", 21.1), ("bob", 5.0), ("carol", 13.5), ("dave", 24.0))]
    made["summary"] = folder / "summary" / "index.html"
    from grader.outputs.similarity import Segment, SharedBlock, SimilarPair

    code = ("x = '<script>alert(1)</script>'", "y = x  # <img src=x onerror=alert(1)>")
    similar = [SimilarPair("alice", "bob", 0.93, 20, (SharedBlock((Segment(3, 1, 2, code),), (Segment(1, 7, 8, code),)),))]
    write_summary_page(made["summary"], results, assignment, "en", similar=similar)
    return made


def test_console_capture_sees_errors(browser, tmp_path):
    """The control: a page that logs and throws is caught, so 'no console lines' below means something."""
    page = tmp_path / "bad.html"
    page.write_text('<!doctype html><p id="x">x</p><script>console.error("boom"); undefinedName();</script>',
                    encoding="utf-8")
    _, console = browser.dom(page.as_uri())
    text = "\n".join(console)
    assert '"boom"' in text and "Uncaught ReferenceError" in text


@pytest.mark.parametrize("name", ["sample-ja", "sample-en", "evil"])
def test_student_report_renders(browser, pages, name, tmp_path):
    url = pages[name].as_uri()
    dom, console = browser.dom(url)
    assert console == [], f"console messages: {console}"
    assert re.search(r'<html[^>]* data-js="ready"', dom), "the page's script ran"
    assert re.search(r'<span class="big" id="total">[\d.]+</span>', dom)
    assert 'id="audit"' in dom and 'class="model-scores"' in dom
    if name.startswith("sample"):
        assert dom.count('<svg class="plot"') == 10 and 'class="ln hit"' in dom
    else:
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom and "&lt;img src=x onerror=alert(1)&gt;" in dom
        assert "<img" not in dom and dom.count("<script") == 1
    width, _ = browser.screenshot(url, tmp_path / f"{name}-desktop.png", DESKTOP)
    assert width == DESKTOP[0]
    width, _ = browser.screenshot(url, tmp_path / f"{name}-phone.png", PHONE)
    assert width == PHONE[0]


def test_phone_layout_does_not_overflow(browser, pages):
    """At a phone's width the report body fits; only code and tables may scroll inside their boxes."""
    probe = pages["sample-ja"].with_name("probe-phone.html")
    script = ("<script>document.body.setAttribute('data-overflow', "
              "String(document.documentElement.scrollWidth > window.innerWidth));</script>")
    page = pages["sample-ja"].read_text(encoding="utf-8")
    page = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page).replace("</body>", script + "</body>")
    probe.write_text(page, encoding="utf-8")
    done = browser.run(probe.as_uri(), "--dump-dom", f"--window-size={PHONE[0]},{PHONE[1]}")
    assert 'data-overflow="false"' in done.stdout


def test_class_summary_renders_and_sorts(browser, pages, tmp_path):
    url = pages["summary"].as_uri()
    dom, console = browser.dom(url)
    assert console == [], f"console messages: {console}"
    assert re.search(r'<html[^>]* data-js="ready"', dom)
    assert '<svg class="plot"' in dom and 'id="checks"' in dom
    # The similar pair: listed, its shared code escaped, and both students in "needs a person".
    assert 'id="similar"' in dom and "similar to bob (0.93)" in dom and "similar to alice (0.93)" in dom
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom and "<img" not in dom and dom.count("<script") == 1

    def order(hash_: str) -> list[str]:
        dom, console = browser.dom(url + hash_)
        assert console == []
        body = re.search(r'<table class="sortable" id="students">.*?<tbody>(.*?)</tbody>', dom, re.S).group(1)
        return re.findall(r'<a href="reports/(\w+)\.html">', body)

    assert order("") == ["alice", "bob", "carol", "dave"]
    assert order("#sort=students.score.asc") == ["bob", "carol", "alice", "dave"]
    assert order("#sort=students.score.desc") == ["dave", "alice", "carol", "bob"]
    assert order("#sort=students.student.desc") == ["dave", "carol", "bob", "alice"]
    browser.screenshot(url, tmp_path / "summary-desktop.png", DESKTOP)
    browser.screenshot(url, tmp_path / "summary-phone.png", PHONE)


def test_batch_index_renders(browser, pages):
    dom, console = browser.dom(pages["batch-index"].as_uri())
    assert console == [], f"console messages: {console}"
    attention = re.search(r'<section id="attention">(.*?)</section>', dom, re.S).group(1)
    assert 'href="reports/broken.html"' in attention
    assert 'href="reports/evil.html"' in dom and "<img" not in dom


# ---- the plots, against the matplotlib figures they replaced -----------------------------------------
def _grey(path: Path, size: tuple[int, int] = (105, 100)):
    from PIL import Image, ImageOps

    with Image.open(path) as image:
        return ImageOps.grayscale(image.convert("RGB")).resize(size, Image.Resampling.BOX)


def _difference(a, b) -> float:
    """Mean absolute difference of two small greyscale images, 0 (the same) to 255."""
    from PIL import ImageChops, ImageStat

    return ImageStat.Stat(ImageChops.difference(a, b)).mean[0]


PLOT_DIFFERENCE_LIMIT = 4.0  # of 255, at a quarter of the size (measured: 1.4 to 2.9): same layout, axes, marks, shades


def test_the_plots_look_like_the_matplotlib_figures_they_replaced(browser, tmp_path):
    """Every figure of the reference solution's report, screenshot in Chromium, is within
    PLOT_DIFFERENCE_LIMIT of the same figure as matplotlib drew it, and nearer to it than to any other
    of them (the measure tells figures apart: a loss curve is not a y-y plot, one loss not another)."""
    from fixtures.plot_pages import FIXTURES, WIDTH, write_pages

    drawn = {}
    for name, page in write_pages(tmp_path / "pages").items():
        shot = tmp_path / f"{name}.png"
        browser.screenshot(page.as_uri(), shot, (WIDTH, 400))
        drawn[name] = _grey(shot)
    before = {path.stem: _grey(path) for path in sorted(FIXTURES.glob("*.png"))}
    assert sorted(drawn) == sorted(before)
    for name, image in drawn.items():
        distances = {other: _difference(image, old) for other, old in before.items()}
        assert distances[name] <= PLOT_DIFFERENCE_LIMIT, (name, round(distances[name], 2))
        assert min(distances, key=distances.get) == name, (name, sorted(distances.items(), key=lambda kv: kv[1])[:3])
