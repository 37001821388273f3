"""A made-up but realistic graded submission, for previewing the report without running anything.

Every kind of line a report can hold is in it: passed, failed, error and skipped checks with and
without hints, expected/found values, an error that points at a cell and line, every kind of
figure, long captured output, skipped statements and incidents. Messages come from the catalogue,
so the sample is in either language. Tests and the report benchmark use it too.

    python -m grader.report.sample OUT.html [--lang ja|en]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from grader.assignment import LoadedAssignment, load_assignment
from grader.checks import CheckResult, ModelOutcome, check_names, max_points
from grader.dataset import IrisTable
from grader.grading import Graded
from grader.i18n import Lang, Messages
from grader.result import Incident, Result, Skip, SubmissionInfo
from grader.submission import Cell

CELLS = (
    Cell(1, "import torch\nimport numpy as np\n"),
    Cell(3, "class MLR(torch.nn.Module):\n    def __init__(self, n_input, n_output):\n        super().__init__()\n"
            "        self.l1 = torch.nn.Linear(n_input, n_output)\n\n    def forward(self, x):\n        return self.l1(x)\n"),
    Cell(5, "class LR(torch.nn.Module):\n    def __init__(self, n_input, n_output):\n        super().__init__()\n"
            "        self.l1 = torch.nn.Linear(n_input, n_output)\n\n    def forward(self, x):\n"
            "        h = self.l1(x).detach().numpy()  # 勾配が止まる\n        return torch.sigmoid(torch.from_numpy(h))\n"),
    Cell(7, "model = MLR(3, 1)\nfor epoch in range(100):\n    pass\n"),
)


def _check(model_id: str, check: str, status: str, points: float, fraction: float, messages: Messages, key: str,
           expected: str | None = None, found: str | None = None, **params: object) -> CheckResult:
    return CheckResult(
        id=f"{model_id}.{check}", model=model_id, status=status, score=round(points * fraction, 2), max_score=points,
        message=messages.text(key, expected=expected, found=found, **params),
        hint=messages.hint(key, expected=expected, found=found, **params), expected=expected, found=found,
    )


def sample_graded(assignment: LoadedAssignment | None = None, lang: Lang = "ja", stdout_chars: int = 9000) -> Graded:
    assignment = assignment or load_assignment("iris_basics")
    spec = assignment.spec
    messages = Messages(lang)
    table = IrisTable.load()
    rng = np.random.default_rng(7)
    aggregate = messages.text("aggregate.best")
    where = messages.text("where.cell", cell=5, line=7)
    checks: list[CheckResult] = []
    outcomes: dict[str, ModelOutcome] = {}
    metrics: dict[str, float | None] = {}
    for model in spec.models:
        split = table.split_for(model, spec.dataset)
        points = {name: (model.points.metric if name == model.metric.name else getattr(model.points, name))
                  for name in check_names(model)}
        own: list[CheckResult] = []
        for name in check_names(model):
            p = points[name]
            if name == "defined":
                own.append(_check(model.id, name, "passed", p, 1.0, messages, "defined.passed", name=model.class_names[0],
                                  cell=3, found=model.class_names[0]))
            elif name == "structure" and model.id == "lr":
                own.append(_check(model.id, name, "failed", p, 0.0, messages, "structure.missing_sigmoid",
                                  expected="linear(4,3) → sigmoid", found="linear(4,3)"))
            elif name == "structure" and model.id == "mlpr":
                own.append(_check(model.id, name, "failed", p, 0.0, messages, "structure.hidden_fixed", hidden=5,
                                  expected="linear(3,5) → sigmoid → linear(5,1)", found="linear(3,3) → sigmoid → linear(3,1)"))
            elif name == "structure":
                own.append(_check(model.id, name, "passed", p, 1.0, messages, "structure.passed", layers="…", found="…"))
            elif name == "forward_shape":
                shape = f"(75, {model.output_width})"
                own.append(_check(model.id, name, "passed", p, 1.0, messages, "forward.passed", n=75, expected=shape, found=shape))
            elif name == "output_range" and model.id == "lr":
                own.append(_check(model.id, name, "skipped", p, 0.0, messages, "skipped.forward_failed", expected="[0, 1]"))
            elif name == "output_range":
                own.append(_check(model.id, name, "passed", p, 1.0, messages, "range.passed", low="0", high="1",
                                  expected="[0, 1]", found="[0.0012, 0.998]"))
            elif name == "grad_flow" and model.id == "lr":
                error = "RuntimeError: element 0 of tensors does not require grad and does not have a grad_fn"
                own.append(_check(model.id, name, "error", p, 0.0, messages, "grad.raised", error=f"{error} ({where})"))
            elif name == "grad_flow" and model.id == "mlpc":
                own.append(_check(model.id, name, "failed", p, 0.0, messages, "grad.dead", names="l1.weight, l1.bias",
                                  expected="4/4", found="2/4"))
            elif name == "grad_flow":
                own.append(_check(model.id, name, "passed", p, 1.0, messages, "grad.passed", count=4, expected="4/4", found="4/4"))
            elif name == "project_shape":
                own.append(_check(model.id, name, "passed", p, 1.0, messages, "project.passed", method="project",
                                  expected="(75, 2)", found="(75, 2)"))
            else:  # the metric
                kind = model.metric.kind
                value = {"mlr": 0.0371, "lr": 0.84, "mlpr": 0.0347, "mlpc": 0.9733, "ae": 0.097}[model.id]
                fraction = 1.0 if model.id != "lr" else 0.8
                key = f"metric.{'full' if fraction == 1.0 else 'partial'}.{kind}"
                better = "≤" if kind == "mse" else "≥"
                own.append(_check(model.id, name, "passed" if fraction == 1.0 else "failed", p, fraction, messages, key,
                                  value=f"{value:.4g}", full=f"{model.metric.full_credit:g}", zero=f"{model.metric.zero_credit:g}",
                                  seeds=3, aggregate=aggregate, expected=f"{better} {model.metric.full_credit:g}",
                                  found=f"{value:.4g}"))
                metrics[f"{model.id}.{model.metric.name}"] = value
        checks += own
        outcome = ModelOutcome(checks=own, metric_name=model.metric.name, metric_value=metrics[f"{model.id}.{model.metric.name}"],
                               per_seed=[0.1, 0.05, 0.2], chosen_seed=1, class_name=model.class_names[0],
                               test_targets=split.test_y, test_species=split.test_species)
        epochs = np.arange(spec.recipe.epochs)
        outcome.loss_history = [float(v) for v in 0.03 + 0.9 * np.exp(-epochs / 25.0) + rng.normal(0, 0.004, len(epochs)).clip(0)]
        if model.metric.kind == "accuracy":
            noisy = split.test_y + rng.normal(0, 0.3, split.test_y.shape)
            outcome.predictions = 1 / (1 + np.exp(-4 * (noisy - 0.5)))
        else:
            outcome.predictions = split.test_y + rng.normal(0, 0.18, split.test_y.shape)
        if model.project is not None:
            centres = np.array([[0.2, 0.8], [0.55, 0.4], [0.8, 0.2]])
            outcome.code = centres[split.test_species] + rng.normal(0, 0.07, (len(split.test_species), 2))
        outcomes[model.id] = outcome
    line = "epoch 10 loss 0.51 <b>not bold</b>\n"
    stdout = (line * (stdout_chars // len(line) + 1))[:stdout_chars]
    result = Result(
        assignment=spec.id, grader_version="0.0.0-sample", spec_sha256=assignment.spec_sha256,
        submission=SubmissionInfo(student_id="sample_student", file="sample.ipynb", sha256="0" * 64),
        status="graded", lang=lang, mode="definitions",
        score=round(sum(c.score for c in checks), 2), max_score=round(sum(max_points(m) for m in spec.models), 2),
        checks=checks, metrics=metrics,
        incidents=[Incident(kind="output_truncated", message=messages.text("run.output_truncated")),
                   Incident(kind="not_isolated", message=messages.text("run.not_isolated"))],
        skipped=[Skip(cell=7, line=1, text="model = MLR(3, 1)"), Skip(cell=7, line=2, text="for epoch in range(100): …")],
        stdout=stdout, stderr="", seeds=list(spec.recipe.seeds), graded_at="2025-01-01T00:00:00+00:00", duration_s=4.2,
    )
    return Graded(result, outcomes, cells=CELLS)


def main(argv: list[str] | None = None) -> None:
    from grader.report.html import write_report

    parser = argparse.ArgumentParser(description="Write the sample report.")
    parser.add_argument("out", type=Path)
    parser.add_argument("--lang", choices=["ja", "en"], default="ja")
    args = parser.parse_args(argv)
    assignment = load_assignment("iris_basics")
    write_report(args.out, sample_graded(assignment, args.lang), assignment)
    print(args.out)


if __name__ == "__main__":
    main()
