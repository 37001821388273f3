"""An assignment's `checks.py`, loaded: its functions by name (grader.checks.custom grades with them)."""

from __future__ import annotations

import sys
import traceback
import types
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from grader.spec import CHECKS_FILE, LoadedAssignment


@dataclass(frozen=True)
class CheckFunctions:
    """The functions of an assignment's `checks.py` by name, or why it could not be loaded."""

    functions: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    error: str = ""  # the traceback of loading it

    @classmethod
    def load(cls, assignment: LoadedAssignment) -> CheckFunctions:
        """Run the file's code as a module of its own (afresh for each grading: no state carries over
        from one submission to the next)."""
        if assignment.checks_source is None:
            return cls()
        path = assignment.folder / CHECKS_FILE
        # A name of its own each time: gradings in other threads load the file at the same moment.
        name = f"grader_assignment_checks_{assignment.spec.id}_{uuid.uuid4().hex}"
        module = types.ModuleType(name)
        module.__file__ = str(path)
        sys.modules[name] = module  # dataclasses and pickling look a module up by name while it runs
        try:
            exec(compile(assignment.checks_source, str(path), "exec"), module.__dict__)  # noqa: S102 - the instructor's file
        except Exception:  # noqa: BLE001 - any error of the instructor's code, said with its traceback
            return cls(error=traceback.format_exc())
        finally:
            sys.modules.pop(name, None)
        return cls({key: value for key, value in vars(module).items()  # its own functions, not what it imported
                    if isinstance(value, types.FunctionType) and value.__module__ == name and not key.startswith("_")})
