"""`grader.check("mlr")`: a student's self-check from inside their notebook.

The classes the running kernel defines are observed by the harness in this very process (no root,
no sandbox: the student's own code on their own machine), and graded by the same trusted
pipeline as a handed-in notebook (the trusted evaluation process, the same checks), so that the
verdicts are those `grader check --public` gives the saved notebook (which is `grader check` but
where the spec holds validation rows out: a self-check scores on those, never on the test rows).
Students see what they would see of their report: no hidden check, and `after_due_date` ones only
after the due date.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from grader.i18n import LANGS, Lang, Messages
from grader.outputs.self_check import self_check_html, self_check_text
from grader.pipeline import grade_execution, load_assignment
from grader.result import Graded
from grader.selfcheck.kernel import read_kernel
from grader.selfcheck.observe import observe_in_kernel
from grader.spec import AssignmentError, LoadedAssignment
from grader.spec.load import SPEC_FILE, installed_kits, known_assignments

# The assignment a self-check grades when the call names none (else the one kit installed, else the
# only assignment there is).
ASSIGNMENT_VARIABLE = "GRADER_ASSIGNMENT"


class SelfCheckError(ValueError):
    """The self-check cannot start (which assignment, which model): said in both languages, and in
    Jupyter without a traceback (IPython shows what `_render_traceback_` gives)."""

    def _render_traceback_(self) -> list[str]:
        return str(self).splitlines()


@dataclass(frozen=True)
class SelfCheck:
    """The verdicts of one self-check: shown as HTML in Jupyter, as text elsewhere."""

    graded: Graded  # the students' view, of the models checked only
    assignment: LoadedAssignment

    @property
    def verdicts(self) -> dict[str, str]:
        """Each check's status by its id (`mlr.forward_shape`: `passed`)."""
        return {check.id: check.status for check in self.graded.result.checks}

    @property
    def passed(self) -> bool:
        return self.graded.result.status == "graded" and all(
            check.status == "passed" for check in self.graded.result.checks)

    def _repr_html_(self) -> str:
        return self_check_html(self.graded, self.assignment)

    def __str__(self) -> str:
        return self_check_text(self.graded, self.assignment)

    __repr__ = __str__


def check(model: str, assignment: str | Path | None = None, *, lang: Lang | None = None,
          namespace: dict[str, Any] | None = None) -> SelfCheck:
    """The public checks of `model` (its id in the assignment, e.g. "mlr") on the class this kernel
    defines. `assignment`: a name or folder (default: $GRADER_ASSIGNMENT, else the one kit installed,
    else the only assignment there is); `namespace`: where the classes are (default: the kernel's, `__main__`)."""
    return _self_check([model], assignment, lang, namespace)


def check_all(assignment: str | Path | None = None, *, lang: Lang | None = None,
              namespace: dict[str, Any] | None = None) -> SelfCheck:
    """`check` for every model of the assignment."""
    return _self_check(None, assignment, lang, namespace)


def _self_check(models: Sequence[str] | None, assignment: str | Path | None, lang: Lang | None,
                namespace: dict[str, Any] | None) -> SelfCheck:
    # Scored on the validation rows where the spec holds some out: the test rows are the grading's.
    loaded = _assignment(assignment, models[0] if models else "mlr").public()
    ids = [model.id for model in loaded.spec.models]
    chosen = list(models) if models is not None else ids
    for model in chosen:
        if model not in ids:
            raise SelfCheckError(_both("selfcheck.unknown_model", assignment=loaded.spec.id, model=model,
                                       known=", ".join(ids)))
    namespace = namespace if namespace is not None else vars(sys.modules["__main__"])
    started = time.perf_counter()
    code = read_kernel(namespace)
    execution = observe_in_kernel(code, loaded, namespace, chosen)
    messages = Messages(lang or loaded.spec.lang, loaded.messages)
    graded = grade_execution(code.submission, loaded, execution, messages, started)
    seen = graded.for_students(past_due=loaded.spec.past_due(datetime.now(UTC)))
    return SelfCheck(_only(seen, chosen), loaded)


def _assignment(assignment: str | Path | None, model: str) -> LoadedAssignment:
    name = str(assignment) if assignment is not None else os.environ.get(ASSIGNMENT_VARIABLE)
    if not name:
        kits = sorted(path.parent for kit in installed_kits() for path in kit.glob(f"*/{SPEC_FILE}"))
        if len(kits) == 1:  # the course's kit: its folder, which no folder of the same name here can stand for
            return load_assignment(str(kits[0]))
        known = known_assignments()
        if len(known) != 1:
            raise SelfCheckError(_both("selfcheck.which_assignment", model=model, known=", ".join(known) or "-"))
        name = known[0]
    try:
        return load_assignment(name)
    except AssignmentError as exc:
        raise SelfCheckError(str(exc)) from None


def _only(graded: Graded, models: list[str]) -> Graded:
    """`graded` cut to the checks of `models`, its score theirs."""
    result = graded.result
    checks = [check for check in result.checks if check.model in models]
    metrics = {key: value for key, value in result.metrics.items() if key.split(".", 1)[0] in models}
    cut = result.model_copy(update={"checks": checks, "metrics": metrics,
                                    "score": round(sum(c.score for c in checks), 2),
                                    "max_score": round(sum(c.max_score for c in checks), 2)})
    return replace(graded, result=cut, outcomes={m: o for m, o in graded.outcomes.items() if m in models}, cells=())


def _both(key: str, **params: object) -> str:
    return "\n".join(Messages(lang).text(key, **params) for lang in LANGS)
