"""`grader new NAME --from SOLUTION`: an assignment folder drafted from a reference solution.

The instructor edits from the draft; nothing here is a verdict. What it finds:

- the model classes, statically (the solution's code is not run for this): each class statement,
  its constructor's parameter names, its methods, and the sizes it is built with, read from the
  first call of the class with whole numbers (`MLR(3, 1)`) after its definition, else from the
  constructor's defaults. A class defined twice (the lesson's `MLPR`, then its autoencoder) is two
  models, told apart by the methods the second adds.
- the data each model reads, from its sizes over the columns of the data set (`--dataset`, default
  Iris): an input and output of the same width is an autoencoder of those columns; an output as
  wide as the classes is a classifier; anything else regresses the next columns.
- the structure, from the graph the grader captures: the solution is run in the sandbox under a
  first draft, and the trusted side's layers of each model become its `structure.layers`.
- the thresholds, measured: `grader calibrate` runs on the draft and writes them.

It writes `assignment.toml` (with comments saying where each value came from), the students'
template (the solution with the bodies of the classes' methods replaced by `raise
NotImplementedError`), and a README; then grades the solution once more on what it wrote.
"""

from __future__ import annotations

import ast
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

import nbformat
import tomlkit

from grader.apps import calibrate
from grader.evaluate.evaluator import Evaluator
from grader.evaluate.execute import execute
from grader.intake.submission import Submission, read_submission
from grader.pipeline import grade_file, model_evidence, parse_assignment
from grader.spec import SPEC_FILE, LoadedAssignment
from grader.spec.datasets.registry import MODULES as DATASETS
from grader.spec.datasets.registry import class_names, columns
from grader.spec.layer_pattern import TRANSPARENT
from grader.spec.schema import CLASS_TARGETS, LayerKind

DEFAULT_DATASET = "iris"
STRUCTURE_LAYERS = frozenset(get_args(LayerKind))  # what a spec may name today
CALIBRATION_SEEDS = 10
TEMPLATE_BODY = "raise NotImplementedError  # TODO"


class DraftError(ValueError):
    """The solution gives nothing to draft from (no model class, no sizes): said plainly."""


@dataclass
class FoundClass:
    """One class statement of the solution, with what the draft needs of it."""

    name: str
    parameters: list[str]
    methods: list[str]
    args: list[int] | None = None
    where: str = ""  # where the sizes came from: a call, or the defaults
    called: bool = False  # the sizes are a call's (which the constructor's defaults give way to)


@dataclass
class DraftModel:
    found: FoundClass
    id: str
    features: list[int]
    target: str | list[int]
    project: str | None = None  # the autoencoder's second method
    layers: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


# ---- reading the solution ------------------------------------------------------------------------
def found_classes(submission: Submission) -> list[FoundClass]:
    """The classes the solution defines, in order, each with the sizes of its first call after it."""
    found: list[FoundClass] = []
    current: dict[str, FoundClass] = {}
    for cell in submission.cells:
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for statement in tree.body:
            if isinstance(statement, ast.ClassDef):
                found.append(_described(statement))
                current[statement.name] = found[-1]
                continue
            for node in ast.walk(statement):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in current
                        and not current[node.func.id].called and node.args and not node.keywords):
                    sizes = _whole_numbers(node.args)
                    if sizes is not None:  # a call with whole numbers only: the sizes it is built with
                        cls = current[node.func.id]
                        cls.args, cls.where, cls.called = sizes, f"the call {cls.name}({', '.join(map(str, sizes))})", True
    return found


def _whole_numbers(nodes: list[ast.expr]) -> list[int] | None:
    """The values of `nodes` where every one is a whole-number literal, else None."""
    values = [node.value for node in nodes if isinstance(node, ast.Constant) and type(node.value) is int]
    return [int(value) for value in values] if len(values) == len(nodes) else None


def _described(statement: ast.ClassDef) -> FoundClass:
    methods = [node.name for node in statement.body if isinstance(node, ast.FunctionDef)]
    init = next((node for node in statement.body if isinstance(node, ast.FunctionDef) and node.name == "__init__"), None)
    parameters: list[str] = []
    args: list[int] | None = None
    where = ""
    if init is not None:
        parameters = [a.arg for a in init.args.args[1:]]
        defaults = init.args.defaults
        sizes = _whole_numbers(defaults)
        if parameters and len(defaults) == len(parameters) and sizes is not None:
            args, where = sizes, "the constructor's defaults"
    return FoundClass(statement.name, parameters, [m for m in methods if not m.startswith("__")], args, where)


# ---- drafting ------------------------------------------------------------------------------------
def draft_models(classes: list[FoundClass], dataset: str = DEFAULT_DATASET) -> tuple[list[DraftModel], list[str]]:
    """A model for each class with sizes the data set's columns can feed; the others, each with its reason."""
    width, classes_there = len(columns(dataset)), len(class_names(dataset))
    class_target = "species" if dataset == "iris" else "class"  # Iris's own word, as the lesson's spec says
    models: list[DraftModel] = []
    skipped: list[str] = []
    for cls in classes:
        if cls.args is None or len(cls.args) < 2:
            skipped.append(f"{cls.name}: no sizes found (no call such as {cls.name}(4, 3) and no whole-number defaults)")
            continue
        n_in, n_out = cls.args[0], cls.args[-1]
        extra = [m for m in cls.methods if m != "forward"]
        if n_in == n_out and n_in <= width:
            model = DraftModel(cls, "", list(range(n_in)), list(range(n_in)), project=extra[0] if extra else None)
        elif n_out == classes_there and n_in <= width:
            model = DraftModel(cls, "", list(range(n_in)), class_target)
        elif n_in + n_out <= width:
            model = DraftModel(cls, "", list(range(n_in)), list(range(n_in, n_in + n_out)))
        else:
            skipped.append(f"{cls.name}{tuple(cls.args)}: the {width} columns of {dataset} cannot feed {n_in} inputs "
                           f"and {n_out} outputs")
            continue
        model.id = _unique_id(cls.name, {m.id for m in models})
        models.append(model)
    return models, skipped


def _unique_id(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9_]", "_", name.lower()).strip("_") or "model"
    base = base if base[0].isalpha() else f"m_{base}"
    candidate, number = base, 2
    while candidate in taken:
        candidate, number = f"{base}_{number}", number + 1
    return candidate


def spec_document(name: str, models: list[DraftModel], solution: Path, lang: str,
                  dataset_name: str = DEFAULT_DATASET) -> tomlkit.TOMLDocument:
    document = tomlkit.document()
    document.add(tomlkit.comment(f"Drafted by `grader new {name} --from {solution.name}`: edit from here, then run"))
    document.add(tomlkit.comment(f"`grader validate -a {name}` and `grader calibrate {solution.name} -a {name} --write`."))
    document.add("id", name)
    document.add("lang", lang)
    document.add("mode", "definitions")
    document.add("timeout_s", 300)
    title = tomlkit.table()
    title.add("ja", name)
    title.add("en", name)
    document.add("title", title)
    dataset = tomlkit.table()
    dataset.add("name", dataset_name)
    dataset.add("train_rows", "odd")
    dataset.add("test_rows", "even")
    document.add("dataset", dataset)
    recipe = tomlkit.table()
    recipe.add(tomlkit.comment("The grader's training, the same for every student; the best of three seeds is graded."))
    for key, value in (("optimizer", "adam"), ("lr", 0.05), ("epochs", 500), ("batch_size", 75), ("loss", "mse"),
                       ("seeds", [0, 1, 2]), ("aggregate", "best")):
        recipe.add(key, value)
    document.add("recipe", recipe)
    tables = tomlkit.aot()
    for model in models:
        tables.append(_model_table(model))
    document.add("models", tables)
    return document


def _model_table(model: DraftModel) -> Any:
    cls = model.found
    table = tomlkit.table()
    table.add(tomlkit.comment(f"class {cls.name}: sizes from {cls.where}"
                              + ("; layers from the captured graph" if model.layers else "")))
    table.add("id", model.id)
    title = tomlkit.inline_table()
    title.update({"ja": cls.name, "en": cls.name})
    table.add("title", title)
    table.add("class_names", [cls.name])
    if model.project:
        table.add("match_methods", [model.project])
    table.add("args", list(cls.args or []))
    if len(cls.parameters) == len(cls.args or []):
        table.add("arg_names", cls.parameters)
    table.add("features", model.features)
    table.add("target", model.target)
    layers = model.layers or _placeholder_layers(cls.args or [])
    structure = tomlkit.inline_table()
    structure.update({"layers": layers})
    hidden = 1 if len(cls.args or []) > 2 else None
    if hidden is not None:
        structure["hidden_arg"] = hidden
    table.add("structure", structure)
    if layers[-1] in ("sigmoid", "softmax"):
        table.add("output_range", [0.0, 1.0])
    if model.project and hidden is not None:
        project = tomlkit.inline_table()
        project.update({"method": model.project, "width_arg": hidden})
        table.add("project", project)
    metric = tomlkit.inline_table()
    if model.target in CLASS_TARGETS:
        metric.update({"name": "test_accuracy", "kind": "accuracy", "full_credit": 0.9, "zero_credit": 0.6})
    else:
        metric.update({"name": "test_mse", "kind": "mse", "full_credit": 0.1, "zero_credit": 0.5})
    table.add("metric", metric)
    return table


def _placeholder_layers(args: list[int]) -> list[str]:
    """Linear layers only, one per size step: what the first draft says until the capture says more."""
    return ["linear"] * max(len(args) - 1, 1)


def captured_layers(submission: Submission, loaded: LoadedAssignment) -> dict[str, list[str]]:
    """Each model's layer kinds in forward order, from the graph the trusted side captured of the
    solution (run in the sandbox under `loaded`): `linear(4,3)` is `linear`; dropout computes
    nothing where predictions are made and is left out."""
    execution = execute(submission, loaded)
    found: dict[str, list[str]] = {}
    with Evaluator() as evaluator:
        for model in loaded.spec.models:
            evidence = model_evidence(execution.observations, submission, model.id, {}, loaded,
                                      execution.splits[model.id], evaluator)
            tokens = evidence.observation.layers if evidence.observation is not None else None
            if tokens:
                kinds = [token.split("(", 1)[0] for token in tokens]
                found[model.id] = [kind for kind in kinds if kind not in TRANSPARENT]
    return found


# ---- the students' template --------------------------------------------------------------------
def without_method_bodies(source: str) -> str:
    """`source` with the body of every method of every class replaced by `raise NotImplementedError`
    (its docstring kept); a cell that does not parse is kept as it is."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    lines = source.splitlines(keepends=True)
    cuts: list[tuple[int, int, str]] = []  # (first line, last line, indentation), 1-based
    for cls in (node for node in tree.body if isinstance(node, ast.ClassDef)):
        for method in (node for node in cls.body if isinstance(node, ast.FunctionDef)):
            kept = 1 if ast.get_docstring(method) is not None else 0  # the docstring stays
            if len(method.body) <= kept:
                continue
            start = method.body[kept].lineno
            indent = lines[start - 1][:len(lines[start - 1]) - len(lines[start - 1].lstrip())]
            cuts.append((start, method.body[-1].end_lineno or start, indent))
    for start, end, indent in sorted(cuts, reverse=True):
        lines[start - 1:end] = [f"{indent}{TEMPLATE_BODY}\n"]
    return "".join(lines)


def write_template(solution: Path, folder: Path) -> Path:
    """The template beside the spec: `assignment.ipynb` (outputs cleared) or `assignment.py`."""
    if solution.suffix == ".ipynb":
        notebook = nbformat.read(solution, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                cell.source = without_method_bodies(cell.source)
                cell.outputs, cell.execution_count = [], None
        path = folder / "assignment.ipynb"
        nbformat.write(notebook, path)
        return path
    path = folder / "assignment.py"
    path.write_text(without_method_bodies(solution.read_text(encoding="utf-8")), encoding="utf-8")
    return path


def readme(name: str, models: list[DraftModel], skipped: list[str], template: Path, solution: Path) -> str:
    lines = [f"# {name}", "", f"Drafted by `grader new {name} --from {solution.name}`. Edit `{SPEC_FILE}` (titles in",
             "both languages, the recipe, the thresholds), then check it with", "",
             f"    grader validate -a {name}", f"    grader check {solution.name} -a {name}", "",
             f"`{template.name}` is what students get: the solution with its methods' bodies removed.", "",
             "| model | class | sizes | data | layers |", "|---|---|---|---|---|"]
    for model in models:
        data = str(model.target) if model.target in CLASS_TARGETS else f"{model.features} -> {model.target}"
        lines.append(f"| {model.id} | {model.found.name} | {model.found.args} | {data} | {' → '.join(model.layers)} |")
    if skipped:
        lines += ["", "Not drafted (add them by hand):", *(f"- {reason}" for reason in skipped)]
    return "\n".join(lines) + "\n"


# ---- the command ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Drafted:
    folder: Path
    models: list[str]
    skipped: list[str]
    score: float
    max_score: float
    failing: list[str]  # the checks the solution does not pass on the written spec


def new_assignment(name: str, solution: Path, out: Path, lang: str = "ja", seeds: int = CALIBRATION_SEEDS,
                   dataset: str = DEFAULT_DATASET) -> Drafted:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise DraftError(f"{name!r} cannot be an assignment id: lower-case letters, digits and _, a letter first")
    folder = out / name
    if folder.exists():
        raise DraftError(f"{folder} exists already: choose another name or -o folder")
    submission = read_submission(solution)
    if dataset not in DATASETS:
        raise DraftError(f"unknown data set {dataset!r} (known: {', '.join(sorted(DATASETS))})")
    models, skipped = draft_models(found_classes(submission), dataset)
    if not models:
        raise DraftError("no model class to draft from: " + ("; ".join(skipped) or "the solution defines no class"))
    folder.mkdir(parents=True)
    try:
        spec = folder / SPEC_FILE
        spec.write_text(tomlkit.dumps(spec_document(name, models, solution, lang, dataset)), encoding="utf-8")
        layers = captured_layers(submission, _loaded(folder))
        for model in models:
            model.layers = layers.get(model.id, [])
            unknown = sorted(set(model.layers) - STRUCTURE_LAYERS)
            if unknown or model.layers.count("linear") != len(model.found.args or []) - 1:
                model.problems.append(f"layers {model.layers} are not a sequence a spec can name today")
                model.layers = []
        spec.write_text(tomlkit.dumps(spec_document(name, models, solution, lang, dataset)), encoding="utf-8")
        loaded = _loaded(folder)
        calibrate.write(loaded, calibrate.calibrate(loaded, solution, seeds))
        template = write_template(solution, folder)
        (folder / "README.md").write_text(readme(name, models, skipped, template, solution), encoding="utf-8")
        result = grade_file(solution, _loaded(folder), lang="en").result
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    failing = [f"{c.id}: {c.message}" for c in result.checks if c.status != "passed"]
    return Drafted(folder, [m.id for m in models], skipped + [f"{m.id}: {p}" for m in models for p in m.problems],
                   result.score, result.max_score, failing)


def _loaded(folder: Path) -> LoadedAssignment:
    return parse_assignment((folder / SPEC_FILE).read_bytes(), folder)
