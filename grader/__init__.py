"""An automated grader for PyTorch model-building assignments.

Data flows one way: submission -> sandboxed harness -> observations -> trusted checks -> result -> report.
"""

__version__ = "0.1.0"
