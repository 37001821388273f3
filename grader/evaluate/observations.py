"""What came back from the sandbox: the run's observation lines, decoded, into one typed record.

Every line is untrusted (the student's code shares the harness's process and can write to the same
file); `grader.protocol.wire.decode_line` refuses any line that does not fit the schema, and such a
line is counted (`malformed_lines`, the `malformed_observations` incident) and dropped. The first
line of each kind (per model) counts; a second one is counted too (`duplicate_lines`, an incident). What makes a well-formed forged line pointless is decided
later: scores come from predictions checked against labels that never enter the sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.protocol.wire import (
    MAX_OBSERVATION_BYTES,
    VERSION,
    Capture,
    CellError,
    Classes,
    ClassInfo,
    ExecError,
    Finished,
    HarnessError,
    Line,
    MissingPackage,
    ModelObservation,
    PhaseLine,
    PhaseTimeout,
    Plan,
    Started,
    Training,
    WireError,
    decode_line,
)
from grader.sandbox.process import ProcessOutcome

MAX_MISSING_PACKAGES = 20


@dataclass
class Observations:
    """One run's observations (or several runs', merged after a phase timeout), with what happened
    to the run's process."""

    process: ProcessOutcome | None = None
    started: bool = False
    finished: bool = False
    plan: Plan | None = None
    exec_errors: list[ExecError] = field(default_factory=list)
    cell_errors: list[CellError] = field(default_factory=list)
    missing_packages: list[str] = field(default_factory=list)
    harness_errors: list[HarnessError] = field(default_factory=list)
    classes: list[ClassInfo] = field(default_factory=list)
    models: dict[str, ModelObservation] = field(default_factory=dict)
    training: dict[str, Training] = field(default_factory=dict)
    captures: dict[str, Capture] = field(default_factory=dict)
    malformed_lines: int = 0
    # A second line of a kind the harness writes once (per model): only forged code writes one.
    duplicate_lines: int = 0
    truncated: bool = False
    phases: dict[str, PhaseLine] = field(default_factory=dict)  # per model, the first line of its construction
    timeouts: list[PhaseTimeout] = field(default_factory=list)  # set by the grader's execution, not by a line
    # Set by the merge of the runs: models with a training line from a run whose job had them
    # captured (the harness trains nothing there: the line was forged, and counts for nothing).
    unexpected_training: list[str] = field(default_factory=list)

    def add(self, line: Line) -> None:
        if isinstance(line, Started):
            if line.version != VERSION:  # another version's harness: nothing of the run can be read
                raise WireError(f"a harness of wire version {line.version}, not {VERSION}")
            self.started = True
        elif isinstance(line, Finished):
            self.finished = True
        elif isinstance(line, Plan):
            self.plan = self.plan or line
        elif isinstance(line, ExecError):
            self.exec_errors.append(line)
        elif isinstance(line, CellError):
            self.cell_errors.append(line)
        elif isinstance(line, MissingPackage):
            if line.name not in self.missing_packages and len(self.missing_packages) < MAX_MISSING_PACKAGES:
                self.missing_packages.append(line.name)
        elif isinstance(line, HarnessError):
            self.harness_errors.append(line)
        elif isinstance(line, Classes):
            self.classes = self.classes or line.classes
        elif isinstance(line, ModelObservation):
            self._once(self.models, line.model, line)
        elif isinstance(line, Training):
            self._once(self.training, line.model, line)
        elif isinstance(line, Capture):
            self._once(self.captures, line.model, line)
        elif isinstance(line, PhaseLine) and line.model is not None and line.phase == "construct":
            self.phases.setdefault(line.model, line)


    def _once(self, table: dict[str, Any], model: str, line: Line) -> None:
        if model in table:
            self.duplicate_lines += 1
        else:
            table[model] = line


def read_observations(path: Path, process: ProcessOutcome | None = None) -> Observations:
    observations = Observations(process=process)
    if not path.is_file():
        return observations
    with path.open("rb") as handle:
        data = handle.read(MAX_OBSERVATION_BYTES + 1)
    if len(data) > MAX_OBSERVATION_BYTES:
        observations.truncated = True
        data = data[:MAX_OBSERVATION_BYTES]
    for raw in data.splitlines():
        try:
            observations.add(decode_line(raw))
        except WireError:
            observations.malformed_lines += 1
    return observations
