"""A student's self-check from inside their own notebook: `grader.check("mlr")`, `grader.check_all()`.

The one place that joins the harness (run here, in the student's process, on their kernel's
classes) and the trusted pipeline (which grades what it observed); nothing else imports it but
`grader` itself.
"""

from grader.selfcheck.check import SelfCheck, SelfCheckError, check, check_all

__all__ = ["SelfCheck", "SelfCheckError", "check", "check_all"]
