"""Turn code cells into statements to run, and decide what `definitions` mode runs.

`definitions` mode runs imports, `def`, `class` and cheap assignments, and skips the rest (training
loops, plots, prints). An assignment is cheap when its right side uses only literals, imported
modules and names that were themselves kept: `device = torch.device("cpu")` and `N_HIDDEN = 3` run,
`model = MLR(3, 1)` and `X = train(model)` do not.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass, field

from grader.protocol.wire import CellProblem, Skipped

KEEP_ALWAYS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Pass)
# Plotting and data libraries a model class does not need at definition time: in definitions mode
# their imports bind a proxy that imports on first use (matplotlib and scikit-learn cost about 1.5 s
# per process), and assignments that call into them are skipped like other computations.
LAZY_PACKAGES = {"matplotlib", "seaborn", "pandas", "sklearn", "plotly", "IPython", "google", "japanize_matplotlib",
                 "tqdm", "PIL", "cv2", "torchvision", "torchsummary", "torchinfo"}


@dataclass
class Statement:
    cell: int
    line: int
    code: object  # a code object, compiled with the filename "<cell N>"
    kind: str  # "class", "def", "import", "assign", "other"
    names: list[str]  # names the statement binds
    # For an import of a plotting or data library in definitions mode: (bound name, module to
    # import, what to bind) bound to a proxy that imports on first use. What to bind: None for the
    # module itself, "" for its top-level package (`import a.b` binds `a`), a name for `from m import name`.
    lazy: list[tuple[str, str, str | None]] | None = None


@dataclass
class Plan:
    statements: list[Statement] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    problems: list[CellProblem] = field(default_factory=list)


def cell_filename(cell: int) -> str:
    return f"<cell {cell}>"


# Cell magics whose body is still Python; any other (`%%bash`, `%%writefile` ...) is not.
PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun", "debug"}


def parse_cell(source: str, cell: int) -> ast.Module:
    """Parse one cell. IPython syntax is handled only when plain Python fails: first by blanking
    magic and shell lines (cheap, keeps line numbers), then by IPython's own transformer."""
    try:
        return ast.parse(source, filename=cell_filename(cell))
    except SyntaxError as plain_error:
        for translate in (blank_magics, _translate_ipython):
            translated = translate(source)
            if translated is None or translated == source:
                continue
            try:
                return ast.parse(translated, filename=cell_filename(cell))
            except SyntaxError:
                continue
        raise plain_error from None


def blank_magics(source: str) -> str | None:
    """`%matplotlib inline` and `!pip install x` become `pass`, at the same line and indentation."""
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        magic = lines[0].lstrip()[2:].split(maxsplit=1)[0] if lines[0].strip() != "%%" else ""
        if magic not in PYTHON_CELL_MAGICS:
            return None
        lines[0] = ""
    for index, line in enumerate(lines):
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")):
            lines[index] = line[: len(line) - len(stripped)] + "pass"
    return "\n".join(lines)


def _translate_ipython(source: str) -> str | None:
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # IPython is optional for modules; without it magics stay errors
        return None
    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # the transformer raises on malformed input of its own kind
        return None


def bound_names(node: ast.stmt) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(alias.asname or alias.name).split(".")[0] for alias in node.names]
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        targets = [node.target]
    names = []
    for target in targets:
        names += [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.stmt):
            names += bound_names(child)
    return names


def _kind(node: ast.stmt) -> str:
    if isinstance(node, ast.ClassDef):
        return "class"
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return "def"
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return "import"
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        return "assign"
    return "other"


class DefinitionFilter:
    """Decides, statement by statement, what `definitions` mode keeps. Remembers kept names."""

    def __init__(self) -> None:
        self.kept_names: set[str] = set(dir(builtins))
        self.imported: set[str] = set()
        self.lazy: set[str] = set()

    def keep(self, node: ast.stmt) -> bool:
        keep = self._decide(node)
        if keep:
            for name in bound_names(node):
                self.kept_names.add(name)
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    self.imported.add(name)
            if lazy_bindings(node):
                self.lazy.update(bound_names(node))
        return keep

    def _decide(self, node: ast.stmt) -> bool:
        if isinstance(node, KEEP_ALWAYS):
            return True
        if isinstance(node, ast.Assign):
            return all(isinstance(t, (ast.Name, ast.Tuple)) for t in node.targets) and self._cheap(node.value)
        if isinstance(node, ast.AnnAssign):
            return isinstance(node.target, ast.Name) and (node.value is None or self._cheap(node.value))
        if isinstance(node, ast.Try):
            # `try: import google.colab except ImportError: ...` and the like.
            blocks = [node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)]
            return all(self._decide(s) for block in blocks for s in block)
        if isinstance(node, ast.If):
            # `if torch.cuda.is_available(): device = ...` runs; `if __name__ == "__main__":` does not.
            if _is_main_guard(node.test):
                return False
            return self._cheap(node.test) and all(self._decide(s) for s in node.body + node.orelse)
        return False

    def _cheap(self, expr: ast.expr) -> bool:
        for node in ast.walk(expr):
            if isinstance(node, (ast.Lambda, ast.comprehension, ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr)):
                return False
            if isinstance(node, ast.Name) and node.id not in self.kept_names:
                return False
            if isinstance(node, ast.Call) and not self._call_on_import(node.func):
                return False
        return True

    def _call_on_import(self, func: ast.expr) -> bool:
        root = func
        while isinstance(root, ast.Attribute):
            root = root.value
        if not isinstance(root, ast.Name) or root.id in self.lazy:
            return False
        return root.id in self.imported or root.id in _SAFE_BUILTINS


def lazy_bindings(node: ast.stmt) -> list[tuple[str, str, str | None]] | None:
    """(name, module, attribute) bindings if this import only touches LAZY_PACKAGES, else None."""
    if isinstance(node, ast.Import):
        if not all(alias.name.split(".")[0] in LAZY_PACKAGES for alias in node.names):
            return None
        # `import a.b` binds `a` (after importing a.b); `import a.b as c` binds c = a.b.
        return [(alias.asname, alias.name, None) if alias.asname else (alias.name.split(".")[0], alias.name, "")
                for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level or not node.module or node.module.split(".")[0] not in LAZY_PACKAGES:
            return None
        if any(alias.name == "*" for alias in node.names):
            return None
        return [(alias.asname or alias.name, node.module, alias.name) for alias in node.names]
    return None


_SAFE_BUILTINS = {"int", "float", "str", "bool", "tuple", "list", "dict", "set", "frozenset", "len", "range", "abs", "min", "max", "round"}


def _is_main_guard(test: ast.expr) -> bool:
    names = {n.id for n in ast.walk(test) if isinstance(n, ast.Name)}
    return "__name__" in names


def plan_cells(cells: list[tuple[int, str]], mode: str) -> Plan:
    """Parse every cell; in `definitions` mode keep only definitions. A bad cell loses only itself."""
    plan = Plan()
    keep_filter = DefinitionFilter()
    for cell, source in cells:
        try:
            module = parse_cell(source, cell)
        except SyntaxError as exc:
            line = exc.lineno or 1
            plan.problems.append(
                CellProblem(cell, line, type(exc).__name__, exc.msg or str(exc), _line_text(source, line))
            )
            continue
        except (ValueError, RecursionError, MemoryError) as exc:  # NUL bytes, absurd nesting
            plan.problems.append(CellProblem(cell, 1, type(exc).__name__, str(exc)[:300], ""))
            continue
        lines = source.splitlines()
        for node in module.body:
            if mode == "definitions" and not keep_filter.keep(node):
                text = _line_text(source, node.lineno)
                if len(lines) >= node.lineno and (getattr(node, "end_lineno", node.lineno) or node.lineno) > node.lineno:
                    text += " …"
                plan.skipped.append(Skipped(cell, node.lineno, text, bound_names(node)))
                continue
            code = compile(ast.Module(body=[node], type_ignores=[]), cell_filename(cell), "exec")
            lazy = lazy_bindings(node) if mode == "definitions" else None
            plan.statements.append(Statement(cell, node.lineno, code, _kind(node), bound_names(node), lazy))
    return plan


def _line_text(source: str, line: int) -> str:
    lines = source.splitlines()
    return lines[line - 1].strip()[:200] if 0 < line <= len(lines) else ""
