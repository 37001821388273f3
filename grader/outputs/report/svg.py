"""A small SVG chart writer: axes with round ticks, lines, points, cells and text, as markup.

The report's figures are simple (a line, a scatter, a grid of counts, bars), and drawing them with
matplotlib cost about 0.5 s a report (issue 15); this writes the same kinds of figure as strings in
a few milliseconds. Text stays text (the browser draws Japanese with its own fonts) and every string
is escaped. Coordinates are in pixels of the figure's viewBox; the page scales the figure.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

# Fonts asked for by name, then the generic family: each reader's browser takes each glyph from the
# first font that has it (macOS, Windows, then Linux fonts; DejaVu before IPA so Latin text and
# digits keep proportional shapes).
FONT_FAMILY = ("'Hiragino Sans', 'Hiragino Kaku Gothic ProN', 'Yu Gothic', Meiryo, 'Noto Sans CJK JP', "
               "'Noto Sans JP', 'DejaVu Sans', IPAexGothic, IPAGothic, sans-serif")
# The colour cycle the lesson's matplotlib figures use (tab10), so the report's colours are its.
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf")
INK, GRID, FONT_SIZE = "#222222", "#b0b0b0", 15.0
PIXELS_PER_INCH = 100.0


def nice_ticks(low: float, high: float, count: int = 6) -> list[float]:
    """About `count` round values (1, 2, 2.5 or 5 times a power of ten apart) inside [low, high]."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return []
    if high <= low:
        high = low + 1.0
    raw = (high - low) / max(count, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(low / step - 1e-9) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12) + 0.0)  # + 0.0: no "-0"
        value += step
    return [tick for tick in ticks if low <= tick <= high]  # a step's rounding must not leave the axis


def tick_labels(ticks: Sequence[float]) -> list[str]:
    """The ticks with as many decimals as their step needs, all alike (0.00 0.05 0.10), a true minus."""
    if len(ticks) < 2:
        return [f"{value:g}" for value in ticks]
    step = abs(ticks[1] - ticks[0])
    decimals = 0
    while decimals < 10 and abs(step * 10 ** decimals - round(step * 10 ** decimals)) > 1e-6:
        decimals += 1
    return [f"{value + 0.0:.{decimals}f}".replace("-", "\u2212") for value in ticks]


def text_width(text: str, size: float = FONT_SIZE) -> float:
    """About how wide `text` is drawn: a full-width (Japanese) character an em, others 0.55 of one."""
    return sum(size if unicodedata.east_asian_width(ch) in "WF" else 0.55 * size for ch in text)


# matplotlib's "Blues" (ColorBrewer's nine blues), light to dark: a count's share of the largest
# picks its shade, as pcolormesh(cmap="Blues") did.
BLUES = ("#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b")


def blues(fraction: float) -> str:
    position = min(max(fraction, 0.0), 1.0) * (len(BLUES) - 1)
    index = min(int(position), len(BLUES) - 2)
    share = position - index
    low, high = BLUES[index], BLUES[index + 1]
    return "#" + "".join(f"{round(int(low[i:i + 2], 16) * (1 - share) + int(high[i:i + 2], 16) * share):02x}"
                         for i in (1, 3, 5))


@dataclass
class Chart:
    """One figure: `width` x `height` inches (as the report's figures were sized), the plotting area
    inset by margins given as fractions of the figure (matplotlib's subplots_adjust)."""

    width: float
    height: float
    left: float
    right: float
    bottom: float
    top: float
    x_range: tuple[float, float] = (0.0, 1.0)
    y_range: tuple[float, float] = (0.0, 1.0)
    y_down: bool = False  # rows counted down from the top (a matrix), not a value axis up
    clip_id: str = ""
    parts: list[str] = field(default_factory=list)
    marks: list[tuple[float, float]] = field(default_factory=list)  # where points were drawn (the legend avoids them)

    # -- the plotting area -------------------------------------------------------------------
    @property
    def box(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) of the plotting area in pixels, y0 at the top."""
        w, h = self.width * PIXELS_PER_INCH, self.height * PIXELS_PER_INCH
        return self.left * w, (1 - self.top) * h, self.right * w, (1 - self.bottom) * h

    def equal_aspect(self) -> None:
        """One unit the same length on both axes: the plotting area shrinks to a centred square-ish box."""
        x0, y0, x1, y1 = self.box
        (a, b), (c, d) = self.x_range, self.y_range
        scale = min((x1 - x0) / (b - a), (y1 - y0) / (d - c))
        w, h = self.width * PIXELS_PER_INCH, self.height * PIXELS_PER_INCH
        width, height = scale * (b - a), scale * (d - c)
        middle_x, middle_y = (x0 + x1) / 2, (y0 + y1) / 2
        self.left, self.right = (middle_x - width / 2) / w, (middle_x + width / 2) / w
        self.top, self.bottom = 1 - (middle_y - height / 2) / h, 1 - (middle_y + height / 2) / h

    def x(self, value: float) -> float:
        x0, _, x1, _ = self.box
        low, high = self.x_range
        return x0 + (value - low) / (high - low) * (x1 - x0)

    def y(self, value: float) -> float:
        _, y0, _, y1 = self.box
        low, high = self.y_range
        fraction = (value - low) / (high - low)
        return y0 + fraction * (y1 - y0) if self.y_down else y1 - fraction * (y1 - y0)

    # -- marks ---------------------------------------------------------------------------------
    def _clipped(self) -> str:
        return f' clip-path="url(#{self.clip_id})"' if self.clip_id else ""

    def polyline(self, xs: Sequence[float], ys: Sequence[float], colour: str, width: float = 1.8) -> None:
        """A line through the finite points; a gap where a value is missing (NaN)."""
        runs: list[list[str]] = [[]]
        for a, b in zip(xs, ys):
            if math.isfinite(a) and math.isfinite(b):
                runs[-1].append(f"{self.x(a):.1f},{self.y(b):.1f}")
            elif runs[-1]:
                runs.append([])
        for run in runs:
            if len(run) > 1:
                self.parts.append(f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" '
                                  f'stroke-width="{width}" stroke-linejoin="round"{self._clipped()}/>')
            elif len(run) == 1:
                x, y = run[0].split(",")
                self.parts.append(f'<circle cx="{x}" cy="{y}" r="{width}" fill="{colour}"{self._clipped()}/>')

    def points(self, xs: Sequence[float], ys: Sequence[float], colour: str, radius: float = 3.3,
               opacity: float = 0.5) -> None:
        placed = [(self.x(a), self.y(b)) for a, b in zip(xs, ys) if math.isfinite(a) and math.isfinite(b)]
        self.marks.extend(placed)
        dots = "".join(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="{radius}"/>' for px, py in placed)
        self.parts.append(f'<g fill="{colour}" fill-opacity="{opacity}"{self._clipped()}>{dots}</g>')

    def crosses(self, xs: Sequence[float], ys: Sequence[float], colour: str, size: float = 5.0) -> None:
        """An × at each point (a prediction beside the true values' dots)."""
        placed = [(self.x(a), self.y(b)) for a, b in zip(xs, ys) if math.isfinite(a) and math.isfinite(b)]
        self.marks.extend(placed)
        strokes = "".join(f"M{px - size:.1f},{py - size:.1f}L{px + size:.1f},{py + size:.1f}"
                          f"M{px - size:.1f},{py + size:.1f}L{px + size:.1f},{py - size:.1f}" for px, py in placed)
        self.parts.append(f'<path d="{strokes}" stroke="{colour}" stroke-width="2" fill="none"{self._clipped()}/>')

    def cell(self, x: float, y: float, w: float, h: float, colour: str, gap: float = 2.0) -> None:
        """A rectangle of data units (x, y its corner nearest the origin), white lines between cells."""
        left, right = sorted((self.x(x), self.x(x + w)))
        upper, lower = sorted((self.y(y), self.y(y + h)))
        self.parts.append(f'<rect x="{left:.1f}" y="{upper:.1f}" width="{right - left:.1f}" height="{lower - upper:.1f}" '
                          f'fill="{colour}" stroke="white" stroke-width="{gap}"/>')

    def text(self, x: float, y: float, content: str, anchor: str = "middle", size: float = FONT_SIZE,
             colour: str = INK, rotate: bool = False, baseline: str = "central") -> None:
        """Text at pixel (x, y)."""
        turn = f' transform="rotate(-90 {x:.1f} {y:.1f})"' if rotate else ""
        self.parts.append(f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size:g}" fill="{colour}" text-anchor="{anchor}" '
                          f'dominant-baseline="{baseline}"{turn}>{escape(content)}</text>')

    # -- axes ----------------------------------------------------------------------------------
    def _line(self, x1: float, y1: float, x2: float, y2: float, grid: bool = False) -> None:
        """A tick mark, or (grid) a faint grid line."""
        style = f'stroke="{GRID}" stroke-opacity="0.35" stroke-width="0.8"' if grid else f'stroke="{INK}"'
        self.parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" {style}/>')

    def axes(self, x_label: str, y_label: str, x_ticks: Sequence[float], y_ticks: Sequence[float],
             x_names: Sequence[str] | None = None, y_names: Sequence[str] | None = None,
             grid: tuple[bool, bool] = (True, True), spines: bool = True, x_label_offset: float = 40.0) -> None:
        """Ticks with their labels (or names: a matrix's classes), grid lines, the left and bottom
        lines of the plotting area, and the axis titles."""
        x0, y0, x1, y1 = self.box
        x_texts = list(x_names) if x_names is not None else tick_labels(x_ticks)
        y_texts = list(y_names) if y_names is not None else tick_labels(y_ticks)
        pad = 9.0 if spines else 5.0  # past the tick marks, or (a matrix: none) just off the cells
        for index, value in enumerate(x_ticks):
            px = self.x(value)
            if grid[0]:
                self._line(px, y0, px, y1, grid=True)
            if spines:
                self._line(px, y1, px, y1 + 4)
            self.text(px, y1 + pad, x_texts[index], baseline="hanging")
        for index, value in enumerate(y_ticks):
            py = self.y(value)
            if grid[1]:
                self._line(x0, py, x1, py, grid=True)
            if spines:
                self._line(x0 - 4, py, x0, py)
            self.text(x0 - pad, py, y_texts[index], anchor="end")
        if spines:
            self.parts.append(f'<path d="M{x0:.1f},{y0:.1f} V{y1:.1f} H{x1:.1f}" fill="none" stroke="{INK}" '
                              'stroke-width="1"/>')
        self.text((x0 + x1) / 2, y1 + x_label_offset, x_label)
        # The y title just clear of the widest tick label.
        y_label_offset = max((text_width(label) for label in y_texts), default=0.0) + pad + 12
        self.text(x0 - y_label_offset, (y0 + y1) / 2, y_label, rotate=True)

    def legend(self, entries: Sequence[tuple[str, str]]) -> None:
        """A box of (colour, name) entries in the corner of the plotting area that hides the fewest
        points (matplotlib's loc="best", over the four corners)."""
        if not entries:
            return
        x0, y0, x1, y1 = self.box
        width = 30 + max(text_width(name, FONT_SIZE - 2) for _, name in entries)
        height = 8 + 20 * len(entries)
        corners = [(x1 - width - 6, y0 + 6), (x0 + 6, y0 + 6), (x0 + 6, y1 - height - 6), (x1 - width - 6, y1 - height - 6)]

        def hidden(corner: tuple[float, float]) -> int:
            return sum(corner[0] <= px <= corner[0] + width and corner[1] <= py <= corner[1] + height
                       for px, py in self.marks)

        left, top = min(corners, key=hidden)  # the first of the least covered: upper right by default
        self.parts.append(f'<rect x="{left:.1f}" y="{top:.1f}" width="{width:.1f}" height="{height:.1f}" rx="3" '
                          'fill="white" fill-opacity="0.85" stroke="#cccccc"/>')
        for index, (colour, name) in enumerate(entries):
            middle = top + 14 + 20 * index
            self.parts.append(f'<circle cx="{left + 12:.1f}" cy="{middle:.1f}" r="4" fill="{colour}" fill-opacity="0.7"/>')
            self.text(left + 22, middle, name, anchor="start", size=FONT_SIZE - 2)

    # -- the figure ----------------------------------------------------------------------------
    def svg(self) -> str:
        w, h = self.width * PIXELS_PER_INCH, self.height * PIXELS_PER_INCH
        clip = ""
        if self.clip_id:
            x0, y0, x1, y1 = self.box
            clip = (f'<defs><clipPath id="{self.clip_id}"><rect x="{x0:.1f}" y="{y0:.1f}" width="{x1 - x0:.1f}" '
                    f'height="{y1 - y0:.1f}"/></clipPath></defs>')
        return (f'<svg class="plot" role="img" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w:.0f} {h:.0f}" '
                f'font-family="{escape(FONT_FAMILY)}">{clip}<rect width="{w:.0f}" height="{h:.0f}" fill="white"/>'
                + "\n".join(self.parts) + "</svg>")
