"""Full mode: an import of a plotting or data package the sandbox does not have goes through.

In a notebook a failed `import pandas as pd` ends its cell, and the `import torch` after it never
runs: every later cell fails with a NameError and no model is found. The grading needs none of
these packages, so their import binds a stand-in instead (as definitions mode binds a proxy that
imports on first use), and only code that uses one fails, with an error that names the package.
Each missing package is reported once (`on_missing`), so that the report can say so.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import types
from collections.abc import Callable
from typing import Any

from grader.harness.source import LAZY_PACKAGES

# `google.colab` stays an ImportError: notebooks test for Colab with `try: import google.colab`.
STAND_IN_PACKAGES = frozenset(LAZY_PACKAGES - {"google", "IPython"})


def missing(path: str) -> ModuleNotFoundError:
    package = path.split(".")[0]
    return ModuleNotFoundError(f"No module named '{package}': the grading sandbox does not have it ({path} was used)",
                               name=package)


class StandIn:
    """A name imported from a missing package: any attribute is another stand-in; using it raises."""

    def __init__(self, path: str) -> None:
        object.__setattr__(self, "_path", path)

    def __getattr__(self, name: str) -> StandIn:
        if name.startswith("__"):
            raise AttributeError(name)
        return StandIn(f"{object.__getattribute__(self, '_path')}.{name}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise missing(object.__getattribute__(self, "_path"))

    def __iter__(self) -> Any:
        raise missing(object.__getattribute__(self, "_path"))

    def __getitem__(self, key: Any) -> Any:
        raise missing(object.__getattribute__(self, "_path"))

    def __enter__(self) -> Any:
        raise missing(object.__getattribute__(self, "_path"))

    def __exit__(self, *exc: object) -> None:
        pass

    def __repr__(self) -> str:
        return f"<stand-in for {object.__getattribute__(self, '_path')}: not installed>"


class _StandInModule(types.ModuleType):
    def __getattr__(self, name: str) -> StandIn:
        if name.startswith("__"):
            raise AttributeError(name)
        return StandIn(f"{self.__name__}.{name}")


class MissingPackageFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Last on `sys.meta_path`: asked only for what no real finder found."""

    def __init__(self, packages: frozenset[str], on_missing: Callable[[str], None]) -> None:
        self.packages = packages
        self.on_missing = on_missing
        self.reported: set[str] = set()

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        package = fullname.split(".")[0]
        if package not in self.packages:
            return None
        if package not in self.reported:
            self.reported.add(package)
            self.on_missing(package)
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = _StandInModule(spec.name)
        module.__path__ = []  # a package: `import plotly.express` finds its submodule here too
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        pass


def install(on_missing: Callable[[str], None]) -> MissingPackageFinder:
    finder = MissingPackageFinder(STAND_IN_PACKAGES, on_missing)
    sys.meta_path.append(finder)
    return finder
