"""The student report and the class summary (issue 4).

Most tests render the sample submission (`tests/fixtures/sample_graded.py`: every kind of check, figure and
incident, no sandbox run); a few render real gradings, from recorded observations
(tests/fixtures/observations): the reference module (figures from real training) and a module whose
output and error messages carry markup.
"""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from conftest import replayed
from fixtures.sample_graded import sample_graded
from fixtures.submissions import REPORT_MARKUP

from grader.i18n import Messages
from grader.outputs.report import html as report_html
from grader.outputs.report import plots
from grader.outputs.report.class_summary import attention_reasons, render_summary_page, report_href
from grader.outputs.report.html import error_locations, render_report, write_report
from grader.pipeline import grade_file
from grader.result import Graded, Incident, Result, SubmissionInfo
from grader.spec import load_assignment

ROOT = Path(__file__).resolve().parent.parent
SOLUTION_PY = ROOT / "solutions" / "iris_basics" / "solution.py"
MB = 1024 * 1024

HOSTILE = REPORT_MARKUP  # markup in its output, error message and file name
HOSTILE_ID = '<svg onload=alert(2)>"&'


@pytest.fixture(scope="module")
def assignment():
    return load_assignment("iris_basics")


@pytest.fixture(scope="module")
def sample_en(assignment) -> Graded:
    return sample_graded(assignment, "en")


@pytest.fixture(scope="module")
def sample_ja(assignment) -> Graded:
    return sample_graded(assignment, "ja")


@pytest.fixture(scope="module")
def page_en(sample_en, assignment) -> str:
    return render_report(sample_en, assignment)


@pytest.fixture(scope="module")
def solution(assignment) -> Graded:
    """The reference module graded from its recorded observations (tests/fixtures/observations)."""
    return replayed("solution_py")


@pytest.fixture(scope="module")
def hostile(assignment) -> Graded:
    """The markup module (fixtures/submissions.REPORT_MARKUP) graded from its recorded observations."""
    return replayed("report_markup", student_id=HOSTILE_ID)


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text of each element id."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(page: str) -> Tags:
    parser = Tags()
    parser.feed(page)
    return parser


# ---- self-contained, no request leaves the page --------------------------------------------------
def assert_self_contained(page: str) -> None:
    tags = parse(page).tags
    for tag, attrs in tags:
        for name in ("src", "srcset", "data", "poster", "action", "formaction"):
            assert name not in attrs, f"<{tag} {name}=...> would load something"
        if tag == "link":
            assert attrs.get("href", "").startswith("data:"), f"<link> loads {attrs.get('href')}"
        for name in ("href", "xlink:href"):
            value = attrs.get(name) or ""
            assert not re.match(r"\s*(https?:|//|javascript:)", value, re.I), f"<{tag} {name}={value}>"
    assert "@import" not in page and "@font-face" not in page
    assert not re.search(r"url\((?!#)", page), "a CSS url() that is not a reference inside the page"
    assert "<image" not in page, "raster images inside an SVG"
    policy = [a.get("content", "") for t, a in tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert len(policy) == 1 and "default-src 'none'" in policy[0]
    scripts = re.findall(r"<script>(.*?)</script>", page, flags=re.S)
    assert len(scripts) == 1, "one inline script, allowed by its hash"
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    assert f"'sha256-{digest}'" in policy[0]


def test_report_is_self_contained_and_allows_only_its_own_script(page_en):
    assert_self_contained(page_en)
    assert "<script>" in page_en and "unsafe-inline'" not in re.search(r"script-src[^;]*", page_en).group(0)


def test_report_is_deterministic(sample_en, assignment, page_en):
    assert render_report(sample_en, assignment) == page_en


# ---- what the page shows -------------------------------------------------------------------------
def test_top_has_the_total_and_one_line_per_model(sample_en, page_en, assignment):
    result = sample_en.result
    assert re.search(rf'<span class="big" id="total">{result.score:g}</span>\s*<span class="of">/ {result.max_score:g}</span>', page_en)
    lines = re.findall(r'<li class="(full|partial|zero)" data-model="(\w+)">.*?<span class="pts">([\d.]+) / ([\d.]+)</span></li>', page_en)
    assert [m for _, m, _, _ in lines] == [m.id for m in assignment.spec.models]
    for _, model, score, top in lines:
        own = [c for c in result.checks if c.model == model]
        assert float(score) == pytest.approx(sum(c.score for c in own))
        assert float(top) == pytest.approx(sum(c.max_score for c in own))


def test_every_check_shows_verdict_expected_found_and_hint(sample_en, page_en):
    for check in sample_en.result.checks:
        block = re.search(rf'<li class="check {check.status}" id="check-{re.escape(check.id)}">(.*?)</li>', page_en, re.S)
        assert block, check.id
        body = block.group(1)
        assert Messages("en").text(f"status.{check.status}") in body
        if check.expected is not None:
            assert "Expected" in body and report_html.environment().from_string("{{ v }}").render(v=check.expected) in body
        if check.found is not None:
            assert "Found" in body
        if check.hint:
            assert check.hint.replace("'", "&#39;") in body
        elif check.status in ("failed", "error"):
            assert "The lesson&#39;s idea" in body, f"{check.id} has neither a hint nor the lesson's idea"


def test_error_points_to_the_students_cell_and_line_with_their_code(page_en):
    block = re.search(r'id="check-lr.grad_flow">(.*?)</li>', page_en, re.S).group(1)
    assert "Your code (cell 5, line 7)" in block
    assert re.search(r'<span class="ln hit"><span class="no">7</span>\s*h = self.l1\(x\).detach\(\).numpy\(\)', block)


def test_error_locations_in_both_languages():
    en, ja = Messages("en"), Messages("ja")
    assert error_locations("boom " + en.text("where.cell", cell=3, line=14), "en") == [(3, 14)]
    assert error_locations("失敗 (" + ja.text("where.cell", cell=2, line=5) + ")", "ja") == [(2, 5)]
    text = en.text("defined.syntax_error", cell=4, line=2, message="invalid syntax")
    assert error_locations(text, "en") == [(4, 2)]
    assert error_locations("no location here", "en") == []


def test_figures_as_the_lesson_draws_them(page_en):
    kinds = re.findall(r'<figure class="plot-figure" data-kind="(\w+)">', page_en)
    assert kinds.count("loss") == 5
    assert kinds.count("yy") == 2 and kinds.count("confusion") == 2 and kinds.count("latent") == 1
    svgs = re.findall(r"<svg .*?</svg>", page_en, flags=re.S)
    assert len(svgs) == 10
    for svg in svgs:
        assert "<text" in svg, "svg.fonttype='none' keeps text as text"
        assert 'class="plot"' in svg and "<style" not in svg and "<?xml" not in svg
    ids = re.findall(r' id="([^"]+)"', "".join(svgs))
    assert len(ids) == len(set(ids)), "ids inside figures must be unique in the page"
    assert "Observed" in page_en and "Predicted species" in page_en and "versicolor" in page_en


def test_japanese_figure_text_stays_text(sample_ja, assignment):
    page = render_report(sample_ja, assignment)
    svg_text = "".join(re.findall(r"<svg .*?</svg>", page, flags=re.S))
    assert ">エポック<" in svg_text and ">実測値<" in svg_text and ">バーシカラー<" in svg_text


def test_confusion_counts_use_the_largest_output():
    species = np.array([0, 1, 2, 2])
    predictions = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.1, 0.6, 0.3], [np.nan, 0, 0]])
    assert plots.confusion_counts(species, predictions, 3).tolist() == [[1, 0, 0], [0, 1, 0], [0, 1, 0]]


def test_figures_take_the_number_of_classes_and_their_names():
    labels = np.array([0, 1, 2, 3, 3])
    names = ("north", "east", "south", "west")
    en = Messages("en")
    confusion = plots.confusion_plot(labels, np.eye(4)[[0, 1, 1, 3, 2]], names, en, "four-confusion")
    assert all(confusion.svg.count(f">{name}<") == 2 for name in names)  # a row and a column each
    assert plots.confusion_plot(labels, np.eye(4), names[:3], en, "x") is None  # 4 outputs, 3 classes
    latent = plots.latent_plot(np.random.default_rng(0).normal(size=(5, 2)), labels, names, en, "four-latent")
    assert all(latent.svg.count(f">{name}<") == 1 for name in names)  # one legend entry each


def test_long_output_is_cut_with_a_note(sample_en, page_en):
    stdout = sample_en.result.stdout
    assert len(stdout) > report_html.MAX_OUTPUT_CHARS
    assert f"the first {report_html.MAX_OUTPUT_CHARS} of {len(stdout)} characters" in page_en
    shown = re.search(r'<pre class="output">(.*?)</pre>', page_en, re.S).group(1)
    assert len(shown) < len(stdout) * 1.6  # escaped, and cut


def test_what_ran_skipped_statements_and_incidents_in_plain_words(page_en):
    section = re.search(r'<section id="what-ran">(.*?)</section>', page_en, re.S).group(1)
    assert "definitions mode" in section
    assert "cell 7, line 2" in section and "for epoch in range(100): …" in section
    assert "Output cut short" in section and "Run without a sandbox" in section
    # A serious incident is also shown at the top, the sandbox note only below.
    top = page_en.split('<section class="model', 1)[0]
    assert "Output cut short" in top and "Run without a sandbox" not in top


def test_audit_footer(sample_en, page_en):
    footer = re.search(r'<footer class="audit" id="audit">(.*?)</footer>', page_en, re.S).group(1)
    result = sample_en.result
    for value in (result.grader_version, result.assignment, result.spec_sha256, result.submission.sha256,
                  result.graded_at, "0, 1, 2", "4.2 s"):
        assert value in footer, value


def test_invalid_submission_report(assignment, tmp_path):
    broken = tmp_path / "broken.ipynb"
    broken.write_text('{"cells": [', encoding="utf-8")
    graded = grade_file(broken, assignment, lang="ja")
    page = render_report(graded, assignment)
    assert graded.result.status == "invalid"
    assert "採点不可" in page and "ノートブックとして読めません" in page and 'class="model' not in page
    assert_self_contained(page)


def test_timeout_is_said_in_plain_words(assignment, sample_en):
    result = sample_en.result.model_copy(update={"incidents": [
        Incident(kind="timeout", message=Messages("en").text("run.timeout", seconds=300))]})
    page = render_report(Graded(result, sample_en.outcomes, sample_en.cells), assignment)
    assert "Time limit reached" in page and "went over its 300 s time limit" in page


def test_report_stays_under_a_megabyte(sample_en, assignment):
    # Its render time is a figure of benchmarks/report_speed.py, not a timed test (a busy machine).
    assert len(render_report(sample_en, assignment).encode()) < 1 * MB


# ---- real gradings ------------------------------------------------------------------------------
def test_reference_solution_report_has_every_figure(solution, assignment, tmp_path):
    assert solution.cells, "grade_file keeps the submission's cells for the report"
    path = tmp_path / "report.html"
    write_report(path, solution, assignment)
    page = path.read_text(encoding="utf-8")
    kinds = re.findall(r'data-kind="(\w+)"', page)
    assert sorted(kinds) == sorted(["loss"] * 5 + ["yy"] * 2 + ["confusion"] * 2 + ["latent"])
    assert len(page.encode()) < 1 * MB
    assert_self_contained(page)


def test_hostile_output_and_errors_are_escaped(hostile, assignment, tmp_path):
    result = hostile.result
    assert "<script>alert(1)</script>" in result.stdout
    assert any("<img src=x onerror=alert(1)>" in c.message for c in result.checks)
    page = render_report(hostile, assignment)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<img" not in page and "alert(1)</script>" not in page
    assert "&lt;svg onload=alert(2)&gt;&#34;&amp;" in page and "<svg onload" not in page
    assert "evil&lt;i onmouseover=alert(3)&gt;.py" in page and "<i onmouseover" not in page
    tags = parse(page).tags
    assert [t for t, _ in tags].count("script") == 1
    assert not [(t, a) for t, a in tags for name in a if name.startswith("on")], "no event handler attributes"
    # The error's own line is quoted from the student's code, escaped too.
    assert '<span class="ln hit"><span class="no">11</span>        raise ValueError(&#34;bad &lt;img' in page
    assert_self_contained(page)
    summary = render_summary_page([result], assignment, "en")
    assert "&lt;svg onload=alert(2)&gt;&#34;&amp;" in summary and "<svg onload" not in summary
    assert f'href="{report_href(HOSTILE_ID)}"' in summary and report_href(HOSTILE_ID) == "reports/%3Csvg%20onload%3Dalert%282%29%3E%22%26.html"


# ---- the class summary ---------------------------------------------------------------------------
def _result(student: str, score: float, status: str = "graded", incidents=(), checks=None, metrics=None, message=None):
    base = sample_graded(load_assignment("iris_basics"), "en").result if checks is None else None
    return Result(
        assignment="iris_basics", grader_version="0", spec_sha256="0" * 64,
        submission=SubmissionInfo(student_id=student, file=f"{student}.ipynb"), status=status, lang="en",
        mode="definitions", score=score, max_score=25, checks=(base.checks if base and status == "graded" else checks or []),
        metrics=metrics if metrics is not None else (base.metrics if base else {}), incidents=list(incidents), message=message,
    )


def test_summary_page(assignment):
    messages = Messages("en")
    results = [
        _result("alice", 21.1),
        _result("bob", 21.1, incidents=[Incident(kind="not_isolated", message=messages.text("run.not_isolated"))]),
        _result("carol", 21.1, incidents=[Incident(kind="timeout", message=messages.text("run.timeout", seconds=300))]),
        _result("dave", 0, status="invalid", message="dave.ipynb is empty."),
        _result("erin", 0, status="error", message="The grader failed internally"),
        _result("frank", 21.1, metrics={"mlr.test_mse": 0.0001}),
    ]
    page = render_summary_page(results, assignment, "en")
    assert_self_contained(page)
    assert "6 submissions: 4 graded, 1 invalid, 1 errors" in page
    assert re.search(r'<figure class="plot-figure" data-kind="histogram"><svg', page)
    # Pass rate per check: every check of the assignment, with its rate.
    rows = re.findall(r'<tr data-check="([\w.]+)"', page)
    assert len(rows) == 33 and rows[:2] == ["mlr.defined", "mlr.capture"]
    lr_grad = re.search(r'<tr data-check="lr.grad_flow" class="low">.*?<span class="num">(\d+)%</span>', page, re.S)
    assert lr_grad and lr_grad.group(1) == "0"
    # The students, linked to their reports, in a sortable table.
    table = re.search(r'<table class="sortable" id="students">(.*?)</table>', page, re.S).group(1)
    for name in ("alice", "bob", "carol", "dave", "erin", "frank"):
        assert f'<a href="reports/{name}.html">{name}</a>' in table
    # Who needs a person: invalid, error, timeout, a suspicious MSE; not the sandbox note alone.
    attention = re.search(r'<section id="attention">(.*?)</section>', page, re.S).group(1)
    needing = re.findall(r'<li><a href="reports/(\w+).html">', attention)
    assert needing == ["carol", "dave", "erin", "frank"]
    assert "Time limit reached" in attention and "far below the full-credit threshold" in attention


NO_REQUIRED_MODEL = {
    "renamed": "import torch\n\n\nclass IrisNet(torch.nn.Module):\n    def __init__(self):\n        super().__init__()\n"
               "        self.l1 = torch.nn.Linear(4, 3)\n\n    def forward(self, x):\n        return self.l1(x)\n",
    "unbuilt": "import torch\n\n\nclass MLR(torch.nn.Module):\n    def __init__(self, n_input, n_output):\n"
               "        raise ValueError('not yet')\n",
    "wrong_file": "print('hello')\n",
}


@pytest.mark.parametrize("case, reason", [
    ("renamed", "No class has a name the assignment asks for, but the file defines nn.Module classes (IrisNet):"
                " perhaps only renamed."),
    ("unbuilt", "Model classes were found (MLR) but none of them could be built: see the errors in the report."),
    ("wrong_file", "Not one model class was found: check whether the wrong file was handed in."),
])
def test_the_class_summary_says_why_no_model_was_graded(assignment, tmp_path, case, reason):
    path = tmp_path / f"{case}.py"
    path.write_text(NO_REQUIRED_MODEL[case], encoding="utf-8")
    result = grade_file(path, assignment, lang="en").result
    assert all(c.status != "passed" for c in result.checks if c.id.endswith(".defined"))
    assert reason in attention_reasons(result, assignment, Messages("en"))


def test_a_hard_coded_cuda_call_is_told_that_grading_runs_on_the_cpu(assignment, tmp_path):
    path = tmp_path / "cuda.py"
    path.write_text("import torch\n\n\nclass MLR(torch.nn.Module):\n    def __init__(self, n_input, n_output):\n"
                    "        super().__init__()\n        self.l1 = torch.nn.Linear(n_input, n_output).cuda()\n\n"
                    "    def forward(self, x):\n        return self.l1(x)\n", encoding="utf-8")
    defined = {c.id: c for c in grade_file(path, assignment, lang="en").result.checks}["mlr.defined"]
    assert defined.status == "error" and "Torch not compiled with CUDA enabled" in defined.message
    assert ("grading runs on a CPU without a GPU: pick the device with device = torch.device(\"cuda\" if"
            " torch.cuda.is_available() else \"cpu\") and use .to(device) instead of .cuda().") in defined.message


def test_one_statement_that_did_not_run_is_one_statement(assignment, tmp_path):
    path = tmp_path / "one_skip.py"
    path.write_text("import torch\n\nprint('training would go here')\n", encoding="utf-8")
    graded = grade_file(path, assignment, lang="en")
    assert len(graded.result.skipped) == 1
    page = render_report(graded, assignment)
    assert "This statement did not run. A class that uses a name it creates fails." in page
    assert "These 1 statements" not in page


def test_an_error_in_one_class_is_that_models_alone(assignment, tmp_path):
    path = tmp_path / "one_broken_class.py"
    path.write_text("import torch\n\n\nclass MLR(torch.nn.Module):\n    def __init__(self, n_input, n_output):\n"
                    "        super().__init__()\n        self.l1 = torch.nn.Linear(n_input, n_output)\n\n"
                    "    def forward(self, x):\n        return self.l1(x)\n\n\n"
                    "class MLPC(torch.nn.Module):\n    activation = undefined_activation\n", encoding="utf-8")
    checks = {c.id: c for c in grade_file(path, assignment, lang="en").result.checks}
    assert checks["mlr.defined"].status == "passed"
    assert checks["mlpc.defined"].status == "failed"
    assert "undefined_activation" in checks["mlpc.defined"].message
    for other in ("lr", "mlpr", "ae"):
        assert checks[f"{other}.defined"].status == "failed"
        assert "undefined_activation" not in checks[f"{other}.defined"].message, other


def test_summary_page_with_nothing_graded(assignment):
    page = render_summary_page([_result("dave", 0, status="invalid", message="empty")], assignment, "ja")
    assert "採点済みの提出はありません" in page and "<svg" not in page


def test_grade_batch_writes_index(assignment, tmp_path):
    from rich.console import Console

    from grader.apps.batch import grade_batch

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "empty.ipynb").write_text("", encoding="utf-8")
    grade_batch([tmp_path / "in"], assignment, tmp_path / "out", lang="en", console=Console(file=open("/dev/null", "w")))
    page = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert '<a href="reports/empty.html">empty</a>' in page
    assert (tmp_path / "out" / "reports" / "empty.html").exists()


# ---- lazy imports ---------------------------------------------------------------------------------
def test_a_report_and_a_class_summary_render_without_matplotlib():
    """The figures are SVG written directly: rendering every kind of figure imports no matplotlib."""
    code = ("import sys; sys.path.insert(0, 'tests'); from fixtures.sample_graded import sample_graded; "
            "from grader.outputs.report.html import render_report; "
            "from grader.outputs.report.class_summary import render_summary_page; "
            "from grader.spec import load_assignment; a = load_assignment('iris_basics'); g = sample_graded(a, 'en'); "
            "page = render_report(g, a); render_summary_page([g.result], a); "
            "print(page.count('<svg class=\"plot\"'), 'matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout.strip()
    assert out == "10 False"


# ---- the SVG writer -------------------------------------------------------------------------------
def test_round_ticks_cover_the_range_with_one_step_and_one_format():
    from grader.outputs.report.svg import nice_ticks, tick_labels

    assert nice_ticks(0, 0.27) == [0.0, 0.05, 0.1, 0.15, 0.2, 0.25]
    assert tick_labels(nice_ticks(0, 0.27)) == ["0.00", "0.05", "0.10", "0.15", "0.20", "0.25"]
    assert nice_ticks(0, 500) == [0.0, 100.0, 200.0, 300.0, 400.0, 500.0]
    assert tick_labels(nice_ticks(-1.2, 1.3)) == ["\u22121.0", "\u22120.5", "0.0", "0.5", "1.0"]
    assert nice_ticks(3, 3) == [3.0, 3.2, 3.4, 3.6, 3.8, 4.0]  # an empty range gets one unit
    assert nice_ticks(float("nan"), 1) == []


def test_the_svg_writer_escapes_text_and_keeps_the_legend_off_the_points():
    from grader.outputs.report.svg import BLUES, Chart, blues

    chart = Chart(4.2, 3.6, left=0.16, right=0.96, bottom=0.14, top=0.96, x_range=(0, 1), y_range=(0, 1),
                  clip_id="clip-x")
    chart.axes("<b>x</b>", 'y "&"', [0, 1], [0, 1])
    chart.points([0.95, 0.9, 0.97], [0.95, 0.97, 0.9], "#1f77b4")  # the upper right corner is taken
    chart.legend([("#1f77b4", "<script>alert(1)</script>")])
    svg = chart.svg()
    assert "<script>" not in svg and "&lt;script&gt;alert(1)&lt;/script&gt;" in svg and "&lt;b&gt;x&lt;/b&gt;" in svg
    legend = re.search(r'<rect x="([\d.]+)" y="([\d.]+)" width="[\d.]+" height="[\d.]+" rx="3"', svg)
    x0, y0, _, _ = chart.box
    assert (float(legend.group(1)), float(legend.group(2))) == (round(x0 + 6, 1), round(y0 + 6, 1))  # upper left
    assert svg.startswith('<svg class="plot" role="img" ') and 'clip-path="url(#clip-x)"' in svg
    assert (blues(0), blues(1), blues(0.5)) == (BLUES[0], BLUES[-1], BLUES[4])
