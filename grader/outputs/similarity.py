"""Similar submissions in a batch: pairs whose code is alike, for a person to judge.

Text only, on the trusted side: the code cells are tokenised, never executed.

1. Normalise. Each code cell goes through Python's `tokenize`: comments, docstrings, blank lines and
   formatting go; every string literal becomes `S` and every number `N`; names the student chose
   (variables, functions, classes, their own `self.x` attributes) become placeholders numbered by
   first appearance within each top-level statement, so renaming, reordering functions or
   reformatting does not hide a copy. Keywords, builtins, `self`, imported names and library
   attributes (`nn.Linear`, `torch.sigmoid`) stay as they are. IPython magics are dropped. A cell
   that does not tokenise (a syntax error) is tokenised line by line, as far as each line goes.
2. Remove the template. A logical line whose line-local normal form also occurs in the assignment's
   template (`assignment.ipynb`, plus the files `[similarity] template` names, e.g. the lesson's
   code) is dropped before renaming: code everyone was given is not evidence.
3. Fingerprint. Hashes of k-grams of tokens, winnowed (the minimum of every window of w hashes), as
   MOSS does: any run of k + w - 1 shared tokens is found, whatever else the files hold.
4. Compare. An inverted index from fingerprint to submissions counts the shared fingerprints of
   every pair that has any, so no pair of unrelated files is looked at. A fingerprint held by more
   than max(10, 10 %) of the batch is a common idiom of the class and is not evidence. The score is
   the share of the smaller submission's fingerprints the other one holds; pairs at or above the
   threshold are reported with the shared regions mapped back to each file's own cells and lines.

Submissions of one person (resubmissions) are never a pair; a file with fewer than `min_tokens`
tokens of its own (template removed) takes no part.
"""

from __future__ import annotations

import builtins
import io
import keyword
import tokenize
import zlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from grader.intake.submission import Cell, InvalidSubmission, read_submission
from grader.outputs.csv_safety import number_cell, safe_writer

if TYPE_CHECKING:
    from grader.intake.collect import BatchItem
    from grader.result import Result
    from grader.spec import LoadedAssignment

K = 10       # tokens per k-gram
WINDOW = 6   # k-grams per winnowing window: a shared run of K + WINDOW - 1 = 15 tokens is always seen
COMMON_MIN, COMMON_SHARE = 10, 0.10  # a fingerprint in more submissions than this is an idiom, not evidence
MAX_RETRIES = 50  # syntax errors in one cell before the rest of it is tokenised line by line
MAX_BLOCKS, MAX_BLOCK_LINES = 12, 200  # what a pair shows of its shared code (the label keeps the whole span)
DEFAULT_THRESHOLD, DEFAULT_MIN_TOKENS = 0.8, 60

_KEEP = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | frozenset(dir(builtins)) | {"self", "cls"}
_SKIP = {tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING, tokenize.ENDMARKER}
_ASSIGN_OPS = {"=", "+=", "-=", "*=", "/=", "//=", "%=", "**=", "@=", "&=", "|=", "^=", ">>=", "<<=", ":="}


@dataclass(frozen=True)
class _Tok:
    type: int
    string: str
    cell: int
    line: int
    col: int


@dataclass
class Document:
    """One submission, normalised: `tokens[i]` came from cell `where[i][0]`, line `where[i][1]`."""

    student_id: str
    person: str
    tokens: list[str]
    where: list[tuple[int, int]]
    lines: dict[int, list[str]]  # cell number -> its source lines, for showing the shared code
    fingerprints: dict[int, list[int]] = field(default_factory=dict)  # hash -> token indices where it starts


@dataclass(frozen=True)
class Segment:
    cell: int
    first: int  # 1-based source lines, inclusive
    last: int
    text: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"c{self.cell} L{self.first}" + (f"-{self.last}" if self.last != self.first else "")


@dataclass(frozen=True)
class SharedBlock:
    a: tuple[Segment, ...]
    b: tuple[Segment, ...]


@dataclass(frozen=True)
class SimilarPair:
    student_a: str
    student_b: str
    score: float
    shared: int  # fingerprints in common
    blocks: tuple[SharedBlock, ...]

    @property
    def shared_lines(self) -> str:
        """`c3 L2-5 <-> c1 L10-13; ...`: cell and lines in a, then in b, per shared region."""
        return "; ".join(f"{' '.join(s.label for s in block.a)} <-> {' '.join(s.label for s in block.b)}"
                         for block in self.blocks)


# ---- 1. tokens ------------------------------------------------------------------------------------

def _strip_magics(source: str) -> str:
    lines = source.split("\n")
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in lines)


def _keep(tok: tokenize.TokenInfo) -> bool:
    return tok.type not in _SKIP and not (tok.type == tokenize.ERRORTOKEN and not tok.string.strip())


def cell_tokens(cell: Cell) -> list[_Tok]:
    """The cell's tokens. Where `tokenize` fails (a syntax error), the statements before the failure
    are kept, the line where the failing statement starts is skipped, and tokenising goes on after it."""
    lines = [line + "\n" for line in _strip_magics(cell.source).split("\n")]  # numbered as Document.lines
    result: list[_Tok] = []
    start = failures = 0
    while start < len(lines):
        got: list[tokenize.TokenInfo] = []
        # After many failures (not Python at all), each line alone: the retries would cost O(lines^2).
        chunk = lines[start:] if failures < MAX_RETRIES else lines[start:start + 1]
        try:
            for tok in tokenize.generate_tokens(io.StringIO("".join(chunk)).readline):
                got.append(tok)
            failed_at = None
        except IndentationError as exc:
            failed_at, skip = exc.lineno or 1, 0  # start again at the badly indented line, as the first
        except (tokenize.TokenError, SyntaxError) as exc:
            position = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], tuple) else (1, 0)
            failed_at, skip = position[0], 1
        if failed_at is None:
            result.extend(_Tok(t.type, t.string, cell.number, t.start[0] + start, t.start[1]) for t in got if _keep(t))
            if len(chunk) == len(lines) - start:
                break
            start += len(chunk)
            continue
        failures += 1
        ends = [i for i, t in enumerate(got) if t.type == tokenize.NEWLINE]
        complete = got[:ends[-1] + 1] if ends else []
        result.extend(_Tok(t.type, t.string, cell.number, t.start[0] + start, t.start[1]) for t in complete if _keep(t))
        pending = [t for t in got[len(complete):] if _keep(t)]
        if pending:
            failed_at, skip = pending[0].start[0], 1  # the line where the unfinished statement starts
        start = max(start + failed_at - 1 + skip, start + 1)
    return result


def logical_lines(tokens: list[_Tok]) -> list[list[_Tok]]:
    lines: list[list[_Tok]] = []
    current: list[_Tok] = []
    for tok in tokens:
        if tok.type == tokenize.NEWLINE or tok.string == ";":
            if current:
                lines.append(current)
            current = []
        elif tok.string in (")", "]", "}") and current and current[-1].string == ",":
            current[-1] = tok  # a trailing comma is formatting
        else:
            current.append(tok)
    if current:
        lines.append(current)
    return [line for line in lines if not all(t.type == tokenize.STRING for t in line)]  # docstrings


def _literal(tok: _Tok) -> str | None:
    if tok.type == tokenize.STRING:
        return "S"
    if tok.type == tokenize.NUMBER:
        return "N"
    return None


def line_key(line: list[_Tok]) -> tuple[str, ...]:
    """A logical line with names renamed within the line alone: how template lines are matched."""
    names: dict[str, str] = {}
    out = []
    for i, tok in enumerate(line):
        literal = _literal(tok)
        if literal:
            out.append(literal)
        elif tok.type == tokenize.NAME and tok.string not in _KEEP and not (i and line[i - 1].string == "."):
            out.append(names.setdefault(tok.string, f"v{len(names)}"))
        else:
            out.append(tok.string)
    return tuple(out)


def _bound_names(lines: list[list[_Tok]]) -> tuple[set[str], set[str]]:
    """Names imports bind (kept as they are) and attributes the code assigns (its own, renamed)."""
    imported: set[str] = set()
    assigned: set[str] = set()
    for line in lines:
        if line[0].string in ("import", "from"):
            imported.update(t.string for t in line if t.type == tokenize.NAME)
        for i in range(1, len(line) - 1):
            if line[i - 1].string == "." and line[i].type == tokenize.NAME and line[i + 1].string in _ASSIGN_OPS:
                assigned.add(line[i].string)
    return imported - {"import", "from", "as"}, assigned


def normalise(student_id: str, cells: Sequence[Cell], template: frozenset[tuple[str, ...]] = frozenset(),
              person: str | None = None) -> Document:
    every = [line for cell in cells for line in logical_lines(cell_tokens(cell))]
    imported, assigned = _bound_names(every)  # template lines included: `import torch` binds `torch`
    tokens: list[str] = []
    where: list[tuple[int, int]] = []
    names: dict[str, str] = {}
    for line in every:
        if line[0].col == 0:
            names = {}  # placeholders are numbered within each top-level statement
        if line_key(line) in template:
            continue
        for i, tok in enumerate(line):
            text = _literal(tok) or tok.string
            if tok.type == tokenize.NAME and tok.string not in _KEEP and tok.string not in imported:
                attribute = i > 0 and line[i - 1].string == "."
                if not attribute or tok.string in assigned:
                    text = names.setdefault(tok.string, f"v{len(names)}")
            tokens.append(text)
            where.append((tok.cell, tok.line))
        tokens.append(";")
        where.append(where[-1])
    return Document(student_id=student_id, person=person or student_id, tokens=tokens, where=where,
                    lines={c.number: c.source.split("\n") for c in cells})


def template_keys(paths: Iterable[Path]) -> frozenset[tuple[str, ...]]:
    """The line keys of the template's code: the notebook handed out, the lesson's code."""
    keys: set[tuple[str, ...]] = set()
    for path in paths:
        try:
            cells = read_submission(path).cells
        except (InvalidSubmission, OSError):
            continue
        for cell in cells:
            keys.update(line_key(line) for line in logical_lines(cell_tokens(cell)))
    return frozenset(keys)


# ---- 2. fingerprints --------------------------------------------------------------------------------

def fingerprints(tokens: list[str], k: int = K, window: int = WINDOW) -> dict[int, list[int]]:
    """Winnowing: hash every k-gram, keep the rightmost minimum of each window; hash -> positions."""
    hashes = [zlib.crc32("\x1f".join(tokens[i:i + k]).encode()) for i in range(len(tokens) - k + 1)]
    chosen: dict[int, list[int]] = {}
    if not hashes:
        return chosen
    if len(hashes) <= window:
        position = min(range(len(hashes)), key=lambda i: (hashes[i], -i))
        return {hashes[position]: [position]}
    last = -1
    for start in range(len(hashes) - window + 1):
        block = hashes[start:start + window]
        low = min(block)
        position = start + window - 1 - block[::-1].index(low)
        if position != last:
            chosen.setdefault(low, []).append(position)
            last = position
    return chosen


# ---- 3. comparing --------------------------------------------------------------------------------------

def find_similar(documents: list[Document], threshold: float = DEFAULT_THRESHOLD,
                 min_tokens: int = DEFAULT_MIN_TOKENS) -> list[SimilarPair]:
    """Pairs of documents of different people scoring at least `threshold`, best first."""
    docs = [d for d in documents if len(d.tokens) >= min_tokens]
    for doc in docs:
        if not doc.fingerprints:
            doc.fingerprints = fingerprints(doc.tokens)
    holders: dict[int, list[int]] = defaultdict(list)
    for index, doc in enumerate(docs):
        for value in doc.fingerprints:
            holders[value].append(index)
    common = max(COMMON_MIN, int(COMMON_SHARE * len(docs)))
    evidence = {value: held for value, held in holders.items() if 1 < len(held) <= common}
    counts: dict[tuple[int, int], int] = defaultdict(int)
    for held in evidence.values():
        for x in range(len(held)):
            for y in range(x + 1, len(held)):
                counts[held[x], held[y]] += 1
    sizes = [sum(1 for v in d.fingerprints if len(holders[v]) <= common) for d in docs]
    pairs = []
    for (x, y), shared in counts.items():
        a, b = docs[x], docs[y]
        smaller = min(sizes[x], sizes[y])
        if a.person == b.person or not smaller:
            continue
        score = shared / smaller
        if score >= threshold:
            pairs.append(SimilarPair(a.student_id, b.student_id, round(min(score, 1.0), 3), shared,
                                     shared_blocks(a, b, evidence)))
    return sorted(pairs, key=lambda p: (-p.score, p.student_a, p.student_b))


def shared_blocks(a: Document, b: Document, evidence: dict[int, list[int]] | None = None) -> tuple[SharedBlock, ...]:
    """The shared k-grams as regions of each file: the longest runs where both sides advance together."""
    matches = sorted((pa, pb) for v, at_a in a.fingerprints.items() if v in b.fingerprints and (evidence is None or v in evidence)
                     for pa in at_a[:8] for pb in b.fingerprints[v][:8])
    runs: list[list[tuple[int, int]]] = []
    gap = K + WINDOW
    open_runs: list[list[tuple[int, int]]] = []
    for pa, pb in matches:
        open_runs = [run for run in open_runs if pa - run[-1][0] <= gap]
        for run in open_runs:
            la, lb = run[-1]
            if pa - la > 0 and 0 < pb - lb <= gap:
                run.append((pa, pb))
                break
        else:
            runs.append([(pa, pb)])
            open_runs.append(runs[-1])
    if not runs:
        return ()
    # Where the same code occurs twice (the lesson's classes begin alike), prefer the reading that
    # keeps the files' order: the offset of the longest run.
    offset = (lambda run: run[0][1] - run[0][0])(max(runs, key=len))
    chosen: list[tuple[int, int, int, int]] = []
    for run in sorted(runs, key=lambda run: (-(len(run) // 4), abs(run[0][1] - run[0][0] - offset), run[0])):
        a0, a1, b0, b1 = run[0][0], run[-1][0] + K - 1, run[0][1], run[-1][1] + K - 1
        if any(a0 <= y1 and x0 <= a1 or b0 <= z1 and w0 <= b1 for x0, y1, w0, z1 in chosen):
            continue  # the same code matched elsewhere already
        chosen.append((a0, a1, b0, b1))
        if len(chosen) == MAX_BLOCKS:
            break
    return tuple(SharedBlock(_segments(a, a0, a1), _segments(b, b0, b1)) for a0, a1, b0, b1 in sorted(chosen))


def _segments(doc: Document, first: int, last: int) -> tuple[Segment, ...]:
    spans: dict[int, list[int]] = {}
    for cell, line in doc.where[first:min(last, len(doc.where) - 1) + 1]:
        span = spans.setdefault(cell, [line, line])
        span[0], span[1] = min(span[0], line), max(span[1], line)
    segments = []
    for cell, (lo, hi) in spans.items():
        source = doc.lines.get(cell, [])
        segments.append(Segment(cell, lo, hi, tuple(source[lo - 1:min(hi, lo + MAX_BLOCK_LINES - 1)])))
    return tuple(segments)


# ---- 4. the batch ----------------------------------------------------------------------------------------

def template_paths(assignment: LoadedAssignment) -> list[Path]:
    folder = Path(assignment.folder)
    return [folder / name for name in assignment.spec.similarity.template if (folder / name).is_file()]


def similar_in_batch(items: list[BatchItem], results: list[Result], assignment: LoadedAssignment,
                     out: Path) -> list[SimilarPair]:
    """Read every valid submission of the batch again (cheap), compare, write OUT/similarity.csv."""
    config = assignment.spec.similarity
    status = {r.submission.student_id: r.status for r in results}
    template = template_keys(template_paths(assignment))
    documents = []
    for item in items:
        if status.get(item.student_id, "invalid") == "invalid":
            continue
        try:
            submission = read_submission(item.path, item.student_id)
            documents.append(normalise(item.student_id, submission.cells, template, person=item.student))
        except Exception:  # unreadable, or code no tokeniser expected: this file takes no part
            continue
    pairs = find_similar(documents, config.threshold, config.min_tokens)
    write_similarity_csv(out / "similarity.csv", pairs)
    return pairs


def write_similarity_csv(path: Path, pairs: list[SimilarPair]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = safe_writer(handle)  # ids come from file names
        writer.writerow(["student_a", "student_b", "score", "shared_lines"])
        for pair in pairs:
            writer.writerow([pair.student_a, pair.student_b, number_cell(pair.score, ".3f"), pair.shared_lines])
