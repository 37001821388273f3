"""Full mode, inside the Jupyter kernel: record classes cell by cell, then observe the models.

`install` runs in an injected first cell, `finish` in an injected last one; the student's cells run
in between exactly as Jupyter runs them (magics, `!cmd`, plots).
"""

from __future__ import annotations

import json
from typing import Any

from grader.harness import stand_ins
from grader.harness.emit import Emitter, describe_error
from grader.harness.loader import ClassHistory
from grader.harness.session import MODULE_NAME, observe_models, prepare_process
from grader.protocol.wire import CellError, Job, Line, MissingPackage, decode


class KernelSession:
    def __init__(self, shell: Any, job_path: str, observations_path: str) -> None:
        with open(job_path, encoding="utf-8") as handle:
            self.job = decode(Job, json.load(handle))
        self.shell = shell
        self.observations_path = observations_path
        self.cell_numbers = [cell.number for cell in self.job.cells]
        self.index = -1  # the injected install cell is not a student cell
        self.history = ClassHistory(MODULE_NAME)
        prepare_process(self.job)
        stand_ins.install(lambda package: self._emit(MissingPackage, name=package))
        shell.events.register("pre_run_cell", self._before_cell)
        shell.events.register("post_run_cell", self._after_cell)

    def _emit(self, kind: type[Line], **fields: Any) -> None:
        """One line now: what a cell did stays written if a later cell kills the kernel."""
        with open(self.observations_path, "a", encoding="utf-8") as stream:
            Emitter(stream).emit(kind, **fields)

    def _current_cell(self) -> int:
        return self.cell_numbers[self.index] if 0 <= self.index < len(self.cell_numbers) else 0

    def _before_cell(self, info: Any = None) -> None:
        self.index += 1
        cell = self._current_cell()
        # Tracebacks then name "<cell N>", the student's own cell, as in definitions mode.
        self.shell.compile.get_code_name = lambda *args, **kwargs: f"<cell {cell}>"

    def _after_cell(self, result: Any = None) -> None:
        cell = self._current_cell()
        self.history.scan(self.shell.user_ns, cell)
        error = getattr(result, "error_before_exec", None) or getattr(result, "error_in_exec", None)
        if cell and isinstance(error, BaseException):
            self._emit(CellError, cell=cell, error=describe_error(error))

    def finish(self) -> None:
        with open(self.observations_path, "a", encoding="utf-8") as stream:
            observe_models(self.job, self.shell.user_ns, self.history, Emitter(stream))


def install(shell: Any, job_path: str, observations_path: str) -> KernelSession:
    return KernelSession(shell, job_path, observations_path)
