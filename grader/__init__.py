"""An automated grader for PyTorch model-building assignments.

Data flows one way: submission -> sandboxed harness -> observations -> trusted checks -> result -> report.
`grader.check` and `grader.check_all` are a student's self-check from inside a notebook.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from grader.version import __version__

if TYPE_CHECKING:  # imported when called: the sandbox's harness imports this package too, and needs none of it
    from pathlib import Path

    from grader.i18n import Lang
    from grader.selfcheck import SelfCheck

__all__ = ["__version__", "check", "check_all"]


def check(model: str, assignment: str | Path | None = None, *, lang: Lang | None = None,
          namespace: dict[str, Any] | None = None) -> SelfCheck:
    """The public checks of one model on the class this kernel defines (grader.selfcheck.check)."""
    from grader.selfcheck import check as self_check

    return self_check(model, assignment, lang=lang, namespace=namespace)


def check_all(assignment: str | Path | None = None, *, lang: Lang | None = None,
              namespace: dict[str, Any] | None = None) -> SelfCheck:
    """The public checks of every model of the assignment (grader.selfcheck.check_all)."""
    from grader.selfcheck import check_all as self_check_all

    return self_check_all(assignment, lang=lang, namespace=namespace)
