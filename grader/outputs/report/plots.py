"""The report's pictures, drawn as the lesson draws them, as inline SVG.

- the training loss per epoch of the grader's own training (the lesson's `plt.plot(loss_history)`);
- the y-y plot, observed against predicted, with the diagonal, for the regressions;
- a confusion matrix for the classifiers (the lesson counts argmax hits), one row and column per class;
- the autoencoder's 2-d code, one colour per class;
- for the class summary, the score histogram.

Every figure is rendered with matplotlib's Agg canvas (no pyplot, no global backend switch) to SVG
with `svg.fonttype = 'none'`: text stays text, so the browser draws Japanese with its own fonts.
All text in a figure comes from the messages (the catalogue, the assignment's messages file, the
data set's class names) or is a number: nothing from a submission.
matplotlib is imported inside the functions, so `import grader.outputs.report.plots` costs nothing.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from grader.i18n import Messages

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.typing import RcKeyType

# Fonts asked for by name, then the generic family: the SVG keeps this list, and each reader's
# browser takes each glyph from the first font that has it (macOS, Windows, then Linux fonts; DejaVu
# before IPA so Latin text and digits keep proportional shapes). matplotlib measures with the same
# chain, so the layout fits where these fonts are installed.
FONT_FAMILIES = ["Hiragino Sans", "Hiragino Kaku Gothic ProN", "Yu Gothic", "Meiryo", "Noto Sans CJK JP",
                 "Noto Sans JP", "DejaVu Sans", "IPAexGothic", "IPAGothic"]
# One width for every figure of a report, so that their text shows at one size side by side.
FIGURE_WIDTH = 4.2


@dataclass(frozen=True)
class Plot:
    """One figure of a report: `svg` is markup we generated ourselves, safe to inline."""

    kind: str  # loss | yy | confusion | latent | histogram
    title: str
    caption: str
    svg: str


def _rc(salt: str) -> dict[RcKeyType, Any]:
    return {
        "svg.fonttype": "none",
        # Fixed per figure: ids of clip paths and markers are unique in the page and the same on every run.
        "svg.hashsalt": salt,
        "font.family": "sans-serif",
        "font.sans-serif": FONT_FAMILIES,
        "font.size": 11,
        "axes.grid": True,
        "grid.alpha": 0.35,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }


def _figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)
    return figure


# matplotlib's rcParams are one process-wide dictionary and rc_context() swaps it in place: batch
# workers render reports in several threads, so one figure at a time.
_MATPLOTLIB_STATE = threading.Lock()


def _render(salt: str, draw: Callable[[Figure], None], width: float, height: float, margins: dict[str, float]) -> str:
    import logging
    import warnings

    import matplotlib

    # Missing-glyph warnings: with text kept as text, matplotlib only measures it; the browser draws it.
    # A filter, not catch_warnings(): reports render in several threads at once, and catch_warnings
    # restores the process-wide filters under the feet of the others.
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font", category=UserWarning)
    with _MATPLOTLIB_STATE, matplotlib.rc_context(_rc(salt)):
        figure = _figure(width, height)
        draw(figure)
        figure.subplots_adjust(**margins)
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    return _clean_svg(buffer.getvalue())


_ID_ATTRIBUTE = re.compile(r' id="([^"]+)"')


def _clean_svg(svg: str) -> str:
    """Inline-ready SVG: no XML prolog, no metadata, no page-wide <style>, scalable, and only the ids
    something refers to (the rest, like matplotlib's `axes_1`, would repeat in a page of figures)."""
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    svg = re.sub(r"<defs>\s*<style[^>]*>.*?</style>\s*</defs>\s*", "", svg, flags=re.S)
    svg = re.sub(r'(<svg[^>]*?) width="[^"]*" height="[^"]*"', r"\1", svg, count=1)
    referenced = set(re.findall(r'#([A-Za-z0-9_.-]+)[)"]', svg))
    svg = _ID_ATTRIBUTE.sub(lambda m: m.group(0) if m.group(1) in referenced else "", svg)
    svg = re.sub(r"\n\s*", "\n", svg)
    return svg.replace("<svg ", '<svg class="plot" role="img" ', 1).strip()


def _finite(values: np.ndarray) -> np.ndarray:
    finite: np.ndarray = np.isfinite(values).all(axis=1) if values.ndim == 2 else np.isfinite(values)
    return finite


# -- the figures --------------------------------------------------------------------------------
def loss_plot(history: list[float | None] | None, seed: int | None, messages: Messages, salt: str) -> Plot | None:
    if not history:
        return None
    values = np.array([np.nan if v is None else v for v in history], dtype=np.float64)
    if not np.isfinite(values).any():
        return None
    epochs = np.arange(1, len(values) + 1)

    def draw(figure: Figure) -> None:
        axes: Axes = figure.add_subplot()
        axes.plot(epochs, values, color="C0", linewidth=1.4)
        axes.set_xlim(0, len(values))
        axes.set_ylim(bottom=0)
        axes.set_xlabel(messages.text("plot.loss.x"))
        axes.set_ylabel(messages.text("plot.loss.y"))

    svg = _render(salt, draw, FIGURE_WIDTH, 3.2, dict(left=0.16, right=0.96, bottom=0.16, top=0.95))
    return Plot("loss", messages.text("plot.loss.title", seed=seed if seed is not None else "?"),
                messages.text("plot.loss.caption"), svg)


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

    def draw(figure: Figure) -> None:
        axes: Axes = figure.add_subplot()
        axes.plot([low - pad, high + pad], [low - pad, high + pad], color="C1", linewidth=1.2)
        axes.scatter(x, y, alpha=0.5, color="C0", s=22, linewidths=0)
        axes.set_xlim(low - pad, high + pad)
        axes.set_ylim(low - pad, high + pad)
        axes.set_aspect("equal")
        axes.set_xlabel(messages.text("plot.yy.x"))
        axes.set_ylabel(messages.text("plot.yy.y"))

    svg = _render(salt, draw, FIGURE_WIDTH, 3.6, dict(left=0.16, right=0.96, bottom=0.14, top=0.96))
    return Plot("yy", messages.text("plot.yy.title"), messages.text("plot.yy.caption"), svg)


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
    names = list(names)

    def draw(figure: Figure) -> None:
        axes: Axes = figure.add_subplot()
        axes.pcolormesh(counts, cmap="Blues", vmin=0, vmax=max(int(counts.max()), 1), edgecolors="white", linewidth=2)
        top = max(int(counts.max()), 1)
        for row in range(classes):
            for column in range(classes):
                value = int(counts[row, column])
                axes.text(column + 0.5, row + 0.5, str(value), ha="center", va="center", fontsize=13,
                          color="white" if value > top / 2 else "#222222")
        axes.set_xticks(np.arange(classes) + 0.5, names)
        axes.set_yticks(np.arange(classes) + 0.5, names)
        axes.set_xlim(0, classes)
        axes.set_ylim(classes, 0)
        axes.set_aspect("equal")
        axes.grid(False)
        axes.tick_params(length=0)
        for side in axes.spines.values():
            side.set_visible(False)
        axes.set_xlabel(messages.text("plot.confusion.x"), labelpad=8)
        axes.set_ylabel(messages.text("plot.confusion.y"))

    svg = _render(salt, draw, FIGURE_WIDTH, 3.6, dict(left=0.3, right=0.97, bottom=0.19, top=0.97))
    return Plot("confusion", messages.text("plot.confusion.title"), messages.text("plot.confusion.caption"), svg)


def latent_plot(code: np.ndarray | None, labels: np.ndarray | None, names: Sequence[str], messages: Messages,
                salt: str) -> Plot | None:
    """`labels`: the class of each test row, an index into `names` (one colour and legend entry each)."""
    if code is None or labels is None or code.ndim != 2 or code.shape[1] < 2 or len(code) != len(labels):
        return None
    keep = np.isfinite(code[:, :2]).all(axis=1)
    if not keep.any():
        return None

    def draw(figure: Figure) -> None:
        axes: Axes = figure.add_subplot()
        for index, name in enumerate(names):
            chosen = keep & (labels == index)
            axes.scatter(code[chosen, 0], code[chosen, 1], alpha=0.5, s=22, linewidths=0, color=f"C{index}",
                         label=name)
        axes.legend(loc="best", fontsize=9, framealpha=0.85)
        axes.set_xlabel(messages.text("plot.latent.x"))
        axes.set_ylabel(messages.text("plot.latent.y"))

    svg = _render(salt, draw, FIGURE_WIDTH, 3.6, dict(left=0.16, right=0.96, bottom=0.14, top=0.96))
    return Plot("latent", messages.text("plot.latent.title"), messages.text("plot.latent.caption"), svg)


def histogram_plot(scores: list[float], max_score: float, messages: Messages, salt: str = "summary-histogram") -> Plot | None:
    if not scores:
        return None
    top = max(max_score, max(scores), 1e-9)
    edges = np.linspace(0.0, top, 11)

    def draw(figure: Figure) -> None:
        from matplotlib.ticker import MaxNLocator

        axes: Axes = figure.add_subplot()
        # matplotlib's stubs take bins as int, str or Sequence[float]; an array is what it documents too.
        counts, _, _ = axes.hist(np.clip(scores, 0.0, top), bins=edges,  # type: ignore[arg-type]
                                 color="C0", edgecolor="white", linewidth=1)
        axes.set_xlim(0, top)
        axes.set_xticks(edges)
        axes.xaxis.set_major_formatter(lambda value, _: f"{value:g}")
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_ylim(0, max(np.max(counts), 1) * 1.1)
        axes.grid(axis="x", visible=False)
        axes.set_xlabel(messages.text("summary.hist.x"))
        axes.set_ylabel(messages.text("summary.hist.y"))

    svg = _render(salt, draw, 5.0, 2.6, dict(left=0.12, right=0.98, bottom=0.2, top=0.95))
    return Plot("histogram", messages.text("summary.histogram"), "", svg)
