"""`grader validate -a PATH`: is an assignment ready to grade, and what does it grade?

Everything the grader would refuse later is looked for now, all at once, each problem with the key
(or file) it is in: the TOML itself, every schema error, the messages file, the checks' names and
options, and the data (each model's split made from the data set as grading makes it: feature and
target columns that exist, a target as wide as the model's output). With no problem, one screen says
what the assignment grades: its data, recipe, models with their checks and points, and thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from grader.checks.registry import checks_for, max_score
from grader.pipeline import checked_assignment
from grader.spec import AssignmentError, LoadedAssignment, load_assignment
from grader.spec.schema import Dataset, Recipe


@dataclass(frozen=True)
class Validation:
    folder: str
    problems: list[str]
    assignment: LoadedAssignment | None  # None where there is a problem


def validate(name_or_path: str, assignments: tuple[Path, ...] = ()) -> Validation:
    try:
        loaded = load_assignment(name_or_path, assignments)
    except AssignmentError as exc:  # the TOML, the schema (every error, with its key) or the messages file
        return Validation(name_or_path, _lines(str(exc)), None)
    problems: list[str] = []
    try:
        checked_assignment(loaded)
    except AssignmentError as exc:  # checks and options no check has, texts the catalogue cannot take
        problems += _lines(str(exc))
    problems += _data_problems(loaded)
    return Validation(str(loaded.folder), problems, loaded if not problems else None)


def _lines(text: str) -> list[str]:
    """An AssignmentError's problems, one per line (its first line is a heading when it has several)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[1:] if len(lines) > 1 and "problem(s)" in lines[0] else lines


def _data_problems(loaded: LoadedAssignment) -> list[str]:
    spec = loaded.spec
    # The spec's own validation checked every column, shape and output width against the data set;
    # what is left is the data failing to load.
    try:
        loaded.splits()
    except (OSError, IndexError, KeyError, ValueError) as exc:
        return [f"dataset ({spec.dataset.name}): the models' data could not be made: {type(exc).__name__}: {exc}"]
    return []


def summary(loaded: LoadedAssignment) -> list[str]:
    """One screen: what the assignment grades."""
    spec = loaded.spec
    splits = loaded.splits()
    rows = next(iter(splits.values())) if splits else None
    written = sum(q.points for q in spec.written)
    lines = [f"{spec.id}: {spec.title.get('en') or spec.title.get('ja')} ({loaded.folder})",
             f"  mode {spec.mode}, messages in {spec.lang}, {spec.timeout_s:g} s per submission",
             f"  data: {spec.dataset.name}, {_split(spec.dataset)}"
             + (f" ({len(rows.train_x)} train, {len(rows.test_x)} test)" if rows is not None else "")
             + _validation(loaded),
             f"  {max_score(spec):g} points of checks" + (f" and {written:g} of written answers" if written else "")]
    lines.append(f"  trained: {_recipe(spec.recipe)}" + (" (where a model has no recipe of its own)"
                                                         if any(m.recipe for m in spec.models) else ""))
    for model in spec.models:
        layers = " -> ".join(model.structure.layers or []) or model.structure.parsed().text()
        args = model.named_args if model.keyword_args else model.args
        lines.append(f"  {model.id} ({', '.join(model.class_names)}): {layers}, args {args}, inputs "
                     f"{model.input_text}, {model.task}")
        if model.recipe is not None:
            lines.append(f"    trained: {_recipe(model.recipe)}")
        metric = model.metric
        lines.append(f"    {metric.name} ({metric.kind}): full credit at {metric.full_credit:g}, "
                     f"none at {metric.zero_credit:g}")
        checks = ", ".join(f"{check.name} {check.points_for(model):g}" + _seen(check.visibility_for(model))
                           for check in checks_for(spec, model))
        lines.append(f"    checks: {checks}")
    for question in spec.written:
        lines.append(f"  written {question.id}: {question.points:g} points")
    if spec.checks:
        lines.append(f"  the instructor's checks (checks.py): {', '.join(c.id + ' -> ' + c.function for c in spec.checks)}")
    if spec.due is not None:
        lines.append(f"  due {spec.due.isoformat()}: results `after_due_date` are shown to students from then on")
    return lines


def _seen(visibility: str) -> str:
    """How a check's visibility reads in the summary (nothing for a visible one)."""
    return "" if visibility == "visible" else f" ({visibility.replace('_', ' ')})"


def _split(dataset: Dataset) -> str:
    if dataset.split == "parity":
        return f"train rows {dataset.train_rows}, test rows {dataset.test_rows}"
    if dataset.split == "column":
        return (f"split by the column {dataset.split_column}: {', '.join(dataset.test_values)} test, "
                + (f"{', '.join(dataset.train_values)} train" if dataset.train_values else "the other values train"))
    if dataset.split == "index_files":
        return (f"the rows {dataset.test_index} lists test, "
                + (f"those {dataset.train_index} lists train" if dataset.train_index else "the others train"))
    return f"{dataset.split} split, {dataset.test_fraction:.0%} of the rows test (seed {dataset.seed})"


def _validation(loaded: LoadedAssignment) -> str:
    """What self-checks score on, where the spec holds training rows out for them."""
    held = loaded.spec.dataset.validation
    if held is None:
        return ""
    public = next(iter(loaded.public().splits().values()), None)
    count = f", {len(public.test_x)} rows" if public is not None else ""
    return f"; self-checks score on {held.fraction:.0%} of the training rows (seed {held.seed}{count})"


def _recipe(recipe: Recipe) -> str:
    return (f"{recipe.optimizer} lr {recipe.lr:g}, {recipe.epochs} epochs, batch {recipe.batch_size}, {recipe.loss}, "
            f"seeds {recipe.seeds} ({recipe.aggregate})")
