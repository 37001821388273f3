"""The assignment spec: what an instructor declares in `assignment.toml`, validated and typed.

A leaf of the package: it imports nothing else of the grader. `schema` declares what a spec may
say, `load` finds and parses one (and its `messages.toml`, read by `messages`), `datasets` makes the
data a spec names, `probe_points` the inputs every model is probed on beside it.
"""

from grader.spec.load import (
    BUNDLED_ASSIGNMENTS,
    CHECKS_FILE,
    SEARCH_PATH_VARIABLE,
    SPEC_FILE,
    AssignmentError,
    LoadedAssignment,
    load_assignment,
    parse_assignment,
    resolve_folder,
    search_path,
)
from grader.spec.messages import MESSAGES_FILE, MessageOverlay
from grader.spec.schema import (
    Assignment,
    Dataset,
    FindAnswer,
    InstructorCheck,
    Limits,
    Metric,
    Mode,
    ModelSpec,
    Project,
    Recipe,
    RubricPoint,
    Similarity,
    Structure,
    Texts,
    Visibility,
    WrittenQuestion,
)

__all__ = [
    "BUNDLED_ASSIGNMENTS", "MESSAGES_FILE", "SEARCH_PATH_VARIABLE", "SPEC_FILE", "Assignment", "AssignmentError",
    "CHECKS_FILE", "Dataset", "FindAnswer", "InstructorCheck", "Limits", "LoadedAssignment", "MessageOverlay", "Metric", "Mode", "ModelSpec", "Project",
    "Recipe", "RubricPoint", "Similarity", "Structure", "Texts", "Visibility",
    "WrittenQuestion", "load_assignment", "parse_assignment",
    "resolve_folder", "search_path",
]
