"""The report's pictures, drawn as the lesson draws them, as inline SVG (`grader.outputs.report.svg`).

- the training loss per epoch of the grader's own training (the lesson's `plt.plot(loss_history)`);
- the y-y plot, observed against predicted, with the diagonal, for the regressions;
- a confusion matrix for the classifiers (the lesson counts argmax hits), one row and column per class;
- the autoencoder's 2-d code, one colour per class;
- for the class summary, the score histogram.

They were matplotlib figures (about 0.5 s a report, the most of its time); now they are written as
SVG text directly, in milliseconds, at the same sizes, colours and layout. Text stays text, so the
browser draws Japanese with its own fonts. All text in a figure comes from the messages (the
catalogue, the assignment's messages file, the data set's class names) or is a number: nothing from
a submission, and the writer escapes it anyway.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from grader.i18n import Messages
from grader.outputs.report.svg import COLOURS, Chart, blues, nice_ticks

# One width for every figure of a report, so that their text shows at one size side by side.
FIGURE_WIDTH = 4.2


@dataclass(frozen=True)
class Plot:
    """One figure of a report: `svg` is markup we generated ourselves, safe to inline."""

    kind: str  # loss | yy | confusion | latent | histogram
    title: str
    caption: str
    svg: str


def _clip_id(salt: str) -> str:
    """The figure's clip path id: from its salt, unique in the page and the same on every run."""
    return "clip-" + re.sub(r"[^A-Za-z0-9_.-]", "-", salt)


def _finite(values: np.ndarray) -> np.ndarray:
    finite: np.ndarray = np.isfinite(values).all(axis=1) if values.ndim == 2 else np.isfinite(values)
    return finite


def _span(low: float, high: float) -> tuple[float, float]:
    return (low, high) if high > low else (low - 0.5, high + 0.5)


# -- the figures --------------------------------------------------------------------------------
def loss_plot(history: list[float | None] | None, seed: int | None, loss: str, messages: Messages,
              salt: str) -> Plot | None:
    """The training loss per epoch; `loss` is the recipe's (`mse`, `cross_entropy`, ...)."""
    if not history:
        return None
    values = np.array([np.nan if v is None else v for v in history], dtype=np.float64)
    if not np.isfinite(values).any():
        return None
    epochs = np.arange(1, len(values) + 1, dtype=np.float64)
    finite = values[np.isfinite(values)]
    top = float(finite.max()) * 1.05 if float(finite.max()) > 0 else 1.0
    low = min(0.0, float(finite.min()))
    chart = Chart(FIGURE_WIDTH, 3.2, left=0.16, right=0.96, bottom=0.16, top=0.95,
                  x_range=(0.0, float(len(values))), y_range=(low, top), clip_id=_clip_id(salt))
    x_ticks, y_ticks = nice_ticks(0, len(values)), nice_ticks(low, top)
    named = messages.text(f"loss.{loss}")
    chart.axes(messages.text("plot.loss.x"), messages.text("plot.loss.y", loss=named), x_ticks, y_ticks)
    chart.polyline(epochs.tolist(), values.tolist(), COLOURS[0], width=1.9)
    return Plot("loss", messages.text("plot.loss.title", seed=seed if seed is not None else "?"),
                messages.text("plot.loss.caption", loss=named), chart.svg())


def yy_plot(observed: np.ndarray | None, predicted: np.ndarray | None, messages: Messages, salt: str) -> Plot | None:
    if observed is None or predicted is None or observed.shape != predicted.shape:
        return None
    x, y = observed.reshape(-1).astype(np.float64), predicted.reshape(-1).astype(np.float64)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if not len(x):
        return None
    low, high = float(min(x.min(), y.min())), float(max(x.max(), y.max()))
    pad = (high - low) * 0.05 or 0.5
    edges = (low - pad, high + pad)
    chart = Chart(FIGURE_WIDTH, 3.6, left=0.16, right=0.96, bottom=0.14, top=0.96, x_range=edges, y_range=edges,
                  clip_id=_clip_id(salt))
    chart.equal_aspect()
    ticks = nice_ticks(*edges)
    chart.axes(messages.text("plot.yy.x"), messages.text("plot.yy.y"), ticks, ticks)
    chart.polyline(list(edges), list(edges), COLOURS[1], width=1.6)
    chart.points(x.tolist(), y.tolist(), COLOURS[0])
    return Plot("yy", messages.text("plot.yy.title"), messages.text("plot.yy.caption"), chart.svg())


SEQUENCES_SHOWN = 3


def sequence_plot(inputs: np.ndarray | None, observed: np.ndarray | None, predicted: np.ndarray | None,
                  messages: Messages, salt: str) -> Plot | None:
    """The first test sequences (their first feature over the steps), each one's true next value
    and the prediction, one step after the last: for a model that reads sequences (T, F) and
    predicts one value."""
    if inputs is None or observed is None or predicted is None or inputs.ndim != 3:
        return None
    count = min(SEQUENCES_SHOWN, len(inputs))
    if predicted.shape != observed.shape or observed.reshape(len(observed), -1).shape[1] != 1 or not count:
        return None
    steps = inputs.shape[1]
    lines = inputs[:count, :, 0].astype(np.float64)
    truth = observed.reshape(-1)[:count].astype(np.float64)
    guess = predicted.reshape(-1)[:count].astype(np.float64)
    values = np.concatenate([lines.reshape(-1), truth, guess])
    values = values[np.isfinite(values)]
    if not len(values):
        return None
    low, high = _span(float(values.min()), float(values.max()))
    pad = (high - low) * 0.08
    chart = Chart(FIGURE_WIDTH, 3.4, left=0.14, right=0.96, bottom=0.16, top=0.95, x_range=(0.5, steps + 1.5),
                  y_range=(low - pad, high + pad), clip_id=_clip_id(salt))
    chart.axes(messages.text("plot.sequence.x"), messages.text("plot.sequence.y"), nice_ticks(1, steps + 1),
               nice_ticks(low - pad, high + pad))
    after = float(steps + 1)
    for index in range(count):  # each sequence, its true next value (●) and its prediction (×) in its colour
        colour = COLOURS[index % len(COLOURS)]
        chart.polyline(list(range(1, steps + 1)), lines[index].tolist(), colour, width=1.4)
        chart.points([after], [float(truth[index])], colour, radius=5.0, opacity=0.9)
        chart.crosses([after], [float(guess[index])], colour)
    return Plot("sequence", messages.text("plot.sequence.title"), messages.text("plot.sequence.caption", count=count),
                chart.svg())


def confusion_counts(labels: np.ndarray, predictions: np.ndarray, classes: int) -> np.ndarray:
    """Rows: true class; columns: predicted (the output with the largest value, as in the lesson)."""
    counts = np.zeros((classes, classes), dtype=int)
    keep = _finite(predictions)
    for truth, guess in zip(labels[keep], np.argmax(predictions[keep], axis=1)):
        if 0 <= truth < classes and 0 <= guess < classes:
            counts[int(truth), int(guess)] += 1
    return counts


def confusion_plot(labels: np.ndarray | None, predictions: np.ndarray | None, names: Sequence[str], messages: Messages,
                   salt: str) -> Plot | None:
    """`labels`: the true class of each test row, an index into `names` (one output per class)."""
    classes = len(names)
    if (labels is None or predictions is None or not classes or predictions.ndim != 2
            or predictions.shape[1] != classes):
        return None
    counts = confusion_counts(labels.astype(int), predictions, classes)
    top = max(int(counts.max()), 1)
    chart = Chart(FIGURE_WIDTH, 3.6, left=0.3, right=0.97, bottom=0.19, top=0.97, x_range=(0.0, float(classes)),
                  y_range=(0.0, float(classes)), y_down=True)
    chart.equal_aspect()
    for row in range(classes):
        for column in range(classes):
            value = int(counts[row, column])
            chart.cell(column, row, 1, 1, blues(value / top))
            chart.text(chart.x(column + 0.5), chart.y(row + 0.5), str(value), size=18,
                       colour="white" if value > top / 2 else "#222222")
    centres = [index + 0.5 for index in range(classes)]
    chart.axes(messages.text("plot.confusion.x"), messages.text("plot.confusion.y"), centres, centres,
               x_names=list(names), y_names=list(names), grid=(False, False), spines=False, x_label_offset=38.0)
    return Plot("confusion", messages.text("plot.confusion.title"), messages.text("plot.confusion.caption"),
                chart.svg())


def latent_plot(code: np.ndarray | None, labels: np.ndarray | None, names: Sequence[str], messages: Messages,
                salt: str) -> Plot | None:
    """`labels`: the class of each test row, an index into `names` (one colour and legend entry each)."""
    if code is None or labels is None or code.ndim != 2 or code.shape[1] < 2 or len(code) != len(labels):
        return None
    keep = np.isfinite(code[:, :2]).all(axis=1)
    if not keep.any():
        return None
    shown = code[keep, :2].astype(np.float64)
    x_low, x_high = _span(float(shown[:, 0].min()), float(shown[:, 0].max()))
    y_low, y_high = _span(float(shown[:, 1].min()), float(shown[:, 1].max()))
    x_pad, y_pad = (x_high - x_low) * 0.05, (y_high - y_low) * 0.05
    chart = Chart(FIGURE_WIDTH, 3.6, left=0.16, right=0.96, bottom=0.14, top=0.96,
                  x_range=(x_low - x_pad, x_high + x_pad), y_range=(y_low - y_pad, y_high + y_pad),
                  clip_id=_clip_id(salt))
    x_ticks, y_ticks = nice_ticks(*chart.x_range), nice_ticks(*chart.y_range)
    chart.axes(messages.text("plot.latent.x"), messages.text("plot.latent.y"), x_ticks, y_ticks)
    for index, _ in enumerate(names):
        chosen = keep & (labels == index)
        chart.points(code[chosen, 0].tolist(), code[chosen, 1].tolist(), COLOURS[index % len(COLOURS)])
    chart.legend([(COLOURS[index % len(COLOURS)], name) for index, name in enumerate(names)])
    return Plot("latent", messages.text("plot.latent.title"), messages.text("plot.latent.caption"), chart.svg())


def histogram_plot(scores: list[float], max_score: float, messages: Messages, salt: str = "summary-histogram") -> Plot | None:
    if not scores:
        return None
    top = max(max_score, max(scores), 1e-9)
    edges = np.linspace(0.0, top, 11)
    counts, _ = np.histogram(np.clip(scores, 0.0, top), bins=edges)
    height = max(int(counts.max()), 1) * 1.1
    chart = Chart(5.0, 2.6, left=0.12, right=0.98, bottom=0.2, top=0.95, x_range=(0.0, top), y_range=(0.0, height))
    y_ticks = [t for t in nice_ticks(0, height) if t == int(t)]  # counts: whole numbers only
    chart.axes(messages.text("summary.hist.x"), messages.text("summary.hist.y"), edges.tolist(), y_ticks,
               x_names=[f"{value:g}" for value in edges.round(6)], grid=(False, True))
    for left, right, count in zip(edges[:-1], edges[1:], counts):
        if count:
            chart.cell(float(left), 0.0, float(right - left), float(count), COLOURS[0], gap=1.0)
    return Plot("histogram", messages.text("summary.histogram"), "", chart.svg())
