"""The assignment spec: what an instructor declares in `assignment.toml`, validated and typed.

A leaf of the package: it imports nothing else of the grader. `schema` declares what a spec may
say, `load` finds and parses one, `datasets` makes the data a spec names, `probe_points` the inputs
every model is probed on beside it.
"""

from grader.spec.load import (
    ASSIGNMENTS_DIR,
    SPEC_FILE,
    AssignmentError,
    LoadedAssignment,
    load_assignment,
    parse_assignment,
    resolve_folder,
)
from grader.spec.schema import (
    Assignment,
    Dataset,
    FindAnswer,
    Limits,
    Metric,
    ModelSpec,
    Project,
    Recipe,
    RubricPoint,
    Similarity,
    Structure,
    WrittenQuestion,
)

__all__ = [
    "ASSIGNMENTS_DIR", "SPEC_FILE", "Assignment", "AssignmentError", "Dataset", "FindAnswer", "Limits",
    "LoadedAssignment", "Metric", "ModelSpec", "Project", "Recipe", "RubricPoint", "Similarity",
    "Structure", "WrittenQuestion", "load_assignment", "parse_assignment", "resolve_folder",
]
