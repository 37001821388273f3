"""Run the planned statements of the submission in one namespace and remember every model class.

A notebook can define a class twice (the lesson redefines `MLPR` as its autoencoder), so the
classes are recorded as they appear, cell by cell, not only as the namespace ends up.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from typing import Any

from grader.harness.emit import Emitter, describe_error
from grader.harness.source import Plan
from grader.protocol.wire import ExecError


@dataclass
class ClassRecord:
    name: str
    cell: int
    line: int
    cls: type

    def methods(self) -> list[str]:
        return sorted(
            name for name, value in vars(self.cls).items() if callable(value) and not name.startswith("__")
        )

    def signature(self) -> str:
        """The constructor's parameters as a call takes them (`(n_input, n_output)`), or ""."""
        try:
            return str(inspect.signature(self.cls))[:200]
        except (TypeError, ValueError):  # a constructor Python cannot describe
            return ""

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "cell": self.cell, "line": self.line, "methods": self.methods(),
                "signature": self.signature()}


class ClassHistory:
    def __init__(self, module_name: str) -> None:
        self.records: list[ClassRecord] = []
        self._seen: set[int] = set()
        self._module_name = module_name

    def scan(self, namespace: dict[str, Any], cell: int, line: int = 0) -> None:
        import torch

        for name, value in list(namespace.items()):
            if (
                isinstance(value, type)
                and id(value) not in self._seen
                and issubclass(value, torch.nn.Module)
                and getattr(value, "__module__", None) == self._module_name
            ):
                self._seen.add(id(value))
                self.records.append(ClassRecord(name, cell, line or _first_line(value), value))


def _first_line(cls: type) -> int:
    for value in vars(cls).values():
        code = getattr(value, "__code__", None)
        if code is not None and code.co_filename.startswith("<cell "):
            return max(code.co_firstlineno - 1, 1)
    return 0


class LazyImport:
    """Stands in for a module (or a name from one) until the student's code first uses it."""

    def __init__(self, module: str, attribute: str | None) -> None:
        object.__setattr__(self, "_lazy_target", (module, attribute))
        object.__setattr__(self, "_lazy_value", None)

    def _load(self) -> Any:
        value = object.__getattribute__(self, "_lazy_value")
        if value is None:
            module, attribute = object.__getattribute__(self, "_lazy_target")
            value = _resolve_import(module, attribute)
            object.__setattr__(self, "_lazy_value", value)
        return value

    def __getattr__(self, name: str) -> Any:
        return getattr(self._load(), name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._load()(*args, **kwargs)

    def __repr__(self) -> str:
        module, attribute = object.__getattribute__(self, "_lazy_target")
        return f"<not yet imported: {module}{'.' + attribute if attribute else ''}>"


def _resolve_import(module: str, attribute: str | None) -> Any:
    imported = importlib.import_module(module)
    if attribute is None:
        return imported
    if attribute == "":
        return importlib.import_module(module.split(".")[0])
    try:
        return importlib.import_module(f"{module}.{attribute}")
    except ImportError:
        return getattr(imported, attribute)


def _execute(statement: Any, namespace: dict[str, Any]) -> None:
    if statement.lazy:
        for name, module, attribute in statement.lazy:
            namespace[name] = LazyImport(module, attribute)
        return
    exec(statement.code, namespace)  # noqa: S102 - running the submission is the point


def run_plan(plan: Plan, namespace: dict[str, Any], history: ClassHistory, emitter: Emitter) -> None:
    """Each statement runs on its own: one that raises (a Colab-only import) loses only itself."""
    current_cell = None
    for statement in plan.statements:
        if current_cell is not None and statement.cell != current_cell:
            history.scan(namespace, current_cell)
        current_cell = statement.cell
        try:
            _execute(statement, namespace)
        except SystemExit as exc:
            emitter.emit(ExecError, cell=statement.cell, line=statement.line, statement=statement.kind,
                         error={"type": "SystemExit", "message": str(exc.code)[:200], "frames": []})
        except BaseException as exc:  # the student's code may raise anything; KeyboardInterrupt too
            emitter.emit(ExecError, cell=statement.cell, line=statement.line, statement=statement.kind,
                         error=describe_error(exc))
        else:
            if statement.kind == "class":
                history.scan(namespace, statement.cell, statement.line)
    if current_cell is not None:
        history.scan(namespace, current_cell)
