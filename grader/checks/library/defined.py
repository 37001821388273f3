"""`defined`: the class exists, by name or by behaviour (its methods), and `Class(*args)` builds a
`torch.nn.Module`. A model whose class is not defined has nothing else graded."""

from __future__ import annotations

from grader.checks.base import Check, ModelContext, Verdict
from grader.protocol.wire import Candidate, Construct, Failed


def args_text(args: list[int]) -> str:
    return ", ".join(str(a) for a in args)


class Defined(Check):
    name = "defined"
    order = 10
    default_points = 0.5

    def grade(self, context: ModelContext) -> Verdict:
        spec, evidence = context.spec, context.evidence
        names = " / ".join(spec.class_names)
        timeout = evidence.timeout
        if timeout is not None and timeout.phase == "load":
            return Verdict("error", "defined.load_timeout", {"seconds": timeout.budget_s}, expected=names, found="—",
                           stop_rest="skipped.not_defined")
        if timeout is not None and timeout.phase in ("construct", "probes"):
            return self._timed_out(context)
        observed = evidence.observation
        if observed is None and not evidence.run_finished:
            # The run died (timeout, exit, memory) before this model's turn: the class may be fine.
            return Verdict("error", "defined.not_reached", {"names": names}, expected=names, found="—",
                           stop_rest="skipped.not_defined")
        if observed is None or observed.class_ is None:
            messages = context.messages
            reasons = [messages.text("defined.syntax_error", cell=p.cell, line=p.line, message=p.message)
                       for p in evidence.plan_problems]
            reasons += [messages.text("defined.cell_raised" if e.statement == "cell" else "defined.class_raised",
                                      cell=e.cell, line=e.line, error=context.describe_error(e.error))
                        for e in evidence.class_errors]
            reasons += _candidates(context, observed.candidates if observed is not None else [])
            key = "defined.missing_with_methods" if spec.match_methods else "defined.missing"
            return Verdict("failed", key, {"names": names, "methods": ", ".join(spec.match_methods),
                                           "reasons": "".join(" " + r for r in reasons[:5])},
                           expected=names, found="—", stop_rest="skipped.not_defined")
        found = observed.class_
        context.outcome.class_name = found.name
        construction = observed.construction
        call = {"name": found.name, "args": args_text(spec.args), "parameters": ", ".join(spec.parameter_names)}
        if isinstance(construction, Failed):
            # A TypeError from the call itself: the constructor does not take the spec's arguments.
            refused = construction.error.type == "TypeError" and "__init__()" in construction.error.message
            return Verdict("error", "defined.construct_refused" if refused else "defined.construct_failed",
                           {**call, "error": context.describe_error(construction.error)},
                           found=found.name, stop_rest="skipped.not_defined")
        if isinstance(construction, Construct) and construction.without_arguments is not None:
            return Verdict("failed", "defined.without_arguments",
                           {**call, "error": context.describe_error(construction.without_arguments)},
                           expected=f"{found.name}({call['args']})", found=f"{found.name}()")
        return self._passed(context, found.name, found.cell, found.matched_by)

    @staticmethod
    def _passed(context: ModelContext, name: str, cell: int, matched_by: str | None) -> Verdict:
        key = "defined.passed_by_methods" if matched_by == "methods" else "defined.passed"
        return Verdict("passed", key, {"name": name, "cell": cell, "methods": ", ".join(context.spec.match_methods)},
                       found=name)

    def _timed_out(self, context: ModelContext) -> Verdict:
        """The construction or the probes ran past their budget. The probes begin once the
        constructor has returned a module: the class is defined then, and `structure` says the rest."""
        timeout = context.evidence.timeout
        assert timeout is not None
        phase = context.evidence.construct_phase
        found = phase.class_ if phase is not None else None
        name = found.name if found is not None else timeout.class_name or context.spec.class_names[0]
        context.outcome.class_name = name
        if timeout.phase == "construct" or found is None:
            return Verdict("error", "timeout.construct",
                           {"name": name, "args": args_text(context.spec.args), "seconds": timeout.budget_s},
                           found=name, stop_rest="skipped.timeout")
        return self._passed(context, found.name, found.cell, found.matched_by)


def _candidates(context: ModelContext, candidates: list[Candidate]) -> list[str]:
    """The classes the file has instead, with their constructors, and those that look like the model
    (they map its input width to its output width), with the rename that would make them count."""
    if not candidates:
        return []
    spec, messages = context.spec, context.messages
    listed = ", ".join(f"{c.name}{c.signature}" for c in candidates)
    said = [messages.text("defined.found_classes", classes=listed)]
    for candidate in [c for c in candidates if c.fits and c.built_with is not None][:2]:
        said.append(messages.text("defined.looks_like", name=candidate.name,
                                  call=f"{candidate.name}({args_text(candidate.built_with or [])})",
                                  inputs=spec.args[0], outputs=spec.output_width, wanted=spec.class_names[0]))
    return said

