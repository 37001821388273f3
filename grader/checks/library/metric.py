"""The test metric (`test_mse`, `test_accuracy`): the grader's own training under the recipe, every
seed, scored on test labels that never left the trusted side, with partial credit between the
spec's full-credit and zero-credit thresholds. Never computed from predictions of the wrong shape,
nor from predictions that do not come from the model's parameters."""

from __future__ import annotations

import numpy as np

from grader.checks.base import Check, ModelContext, Verdict, other_than_a_tensor
from grader.checks.library.structure import how_the_layers_differ
from grader.checks.metrics import KINDS, aggregate, class_scores, partial_credit
from grader.protocol.wire import Failed, Run, TensorInfo
from grader.result import Status
from grader.spec import ModelSpec
from grader.spec.schema import OUTPUT_OF_LOSS
from grader.train.losses import last_layer

PARAMETER_TOLERANCE = 1e-6  # predictions closer than this after a parameter reset did not use them
CONSTANT_TOLERANCE = 1e-6  # predictions that spread less than this over the test set are one value


class ScoreOnTestSet(Check):
    name = "test_metric"
    order = 100
    default_points = 2.0
    points_key = "metric"

    def id_for(self, model: ModelSpec) -> str:
        return model.metric.name

    def grade(self, context: ModelContext) -> Verdict:
        spec, recipe, evidence = context.spec, context.recipe, context.evidence
        metric, outcome = spec.metric, context.outcome
        observed, training, timeout = evidence.observation, evidence.training, evidence.timeout
        if not context.passed("forward_shape"):
            not_a_tensor = other_than_a_tensor(observed)
            if not_a_tensor is not None:
                return not_a_tensor
            forward = observed.forward if observed is not None else None
            return Verdict("skipped", "skipped.forward_failed" if isinstance(forward, Failed) else "metric.bad_shape")
        if training is None and timeout is not None and timeout.phase == "training":
            found = observed.class_ if observed is not None else None
            return Verdict("error", "timeout.training",
                           {"name": found.name if found else spec.class_names[0], "seconds": timeout.budget_s,
                            "seeds": len(recipe.seeds), "epochs": recipe.epochs})
        if training is None or not training.runs:
            return Verdict("error", "metric.no_training")
        verification = evidence.verification
        if verification is not None and verification.suspicious:
            return Verdict("failed", "metric.suspicious_constant", {"detail": verification.suspicious})
        n, width = len(context.split.test_x), spec.output_width
        outcome.decision_threshold = decision_threshold(spec, recipe.loss, (observed.layers or []) if observed else [])
        values: list[float | None] = []
        errors: list[str] = []
        ignoring = False  # a run whose predictions do not come from the model's parameters
        for run in training.runs:
            if run.error is not None or run.predictions is None:
                values.append(None)
                errors.append(context.describe_error(run.error) if run.error else "?")
                continue
            predictions = as_array(run.predictions, (n, width))
            if predictions is None or not np.isfinite(predictions).all():
                values.append(None)
                errors.append(context.messages.text("metric.bad_predictions"))
                continue
            values.append(_score(context, predictions))
            ignoring = ignoring or _ignores_parameters(context, run, predictions)
        outcome.per_seed = values
        valid = [v for v in values if v is not None]
        if not valid:
            return Verdict("error", "metric.training_failed", {"error": errors[0] if errors else "?"})
        if len(valid) < len(values):
            valid += [KINDS[metric.kind].worst] * (len(values) - len(valid))
        value = round(aggregate(valid, metric.kind, recipe.aggregate), 6)
        chosen = training.runs[_closest_index(values, value)]
        outcome.metric_value, outcome.chosen_seed = value, chosen.seed
        outcome.loss_history = chosen.loss_history
        outcome.predictions = as_array(chosen.predictions, (n, width)) if chosen.predictions else None
        if chosen.code is not None and spec.project is not None:
            outcome.code = as_array(chosen.code, (n, spec.args[spec.project.width_arg]))
        shown = f"{value:.4g}"
        if ignoring:
            return Verdict("failed", "metric.ignores_parameters", {"value": shown},
                           expected=context.messages.text("metric.from_parameters"), found=shown, fraction=0.0)
        fraction = partial_credit(value, metric.full_credit, metric.zero_credit)
        status: Status = "passed" if fraction >= 1.0 else "failed"
        key = {1.0: "metric.full"}.get(fraction, "metric.partial" if fraction > 0 else "metric.zero")
        params = {"value": shown, "full": f"{metric.full_credit:g}", "zero": f"{metric.zero_credit:g}",
                  "seeds": len(values), "aggregate": context.messages.text(f"aggregate.{recipe.aggregate}")}
        hint_key = None
        if fraction < 1.0 and outcome.predictions is not None and is_constant(outcome.predictions):
            key = "metric.constant"
            params["baseline"] = f"{_mean_prediction_score(context):.4g}"
        elif fraction < 1.0 and observed is not None:
            # What the layers say about a low score (an activation on a regression's output) is the hint.
            said = how_the_layers_differ(spec, recipe.loss, observed.layers or [])
            if said is not None:
                hint_key = said[0]
                params.update(said[1])
        better = "≤" if KINDS[metric.kind].lower_is_better else "≥"
        return Verdict(status, f"{key}.{metric.kind}", params, expected=f"{better} {metric.full_credit:g}", found=shown,
                       fraction=fraction, hint_key=hint_key)


def decision_threshold(spec: ModelSpec, loss: str, layers: list[str]) -> float | None:
    """Where one output that decides between two classes (`target = "class_index"`) turns to the
    second: 0.5 for probabilities (forward ends with a sigmoid) and values, 0 for logits, log 0.5
    for log-probabilities; what forward really ends with decides, not what it should end with.
    None: the classes are the largest of one output per class."""
    if spec.target != "class_index":
        return None
    ending = last_layer(layers)
    if ending in ("sigmoid", "softmax"):
        return 0.5
    if ending in ("logsigmoid", "log_softmax"):
        return float(np.log(0.5))
    return 0.0 if OUTPUT_OF_LOSS[loss] == "logits" else 0.5


def is_constant(predictions: np.ndarray) -> bool:
    """The same output for every test sample (dead ReLUs, a saturated sigmoid, a forward that
    ignores its input): each output's spread over the test set is nil."""
    scale = 1.0 + float(np.abs(predictions).max())
    return float(np.ptp(predictions, axis=0).max()) <= CONSTANT_TOLERANCE * scale


def _mean_prediction_score(context: ModelContext) -> float:
    """The test metric of predicting the training targets' mean for every sample: what a constant
    model trained on the MSE converges to."""
    split = context.split
    return _score(context, np.broadcast_to(split.train_y.mean(axis=0), split.test_y.shape))


def _score(context: ModelContext, predictions: np.ndarray) -> float:
    """The metric of these test predictions (a metric on classes reads them as class scores)."""
    split, kind = context.split, KINDS[context.spec.metric.kind]
    scores = class_scores(predictions, context.outcome.decision_threshold) if kind.on_classes else predictions
    return kind.compute(scores, split.test_y, split.test_classes)


def _ignores_parameters(context: ModelContext, run: Run, predictions: np.ndarray) -> bool:
    """The harness also reports the trained model's predictions with fresh random parameters swapped
    in. If they are the same, or still earn full credit, the parameters did not make the predictions
    (e.g. the model looks the answers up in the public data set)."""
    if run.reinit_predictions is None:
        return False
    other = as_array(run.reinit_predictions, predictions.shape)
    if other is None or not np.isfinite(other).all():
        return False  # the output changed with the parameters (even broke): it depends on them
    scale = 1.0 + float(np.abs(predictions).max())
    if float(np.abs(predictions - other).max()) <= PARAMETER_TOLERANCE * scale:
        return True
    metric = context.spec.metric
    return partial_credit(_score(context, other), metric.full_credit, metric.zero_credit) >= 1.0


def _closest_index(values: list[float | None], target: float) -> int:
    best, best_index = float("inf"), 0
    for index, value in enumerate(values):
        if value is not None and abs(value - target) < best:
            best, best_index = abs(value - target), index
    return best_index


def as_array(info: TensorInfo | None, shape: tuple[int, ...]) -> np.ndarray | None:
    """Validated predictions: exactly this shape, floats (None for NaN/inf becomes nan)."""
    if info is None or info.type != "Tensor" or info.shape != list(shape) or info.values is None:
        return None
    try:
        array = np.array(info.values, dtype=np.float64)
    except (ValueError, TypeError):
        return None
    return array if array.shape == shape else None
