"""The data an assignment is graded on, behind a registry of data sets (`registry`), each split into
what the sandbox may see and what it may not."""

from grader.spec.datasets.registry import MODULES, Split, class_names, splits_for

__all__ = ["MODULES", "Split", "class_names", "splits_for"]
