"""The data an assignment is graded on, split into what the sandbox may see and what it may not."""

from grader.spec.datasets.iris import N_SPECIES, IrisTable, Split

__all__ = ["N_SPECIES", "IrisTable", "Split"]
