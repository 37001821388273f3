"""The grader's version, on its own: every stage reads it, and importing `grader` itself would bring
its entry points (`grader.check`) along."""

# Part of every cached result's key: raise it with any change that can alter a score (0.2.0: the
# submission's top-level code runs with seeded generators and a fixed hash seed; 0.3.0: a budget per
# phase of each model, so the models after a hang are graded).
__version__ = "0.3.0"
