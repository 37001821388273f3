"""Written questions (exercise 2): find the answer, say provisionally what it covers, take a person's score.

Nothing here scores prose. The grader finds the answer (a tagged markdown cell, the markdown cells
under a heading such as `課題2`, a section of a module's docstring, or `answer.txt` in a zip), cuts it
to a bounded length and lists the rubric points whose phrases it contains: a provisional aid for the
person who reads it, shown as such. The points come from that person, through OUT/review.csv:

    student_id,question,points,max_points,comment,status,covered,not_covered,length,answer_start

`grader grade` writes the file on its first run (points and comment empty), keeps every cell a
person filled on later runs (and every row, even one whose submission is gone), adds rows for new
submissions, refreshes the helper columns after `comment`, and reads points and comments back into
every output. `student_id` is the submission id (OUT/results/<student_id>.json).

Scores: a result's `score` / `max_score` stay the automatic score of the code. The written points
are added on top (`Result.total_score`, `Result.total_max`): `total_max` counts every written
question, `total_score` only the points a person has set; the rest is "pending review".

Matching is on text normalised with NFKC (full-width and half-width alike), case folded, with spaces
and hyphens dropped (so "non-linear" = "nonlinear" = "Non linear", and Japanese needs no word
boundaries); a phrase of six or more characters also matches a near spelling (character-bigram Dice
similarity >= 0.8 against a window of the answer). Everything runs on the trusted side: it only reads
text, with every size bounded.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from grader.csv_safety import guard, unguard
from grader.result import WrittenAnswer

if TYPE_CHECKING:
    from grader.assignment import FindAnswer, LoadedAssignment, RubricPoint, WrittenQuestion
    from grader.result import Result
    from grader.submission import Cell, Submission

REVIEW_FILE = "review.csv"
REVIEW_COLUMNS = ["student_id", "question", "points", "max_points", "comment",
                  "status", "covered", "not_covered", "length", "answer_start"]
EDITABLE = ("points", "comment")
MAX_SCAN_CHARS = 200_000  # of all the prose of one submission looked at
MAX_COMMENT_CHARS = 2000
MAX_REVIEW_BYTES = 20 * 1024 * 1024
FUZZY_MIN_CHARS = 6
FUZZY_DICE = 0.8
START_MARK, END_MARK = "<!-- written:start -->", "<!-- written:end -->"
_DROP = re.compile(r"[\s\-‐‑‒–—―_*`]+")  # not "ー": it is part of katakana words


# ---- normalising and matching ------------------------------------------------------------------
def normalise(text: str) -> str:
    """NFKC (full-width letters and digits become ASCII, half-width kana full-width), case folded,
    without spaces, hyphens and markdown emphasis."""
    return _DROP.sub("", unicodedata.normalize("NFKC", text).casefold())


def bigrams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1)} or ({text} if text else set())


def _dice(a: set[str], b: set[str]) -> float:
    return 2 * len(a & b) / (len(a) + len(b)) if a and b else 0.0


def phrase_found(phrase: str, text: str, text_grams: set[str] | None = None) -> bool:
    """Whether `phrase` is in `text` (both already normalised), exactly or, for a long phrase, nearly."""
    if not phrase:
        return False
    if phrase in text:
        return True
    if len(phrase) < FUZZY_MIN_CHARS:
        return False
    grams = bigrams(phrase)
    text_grams = text_grams if text_grams is not None else bigrams(text)
    if len(grams & text_grams) / len(grams) < FUZZY_DICE / 1.25:  # cannot reach the threshold
        return False
    for size in (len(phrase) - 1, len(phrase), len(phrase) + 1):
        for start in range(0, max(0, len(text) - size) + 1):
            if _dice(grams, bigrams(text[start:start + size])) >= FUZZY_DICE:
                return True
    return False


def coverage(answer: str, rubric: list[RubricPoint]) -> tuple[list[str], list[str]]:
    """(covered, not covered) rubric ids: a point is covered when one of its phrases, in either
    language, is found."""
    text = normalise(answer)
    grams = bigrams(text)
    covered, missing = [], []
    for point in rubric:
        phrases = [normalise(k) for words in point.keywords.values() for k in words]
        (covered if any(phrase_found(p, text, grams) for p in phrases) else missing).append(point.id)
    return covered, missing


# ---- finding the answer --------------------------------------------------------------------------
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s*(.*?)\s*#*\s*$")


def _heading(line: str) -> tuple[int, str] | None:
    match = _HEADING.match(line)
    return (len(match.group(1)), match.group(2)) if match else None


def _marker(line: str, phrases: list[str]) -> tuple[int, str] | None:
    """(level, rest of the line) when `line` opens the answer: a markdown heading holding a phrase
    (level = its #s), or a plain line starting with one (level 0, e.g. `課題2: ...` in a docstring)."""
    heading = _heading(line)
    if heading is not None:
        text = normalise(heading[1])
        return (heading[0], "") if any(normalise(p) and normalise(p) in text for p in phrases) else None
    stripped = unicodedata.normalize("NFKC", line).strip().lstrip("*").strip()
    for phrase in phrases:
        plain = unicodedata.normalize("NFKC", phrase).strip()
        if plain and stripped.casefold().startswith(plain.casefold()):
            rest = stripped[len(plain):].lstrip(" :：.)）-]】*").strip()
            return 0, rest
    return None


def _ends(line: str, level: int) -> bool:
    heading = _heading(line)
    return heading is not None and (level == 0 or heading[0] <= level)


def section(blocks: list[str], phrases: list[str]) -> str | None:
    """The text after the first marker line in `blocks` (markdown cells, or one text), up to the next
    heading of the same or a higher level; None without a marker."""
    if not phrases:
        return None
    taken: list[str] | None = None
    level = 0
    for block in blocks:
        for line in block.splitlines():
            if taken is None:
                marker = _marker(line, phrases)
                if marker is not None:
                    level, rest = marker
                    taken = [rest] if rest else []
            elif _ends(line, level):
                return "\n".join(taken)
            else:
                taken.append(line)
    return None if taken is None else "\n".join(taken)


@functools.cache
def template_lines(folder: str) -> frozenset[str]:
    """The normalised lines of the handed-out notebook's markdown (the question, "write here"): never
    part of an answer."""
    lines: set[str] = set()
    for path in sorted(Path(folder).glob("*.ipynb"))[:4]:
        try:
            notebook = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for cell in notebook.get("cells", []) if isinstance(notebook, dict) else []:
            if isinstance(cell, dict) and cell.get("cell_type") == "markdown":
                source = cell.get("source", "")
                source = "".join(source) if isinstance(source, list) else str(source)
                lines.update(n for n in (normalise(line) for line in source.splitlines()) if n)
    return frozenset(lines)


def _clean(text: str | None, template: frozenset[str]) -> str:
    if text is None:
        return ""
    kept = [line for line in text.splitlines() if normalise(line) not in template]
    return "\n".join(kept).strip()


def find_answer(submission: Submission, find: FindAnswer, template: frozenset[str] = frozenset()) -> tuple[str, str | None]:
    """(answer, where it was found); ("", None) when there is none."""
    markdown: list[Cell] = list(submission.markdown)
    budget, bounded = MAX_SCAN_CHARS, []
    for cell in markdown:
        bounded.append(cell.source[:budget])
        budget -= len(bounded[-1])
    if find.tags:
        tagged = [text for cell, text in zip(markdown, bounded) if set(cell.tags) & set(find.tags)]
        answer = _clean("\n\n".join(tagged), template)
        if answer:
            return answer, "tag"
    answer = _clean(section(bounded, find.headings), template)
    if answer:
        return answer, "heading"
    if submission.docstring:
        answer = _clean(section([submission.docstring[:MAX_SCAN_CHARS]], find.headings), template)
        if answer:
            return answer, "docstring"
    wanted = [name.casefold() for name in find.files]
    for name, text in sorted(submission.texts.items(), key=lambda kv: (kv[0].casefold() not in wanted, kv[0])):
        text = text[:MAX_SCAN_CHARS]
        inside = section([text], find.headings)
        if inside is None and PurePosixPath(name).name.casefold() not in wanted:
            continue
        answer = _clean(inside if inside is not None else text, template)
        if answer:
            return answer, f"file:{name}"
    return "", None


def answer_entry(question: WrittenQuestion, answer: str, found_in: str | None) -> WrittenAnswer:
    covered, missing = coverage(answer[:question.max_chars], question.rubric)
    return WrittenAnswer(id=question.id, answer=answer[:question.max_chars], length=len(answer), found_in=found_in,
                         covered=covered, missing=missing, status="pending_review" if answer else "missing",
                         max_points=question.points)


def written_answers(submission: Submission | None, assignment: LoadedAssignment) -> list[WrittenAnswer]:
    """One entry per written question of the spec (a `missing` one without a readable submission)."""
    entries = []
    template = template_lines(str(assignment.folder)) if assignment.spec.written else frozenset()
    for question in assignment.spec.written:
        answer, where = find_answer(submission, question.find, template) if submission is not None else ("", None)
        entries.append(answer_entry(question, answer, where))
    return entries


# ---- OUT/review.csv ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Review:
    points: float | None
    comment: str


def _read_rows(path: Path) -> tuple[list[dict[str, str]], list[str]]:
    if not path.is_file():
        return [], []
    data = path.read_bytes()[:MAX_REVIEW_BYTES]
    for encoding in ("utf-8-sig", "cp932"):  # Excel in Japan saves cp932
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        return [], [f"{path.name}: not UTF-8 or cp932 text; ignored (save it as UTF-8 CSV)"]
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [c for c in ("student_id", "question", "points") if c not in (reader.fieldnames or [])]
    if missing:
        return [], [f"{path.name}: the columns {', '.join(missing)} are missing; the file is ignored"]
    return [{k: (v or "") for k, v in row.items() if isinstance(k, str) and isinstance(v, str)} for row in reader], []


def read_review(path: Path, assignment: LoadedAssignment) -> tuple[dict[tuple[str, str], Review], list[str]]:
    """The points and comments a person set, by (student_id, question); and one line per row ignored."""
    rows, problems = _read_rows(path)
    questions = {q.id: q for q in assignment.spec.written}
    reviews: dict[tuple[str, str], Review] = {}
    for number, row in enumerate(rows, start=2):  # line 1 is the header
        student, question, raw = (unguard(row.get("student_id", "").strip()), row.get("question", "").strip(),
                                  row.get("points", "").strip())
        where = f"{path.name} line {number} ({student or '?'}, {question or '?'})"
        if question not in questions:
            if raw:
                problems.append(f"{where}: no written question {question!r} in the spec; row ignored")
            continue
        points: float | None = None
        if raw:
            try:
                points = float(unicodedata.normalize("NFKC", raw).replace(",", "."))
            except ValueError:
                problems.append(f"{where}: points {raw!r} is not a number; row ignored")
                continue
            top = questions[question].points
            if not math.isfinite(points) or not 0 <= points <= top:
                problems.append(f"{where}: points {raw} out of range 0..{top:g}; row ignored")
                continue
        reviews[(student, question)] = Review(points, row.get("comment", "").strip()[:MAX_COMMENT_CHARS])
    return reviews, problems


def apply_review(result: Result, reviews: dict[tuple[str, str], Review]) -> bool:
    """Put a person's points and comments into `result.written`; True when something changed."""
    before = [w.model_dump() for w in result.written]
    for entry in result.written:
        review = reviews.get((result.submission.student_id, entry.id))
        entry.points = review.points if review else None
        entry.comment = review.comment if review else ""
        if entry.points is not None:
            entry.status = "reviewed"
        else:
            entry.status = "pending_review" if entry.found_in else "missing"
    return [w.model_dump() for w in result.written] != before


def _helper_cells(entry: WrittenAnswer) -> dict[str, str]:
    start = " ".join(entry.answer.split())[:80]
    return {"max_points": f"{entry.max_points:g}", "status": entry.status, "covered": " ".join(entry.covered),
            "not_covered": " ".join(entry.missing), "length": str(entry.length),
            # a spreadsheet must not take the student's text for a formula
            "answer_start": guard(start)}


def write_review(path: Path, results: list[Result]) -> int:
    """Create or update OUT/review.csv; return the number of rows added. Cells a person can edit are
    copied as they are (whatever they hold), rows are never dropped."""
    rows, _ = _read_rows(path)
    extra = []
    if path.is_file() and rows:
        with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
            extra = [c for c in (csv.DictReader(handle).fieldnames or []) if c not in REVIEW_COLUMNS]
    if path.is_file() and not rows and path.stat().st_size > 0 and _read_rows(path)[1]:
        return 0  # an unreadable file is left alone: the message says why
    index = {(unguard(r.get("student_id", "").strip()), r.get("question", "").strip()): r for r in rows}
    for row in rows:  # ids come from file names: guarded (a file of an earlier version may hold them bare)
        row["student_id"] = guard(unguard(row.get("student_id", "")))
    added = 0
    for result in results:
        for entry in result.written:
            key = (result.submission.student_id, entry.id)
            row = index.get(key)
            if row is None:
                row = {"student_id": guard(key[0]), "question": key[1], "points": "", "comment": ""}
                rows.append(row)
                index[key] = row
                added += 1
            row.update(_helper_cells(entry))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[*REVIEW_COLUMNS, *extra], extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8-sig")
    return added


# ---- the report's section ------------------------------------------------------------------------
def splice(page: str, section_html: str) -> str | None:
    """The report with its written section replaced; None when the page has none to replace."""
    start, end = page.find(START_MARK), page.find(END_MARK)
    if start < 0 or end < start:
        return None
    return page[:start] + section_html.strip() + page[end + len(END_MARK):]


def apply_reviews(out: Path, results: list[Result], assignment: LoadedAssignment) -> list[str]:
    """Read OUT/review.csv into `results` (their JSON rewritten and the written section of their
    report re-rendered where something changed), then update the file. Returns lines to print."""
    if not assignment.spec.written:
        return []
    from grader.report.html import render_written_section

    path = out / REVIEW_FILE
    reviews, notes = read_review(path, assignment)
    patched = 0
    for result in results:
        if not apply_review(result, reviews):
            continue
        student = result.submission.student_id
        report = out / "reports" / f"{student}.html"
        try:
            page = report.read_text(encoding="utf-8")
        except OSError:
            page = None
        spliced = splice(page, render_written_section(result, assignment)) if page is not None else None
        if spliced is None:
            notes.append(f"{report}: no written section to update (run with --force to render it again)")
        else:
            report.write_text(spliced, encoding="utf-8")
        (out / "results" / f"{student}.json").write_text(result.to_json(), encoding="utf-8")
        patched += 1
    added = write_review(path, results)
    reviewed = sum(w.status == "reviewed" for r in results for w in r.written)
    pending = sum(w.status != "reviewed" for r in results for w in r.written)
    notes.append(f"review: {path} ({reviewed} answer(s) reviewed, {pending} pending, {added} row(s) added, "
                 f"{patched} result(s) updated)")
    return notes
