"""The one message catalogue, and the assignments' messages files over it: complete in Japanese and
English, and nothing untranslated on a page.

The catalogue walk and the walk of every bundled assignment's `messages.toml` are static. The page
tests render the report and the class summary in each language and look at the words a reader sees
outside code: a Japanese page must hold no English sentence or label of the catalogue or of the
assignment's messages, an English page no Japanese at all.
"""

from __future__ import annotations

import ast
import re
import string
import typing
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fixtures.sample_graded import sample_graded

from grader import pipeline
from grader.i18n import CATALOGUE, LANGS, Messages
from grader.outputs.report.class_summary import render_summary_page
from grader.outputs.report.html import render_report
from grader.pipeline import grade_file
from grader.result import CheckResult, Incident, Result
from grader.spec import BUNDLED_ASSIGNMENTS, MESSAGES_FILE, AssignmentError, load_assignment
from grader.spec.datasets import class_names

ROOT = Path(__file__).resolve().parent.parent
I18N = ROOT / "grader" / "i18n.py"
TEMPLATES = ROOT / "grader" / "outputs" / "report" / "templates"
SOLUTION_PY = ROOT / "solutions" / "iris_basics" / "solution.py"
ALLOWED_FIELDS = {"ja", "en", "hint_ja", "hint_en"}
MESSAGES_FILES = sorted(BUNDLED_ASSIGNMENTS.glob(f"*/{MESSAGES_FILE}"))
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff01-\uff60]")


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


class Anything:
    """Formats under any format spec, so every template can be filled without knowing its types."""

    def __format__(self, spec: str) -> str:
        return "X"


# ---- the catalogue ---------------------------------------------------------------------------
@pytest.mark.parametrize("key", sorted(CATALOGUE))
def test_entry_is_complete_and_consistent(key):
    entry = CATALOGUE[key]
    assert set(entry) <= ALLOWED_FIELDS, f"{key}: unknown fields {set(entry) - ALLOWED_FIELDS}"
    for lang in LANGS:
        assert isinstance(entry.get(lang), str) and entry[lang].strip(), f"{key} has no {lang}"
    assert fields(entry["ja"]) == fields(entry["en"]), f"{key}: placeholders differ between ja and en"
    assert ("hint_ja" in entry) == ("hint_en" in entry), f"{key}: a hint in one language only"
    if "hint_ja" in entry:
        assert entry["hint_ja"].strip() and entry["hint_en"].strip()
        assert fields(entry["hint_ja"]) == fields(entry["hint_en"]), f"{key}: hint placeholders differ"
    for name, template in entry.items():
        template.format(**{field: Anything() for field in fields(template)})  # well-formed
    assert not JAPANESE.search(entry["en"] + entry.get("hint_en", "")), f"{key}: Japanese in the English text"
    if entry["ja"] != entry["en"]:
        assert JAPANESE.search(entry["ja"]), f"{key}: the Japanese text has no Japanese in it"
    if "hint_ja" in entry:
        assert JAPANESE.search(entry["hint_ja"]), f"{key}: the Japanese hint has no Japanese in it"


def test_catalogue_has_no_key_twice():
    """A repeated key in the dict literal silently replaces the first entry."""
    tree = ast.parse(I18N.read_text(encoding="utf-8"))
    literal = next(node.value for node in ast.walk(tree)
                   if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "CATALOGUE")
    keys = [k.value for k in literal.keys]
    assert len(keys) == len(set(keys)), sorted({k for k in keys if keys.count(k) > 1})


def test_templates_use_only_catalogue_keys():
    used: set[str] = set()
    for template in TEMPLATES.glob("*.j2"):
        used |= set(re.findall(r"""\bt\(\s*["']([\w.]+)["']\s*[,)]""", template.read_text(encoding="utf-8")))
    assert used, "the templates call t(...)"
    assert not used - set(CATALOGUE), f"missing keys: {sorted(used - set(CATALOGUE))}"
    # Keys the templates and pages build from values: statuses, modes, incident kinds.
    check_status = typing.get_args(CheckResult.model_fields["status"].annotation)
    result_status = typing.get_args(Result.model_fields["status"].annotation)
    modes = typing.get_args(Result.model_fields["mode"].annotation)
    kinds = typing.get_args(Incident.model_fields["kind"].annotation)
    built = ([f"status.{s}" for s in (*check_status, *result_status)] + [f"mode.{m}" for m in modes]
             + [f"report.mode.{m}" for m in modes] + [f"incident.{k}" for k in kinds])
    assert not set(built) - set(CATALOGUE), f"missing keys: {sorted(set(built) - set(CATALOGUE))}"


def test_every_check_has_a_name_and_an_idea():
    spec = load_assignment("iris_basics").spec
    from grader.checks.registry import check_names

    for model in spec.models:
        for name in check_names(spec, model):
            assert f"check.{name}" in CATALOGUE and f"idea.{name}" in CATALOGUE, name


# ---- the assignments' messages files -------------------------------------------------------------
def test_every_bundled_assignment_with_a_messages_file_is_walked():
    assert [p.parent.name for p in MESSAGES_FILES] == ["iris_basics"]


@pytest.mark.parametrize("path", MESSAGES_FILES, ids=lambda p: p.parent.name)
def test_messages_file_is_complete_and_consistent_with_the_catalogue(path):
    """Each entry: a catalogue key, every language of each text it gives, the same placeholders in
    both, only placeholders the catalogue's entry has, Japanese in the Japanese."""
    overlay = load_assignment(str(path.parent)).messages
    assert overlay.entries
    for key, entry in overlay.entries.items():
        assert key in CATALOGUE, f"{key} is not a catalogue key"
        known = set().union(*(fields(text) for text in CATALOGUE[key].values()))
        assert set(entry) <= ALLOWED_FIELDS
        assert ("ja" in entry) == ("en" in entry) and ("hint_ja" in entry) == ("hint_en" in entry), key
        for prefix in ("", "hint_"):
            if f"{prefix}ja" in entry:
                ja, en = entry[f"{prefix}ja"], entry[f"{prefix}en"]
                assert fields(ja) == fields(en), f"{key}: {prefix}placeholders differ between ja and en"
                assert fields(ja) <= known, f"{key}: placeholders the catalogue's entry does not have"
                assert JAPANESE.search(ja) and not JAPANESE.search(en), key
        same = {f: CATALOGUE[key][f] for f in entry if f in CATALOGUE[key]}
        assert entry != same, f"{key} says what the catalogue says"


@pytest.mark.parametrize("path", MESSAGES_FILES, ids=lambda p: p.parent.name)
def test_messages_file_names_every_class_of_its_data_set_in_both_languages(path):
    loaded = load_assignment(str(path.parent))
    names = loaded.messages.class_names
    assert set(names) == set(LANGS)
    assert len(names["ja"]) == len(names["en"]) == len(class_names(loaded.spec.dataset.name))
    assert all(JAPANESE.search(n) for n in names["ja"]) and not any(JAPANESE.search(n) for n in names["en"])


def test_iris_basics_says_the_lessons_words_over_the_generic_ones(assignment):
    lesson, generic = Messages("en", assignment.messages), Messages("en")
    assert lesson.text("idea.test_mse").startswith("As in the lesson") and "even rows" in lesson.text("idea.test_mse")
    assert "lesson" not in generic.text("idea.test_mse") and "even" not in generic.text("idea.test_mse")
    # A hint given by the file; the message beside it stays the catalogue's.
    assert lesson.hint("structure.activations") == (
        "The lesson uses the sigmoid as its activation. Check its order relative to the linear layers.")
    assert lesson.text("structure.activations") == generic.text("structure.activations")
    assert lesson.text("structure.hidden_ignored", width=3, hidden=5) == (
        "The hidden layer's size is fixed at 3; it does not follow the constructor argument n_hidden=5.")
    assert Messages("ja", assignment.messages).class_names(("setosa", "versicolor", "virginica")) == (
        "セトサ", "バーシカラー", "バージニカ")
    assert generic.class_names(("a", "b")) == ("a", "b")  # no messages file: the data set's names


@pytest.mark.parametrize(("change", "problem"), [
    ('["idea.no_such_check"]\nja = "ない"\nen = "none"\n', "idea.no_such_check: not a key of the grader's"),
    ('["idea.test_mse"]\nja = "テスト"\n', "idea.test_mse: ja is given but not en"),
    ('["structure.layer_count"]\nhint_en = "English"\n', "structure.layer_count: hint_en is given but not hint_ja"),
    ('["idea.test_mse"]\nja = "{seeds} 個"\nen = "{seeds} seeds"\n', "idea.test_mse.ja: placeholder(s) seeds unknown"),
    ('["range.outside"]\nja = "[{low}, {top}]"\nen = "[{low}, {top}]"\n', "range.outside.ja: placeholder(s) top"),
    ('["idea.test_mse"]\nja = "テスト"\nen = "test"\nfr = "essai"\n', "idea.test_mse.fr: unknown field"),
    ('[class_names]\nja = ["あ", "い"]\nen = ["a", "b"]\n', "class_names.ja: 2 names, but the data set 'iris' has 3"),
    ('[class_names]\nja = ["あ", "い", "う"]\n', "class_names: expected a list of names for each of ja, en"),
    ('["idea.test_mse"\n', "messages.toml: not valid TOML"),
])
def test_a_wrong_messages_file_is_an_assignment_error_naming_the_key(tmp_path, assignment, change, problem):
    (tmp_path / "assignment.toml").write_bytes((assignment.folder / "assignment.toml").read_bytes())
    (tmp_path / MESSAGES_FILE).write_text(change, encoding="utf-8")
    with pytest.raises(AssignmentError) as caught:
        pipeline.load_assignment(str(tmp_path))
    assert problem in str(caught.value) and MESSAGES_FILE in str(caught.value)


def test_an_assignment_without_a_messages_file_gets_the_catalogues_texts(tmp_path, assignment):
    (tmp_path / "assignment.toml").write_bytes((assignment.folder / "assignment.toml").read_bytes())
    loaded = pipeline.load_assignment(str(tmp_path))
    assert not loaded.messages and loaded.spec == assignment.spec and loaded.spec_sha256 == assignment.spec_sha256
    assert Messages("ja", loaded.messages).text("idea.test_accuracy") == CATALOGUE["idea.test_accuracy"]["ja"]


# ---- the pages -------------------------------------------------------------------------------
class VisibleText(HTMLParser):
    """The words a reader sees, outside code, output and the other places submission data lives."""

    SKIP_TAGS = {"script", "style", "pre", "code"}
    VOID = {"meta", "link", "br", "img", "input", "hr", "wbr", "source", "area", "col"}

    def __init__(self, skip_classes: set[str]) -> None:
        super().__init__(convert_charrefs=True)
        self.skip_classes = skip_classes
        self.depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        classes = set((dict(attrs).get("class") or "").split())
        if self.depth:
            self.depth += 1
        elif tag in self.SKIP_TAGS or classes & self.skip_classes:
            self.depth = 1
        for name, value in attrs:
            if name in ("title", "aria-label", "alt") and value and not self.depth:
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if not self.depth and data.strip():
            self.parts.append(data)


def visible_text(page: str, skip_classes: set[str] = frozenset()) -> str:
    parser = VisibleText({"mono", "check-id", "hash", *skip_classes})
    parser.feed(page)
    return "\n".join(parser.parts)


def english_fragments() -> list[tuple[str, str]]:
    """(key, text) for every English sentence or label of the catalogue and of the bundled assignments'
    messages that differs from its Japanese: whole texts without placeholders, and the literal runs
    between placeholders when long enough to be unmistakable."""
    found = []
    entries = [*CATALOGUE.items(), *((key, dict(texts)) for path in MESSAGES_FILES
                                     for key, texts in load_assignment(str(path.parent)).messages.entries.items())]
    for key, entry in entries:
        for field in ("en", "hint_en"):
            text, ja = entry.get(field), entry.get(field.replace("en", "ja"))
            if not text or text == ja:
                continue
            runs = [literal for literal, *_ in string.Formatter().parse(text)]
            if len(runs) == 1 and "{" not in text:
                if re.search(r"[A-Za-z]{2,}", text):
                    found.append((key, text.strip()))
            else:
                found += [(key, run.strip()) for run in runs if len(run.strip()) >= 14]
    return found


def assert_no_english(text: str) -> None:
    leaks = []
    for key, fragment in english_fragments():
        if re.search(r"(?<![A-Za-z0-9_-])" + re.escape(fragment) + r"(?![A-Za-z0-9_-])", text):
            leaks.append(f"{key}: {fragment!r}")
    assert not leaks, "English on the Japanese page: " + "; ".join(leaks)


@pytest.fixture(scope="module")
def assignment():
    return load_assignment("iris_basics")


@pytest.fixture(scope="module")
def real_ja(assignment):
    """The reference module graded in Japanese from its recorded observations (no sandbox run)."""
    from conftest import replayed

    return replayed("solution_py", "ja")


def test_japanese_report_has_no_english(assignment):
    page = render_report(sample_graded(assignment, "ja"), assignment)
    text = visible_text(page)
    assert "合計" in text and "エポック" in text and "採点の記録" in text
    assert_no_english(text)


def test_english_report_has_no_japanese(assignment):
    page = render_report(sample_graded(assignment, "en"), assignment)
    text = visible_text(page)
    assert "Total" in text and "Epoch" in text and "Audit" in text
    assert not JAPANESE.findall(text), sorted(set(JAPANESE.findall(text)))


@pytest.mark.parametrize("lang", LANGS)
def test_summary_page_in_one_language(assignment, lang):
    results = [sample_graded(assignment, lang).result]
    text = visible_text(render_summary_page(results, assignment, lang))
    if lang == "ja":
        assert "合格率" in text
        assert_no_english(text)
    else:
        assert "Pass rate" in text
        assert not JAPANESE.findall(text), sorted(set(JAPANESE.findall(text)))


def test_the_assignment_sets_the_language_and_lang_overrides(assignment, tmp_path):
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{", encoding="utf-8")
    default = grade_file(broken, assignment)
    assert assignment.spec.lang == "ja" and default.result.lang == "ja"
    assert '<html lang="ja">' in render_report(default, assignment)
    english = grade_file(broken, assignment, lang="en")
    assert '<html lang="en">' in render_report(english, assignment)
    assert '<html lang="ja">' in render_summary_page([default.result], assignment)


def test_real_japanese_report_fixed_text_has_no_english(real_ja, assignment):
    """The report's own words (labels, headings, figures, captions) on a real grading."""
    page = render_report(real_ja, assignment)
    assert_no_english(visible_text(page, {"message"}))


def test_real_japanese_check_messages_have_no_english(real_ja):
    assert_no_english("\n".join(c.message + "\n" + c.hint for c in real_ja.result.checks))
