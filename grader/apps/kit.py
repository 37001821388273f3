"""`grader kit -a NAME -o DIR`: what an instructor hands out for students' self-checks.

DIR gets the assignment's template notebook and a wheel, `grader_kit_<id>`, that `pip install`s
offline (it needs the grader installed beside it, and nothing else): a package holding the
assignment's public folder, which the grader finds through a `grader.assignments` entry point, so
that `import grader; grader.check("mlr")` in the student's notebook checks against it.

The public folder is the spec less what students must not see: no comment (the instructor's
notes), no `[[checks]]` entry that is not `visible` (nor its texts, options or threshold), none of
the functions of checks.py that only those use, no options of a check of the grader's that is not
visible, and for a model whose test metric is not visible, placeholder thresholds (the metric stays
hidden: a self-check computes it and shows nothing of it). Where the spec holds validation rows out,
the kit's spec scores on them, and an instructor's data file goes without its test rows' targets
(grader.apps.kit_data). The messages file goes as it is.
The wheel is written with the standard library (a zip with its dist-info, RECORD hashed), so that
an instructor's machine needs no build tool.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import tomlkit

from grader.apps.kit_data import public_data
from grader.pipeline import parse_assignment
from grader.spec import SPEC_FILE, LoadedAssignment
from grader.spec.load import CHECKS_FILE, KIT_ENTRY_POINTS
from grader.spec.messages import MESSAGES_FILE
from grader.spec.schema import LOWER_IS_BETTER
from grader.version import __version__

# A hidden metric's thresholds in the kit (full, zero): valid for the schema, and saying nothing of
# the real ones, for an error (lower is better) and for a score.
PLACEHOLDER_ERROR, PLACEHOLDER_SCORE = (0.0, 1e9), (1.0, 0.0)


@dataclass(frozen=True)
class Kit:
    wheel: Path
    template: Path | None
    withheld: list[str]  # what the public folder leaves out, for the instructor to read


def public_files(loaded: LoadedAssignment) -> tuple[dict[str, bytes], list[str]]:
    """The kit's assignment folder, file by file, and what it leaves out."""
    document = tomlkit.parse((loaded.folder / SPEC_FILE).read_text(encoding="utf-8"))
    withheld: list[str] = []
    kept_functions: set[str] = set()
    if "checks" in document:
        checks = document["checks"]
        for check in list(checks):
            if check.get("visibility", "visible") != "visible":
                withheld.append(f"check {check['id']} ({check.get('visibility')})")
                checks.remove(check)
            else:
                kept_functions.add(str(check["function"]))
        if not checks:
            del document["checks"]
    for model in document["models"]:
        hidden = [name for name, seen in model.get("visibility", {}).items() if seen != "visible"]
        for name in hidden:  # a hidden check's options (a parameter limit) are its threshold
            if name != "capture" and name in model.get("checks", {}):
                del model["checks"][name]
                withheld.append(f"the options of {model['id']}'s {name} check")
        if "metric" in hidden:
            lower_is_better = str(model["metric"]["kind"]) in LOWER_IS_BETTER
            full, zero = PLACEHOLDER_ERROR if lower_is_better else PLACEHOLDER_SCORE
            model["metric"]["full_credit"], model["metric"]["zero_credit"] = full, zero
            withheld.append(f"the thresholds of {model['id']}'s {model['metric']['name']} ({model['visibility']['metric']})")
    if "validation" in document["dataset"]:  # the kit's self-checks score on the validation rows
        document["dataset"]["scored_on"] = "validation"
    data_files, left_out = public_data(loaded, document["dataset"])
    withheld += left_out
    # Without its comments: they are the instructor's notes (how a threshold was chosen).
    files = {SPEC_FILE: tomlkit.dumps(document.unwrap()).encode("utf-8")}
    messages = loaded.folder / MESSAGES_FILE
    if messages.is_file():
        files[MESSAGES_FILE] = messages.read_bytes()
    if loaded.checks_source is not None and kept_functions:
        files[CHECKS_FILE] = only_functions(loaded.checks_source.decode("utf-8"), kept_functions).encode("utf-8")
    # The data as the grading reads it (its data.py, file, index files), less the test rows' targets.
    files.update(data_files)
    return files, withheld


def only_functions(source: str, kept: set[str]) -> str:
    """checks.py without the top-level functions no kept check names (and nothing kept calls)."""
    tree = ast.parse(source)
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    needed, todo = set(), [name for name in kept if name in functions]
    while todo:  # a kept function's helpers are kept too
        name = todo.pop()
        if name in needed:
            continue
        needed.add(name)
        todo += [node.id for node in ast.walk(functions[name]) if isinstance(node, ast.Name) and node.id in functions]
    lines = source.splitlines(keepends=True)
    for name, node in sorted(functions.items(), key=lambda item: -item[1].lineno):
        if name not in needed:
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            del lines[first - 1:node.end_lineno]
    return "".join(lines)


def write_kit(loaded: LoadedAssignment, out: Path) -> Kit:
    files, withheld = public_files(loaded)
    spec_id = loaded.spec.id
    with tempfile.TemporaryDirectory() as scratch:  # the public folder must load as it is
        folder = Path(scratch) / spec_id
        folder.mkdir()
        for name, data in files.items():
            (folder / name).write_bytes(data)
        parse_assignment(files[SPEC_FILE], folder, files.get(MESSAGES_FILE), files.get(CHECKS_FILE), files)
    out.mkdir(parents=True, exist_ok=True)
    template = next((loaded.folder / name for name in loaded.spec.similarity.template
                     if (loaded.folder / name).is_file()), None)
    if template is not None:
        shutil.copyfile(template, out / template.name)
    wheel = build_wheel(spec_id, files, loaded.spec.title.get("en") or spec_id, out)
    return Kit(wheel, out / template.name if template is not None else None, withheld)


def build_wheel(spec_id: str, files: dict[str, bytes], title: str, out: Path) -> Path:
    """A pure-Python wheel: `grader_kit_<id>/<id>/` holding `files`, found through its entry point."""
    package = f"grader_kit_{spec_id}"
    dist_info = f"{package}-{__version__}.dist-info"
    contents: dict[str, bytes] = {
        f"{package}/__init__.py": f'"""The self-check kit of {spec_id}: `import grader; grader.check(MODEL)`."""\n'.encode(),
        **{f"{package}/{spec_id}/{name}": data for name, data in files.items()},
        f"{dist_info}/METADATA": (f"Metadata-Version: 2.1\nName: {package}\nVersion: {__version__}\n"
                                  f"Summary: Self-checks of {title} (grader kit)\n").encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: grader kit\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{dist_info}/entry_points.txt": f"[{KIT_ENTRY_POINTS}]\n{spec_id} = {package}\n".encode(),
        f"{dist_info}/top_level.txt": f"{package}\n".encode(),
    }
    record = [f"{name},sha256={_digest(data)},{len(data)}" for name, data in contents.items()]
    contents[f"{dist_info}/RECORD"] = ("\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n").encode()
    path = out / f"{package}-{__version__}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in contents.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), data)  # the same bytes every time
    return path


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")
