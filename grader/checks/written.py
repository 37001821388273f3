"""Written questions (exercise 2): find the answer and say provisionally what it covers.

Nothing here scores prose. The grader finds the answer (a tagged markdown cell, the markdown cells
under a heading such as `課題2`, a section of a module's docstring, or `answer.txt` in a zip), cuts it
to a bounded length and lists the rubric points whose phrases it contains: a provisional aid for the
person who reads it, shown as such. The points come from that person, through OUT/review.csv
(`grader.outputs.review`).

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

import functools
import json
import re
import unicodedata
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from grader.result import WrittenAnswer

if TYPE_CHECKING:
    from grader.intake.submission import Cell, Submission
    from grader.spec import FindAnswer, LoadedAssignment, RubricPoint, WrittenQuestion

MAX_SCAN_CHARS = 200_000  # of all the prose of one submission looked at
FUZZY_MIN_CHARS = 6
FUZZY_DICE = 0.8
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
    covered: list[str] = []
    missing: list[str] = []
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
