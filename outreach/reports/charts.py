"""Charts as server-rendered SVG: no script, no third-party request, sharp in print.

The page's CSP forbids inline style attributes, so shapes carry classes (coloured by
reports.css, for light, dark and print) and SVG presentation attributes only. Every chart
has a title and a description for screen readers; the page puts the numbers in a table
next to it as well.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import format_decimal
from markupsafe import Markup
from markupsafe import escape

# Drawn about as wide as a phone shows it, so that labels keep their size there (at least 12
# px on a 390 px screen); wider screens cap the chart's width in reports.css.
WIDTH = 360
HEIGHT = 200
FONT_SIZE = 14
MARGIN_LEFT = 52
MARGIN_RIGHT = 16
MARGIN_TOP = 12
MARGIN_BOTTOM = 30
MAX_X_LABELS = 5
BAR_HEIGHT = 14
LINE_HEIGHT = 17
VALUE_SPACE = 64
# Characters of a bar label per line at FONT_SIZE; a longer name wraps to a second line and,
# past that, is cut with "…" (the full name is the row's tooltip and in the table).
LABEL_CHARS = 42
# A generous average glyph width, in ems, for placing axis labels: a label is only ever moved
# inwards with it, never drawn wider, so over-estimating costs nothing.
GLYPH_EM = 0.65
# Room kept between an axis label and the edge of the drawing.
EDGE = 2


@dataclass(frozen=True)
class Point:
    """One x position: a short axis label, a full label for tooltips, and its values."""

    label: str
    full_label: str
    values: tuple[int, ...]


def nice_ceiling(value: float) -> int:
    """A round axis maximum at or above ``value`` whose quarters are round too."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 3, 4, 5, 6, 8, 10):
        if value <= step * power:
            return max(1, int(step * power))
    return int(10 * power)


def _number(value: float) -> str:
    # Grouping and decimal marks follow the page language (1,250 vs 1.250).
    return format_decimal(round(value, 1))


def _open_svg(chart_id: str, title: str, description: str, height: int) -> list[str]:
    return [
        f'<svg class="chart-svg" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]


def _y_axis(maximum: int, plot_height: int) -> list[str]:
    parts = []
    for step in range(5):
        value = maximum * step / 4
        y = MARGIN_TOP + plot_height - plot_height * step / 4
        parts.append(
            f'<line class="grid" x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" '
            f'y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis-label" x="{MARGIN_LEFT - 6}" y="{y + 5:.1f}" '
            f'text-anchor="end" font-size="{FONT_SIZE}">{_number(value)}</text>'
        )
    return parts


def _x_label(x: float, label: str) -> tuple[str, float]:
    """Anchor and position of an axis label centred under ``x`` but kept inside the drawing.

    A point at either end of the axis (a line chart's last day sits on the plot's right edge)
    would push a centred label past the SVG's edge, where the page clips it; such a label is
    anchored by its end (or start) at the edge instead.
    """
    half = len(label) * FONT_SIZE * GLYPH_EM / 2
    if x + half > WIDTH - EDGE:
        return "end", WIDTH - EDGE
    if x - half < EDGE:
        return "start", EDGE
    return "middle", x


def _x_labels(points: Sequence[Point], x_of) -> list[str]:
    every = max(1, math.ceil(len(points) / MAX_X_LABELS))
    parts = []
    for index, point in enumerate(points):
        if index % every:
            continue
        anchor, x = _x_label(x_of(index), point.label)
        parts.append(
            f'<text class="axis-label" x="{x:.1f}" y="{HEIGHT - MARGIN_BOTTOM + 20}" '
            f'text-anchor="{anchor}" font-size="{FONT_SIZE}">{escape(point.label)}</text>'
        )
    return parts


def column_chart(points: Sequence[Point], *, chart_id: str, title: str, description: str) -> Markup:
    """Columns over time for one series (values[0] of each point)."""
    plot_width = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    maximum = nice_ceiling(max((p.values[0] for p in points), default=0))
    slot = plot_width / max(1, len(points))
    bar = max(1.0, slot * 0.7)

    def x_of(index: int) -> float:
        return MARGIN_LEFT + slot * index + slot / 2

    parts = _open_svg(chart_id, title, description, HEIGHT)
    parts += _y_axis(maximum, plot_height)
    for index, point in enumerate(points):
        value = point.values[0]
        height = plot_height * value / maximum
        parts.append(
            f'<rect class="bar series-0" x="{x_of(index) - bar / 2:.1f}" '
            f'y="{MARGIN_TOP + plot_height - height:.1f}" width="{bar:.1f}" '
            f'height="{height:.1f}"><title>{escape(point.full_label)}: {_number(value)}'
            "</title></rect>"
        )
    parts += _x_labels(points, x_of)
    parts.append(_baseline(plot_height))
    parts.append("</svg>")
    # Every label and title above went through escape(); the rest is numbers we format.
    return Markup("".join(parts))  # noqa: S704  # nosec B704


def line_chart(
    points: Sequence[Point],
    series_names: Sequence[str],
    *,
    chart_id: str,
    title: str,
    description: str,
) -> Markup:
    """Lines over time, one per series; series differ in colour and dash for print."""
    plot_width = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    maximum = nice_ceiling(max((v for p in points for v in p.values), default=0))
    step = plot_width / max(1, len(points) - 1) if len(points) > 1 else 0

    def x_of(index: int) -> float:
        return MARGIN_LEFT + (step * index if len(points) > 1 else plot_width / 2)

    def y_of(value: float) -> float:
        return MARGIN_TOP + plot_height - plot_height * value / maximum

    parts = _open_svg(chart_id, title, description, HEIGHT)
    parts += _y_axis(maximum, plot_height)
    for series, name in enumerate(series_names):
        coordinates = " ".join(
            f"{x_of(i):.1f},{y_of(p.values[series]):.1f}" for i, p in enumerate(points)
        )
        parts.append(f'<polyline class="line series-{series}" points="{coordinates}"/>')
        if len(points) <= 40:
            for index, point in enumerate(points):
                value = point.values[series]
                parts.append(
                    f'<circle class="dot series-{series}" cx="{x_of(index):.1f}" '
                    f'cy="{y_of(value):.1f}" r="3"><title>{escape(point.full_label)}, '
                    f"{escape(name)}: {_number(value)}</title></circle>"
                )
    parts += _x_labels(points, x_of)
    parts.append(_baseline(plot_height))
    parts.append("</svg>")
    # Every label and title above went through escape(); the rest is numbers we format.
    return Markup("".join(parts))  # noqa: S704  # nosec B704


def wrap_label(label: str, width: int = LABEL_CHARS) -> list[str]:
    """A name on at most two lines of ``width`` characters, cut with "…" past that."""
    lines: list[str] = []
    current = ""
    for word in label.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    lines.append(current)
    if len(lines) > 2:
        lines = [lines[0], " ".join(lines[1:])]
    return [line if len(line) <= width else line[: width - 1] + "…" for line in lines]


def bar_chart(
    rows: Sequence[tuple[str, int]], *, chart_id: str, title: str, description: str
) -> Markup:
    """Horizontal bars, one per labelled row (referrals by type, supplies by item): the name
    above its bar, so that long names stay readable on a phone."""
    bar_space = WIDTH - VALUE_SPACE
    maximum = max((value for _label, value in rows), default=0) or 1
    laid_out = [(label, value, wrap_label(label)) for label, value in rows]
    height = MARGIN_TOP * 2 + sum(
        LINE_HEIGHT * len(lines) + BAR_HEIGHT + 12 for _label, _value, lines in laid_out
    )
    parts = _open_svg(chart_id, title, description, max(height, MARGIN_TOP * 2 + 1))
    y = MARGIN_TOP
    for label, value, lines in laid_out:
        width = bar_space * value / maximum
        text = "".join(
            f'<tspan x="0" dy="{LINE_HEIGHT if index else 0}">{escape(line)}</tspan>'
            for index, line in enumerate(lines)
        )
        bar_y = y + LINE_HEIGHT * len(lines) + 2
        # The value follows its bar, unless a long number would run past the edge.
        number = _number(value)
        value_anchor, value_x = "start", width + 6
        if value_x + len(number) * FONT_SIZE * GLYPH_EM > WIDTH - EDGE:
            value_anchor, value_x = "end", WIDTH - EDGE
        parts.append(
            f"<g><title>{escape(label)}: {_number(value)}</title>"
            f'<text class="bar-label" x="0" y="{y + LINE_HEIGHT - 4}" '
            f'font-size="{FONT_SIZE}">{text}</text>'
            f'<rect class="bar series-0" x="0" y="{bar_y}" '
            f'width="{max(width, 1):.1f}" height="{BAR_HEIGHT}"/>'
            f'<text class="bar-value" x="{value_x:.1f}" y="{bar_y + BAR_HEIGHT - 2}" '
            f'text-anchor="{value_anchor}" font-size="{FONT_SIZE}">{number}</text></g>'
        )
        y += LINE_HEIGHT * len(lines) + BAR_HEIGHT + 12
    parts.append("</svg>")
    # Every label and title above went through escape(); the rest is numbers we format.
    return Markup("".join(parts))  # noqa: S704  # nosec B704


def _baseline(plot_height: int) -> str:
    y = MARGIN_TOP + plot_height
    return (
        f'<line class="baseline" x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" y1="{y}" y2="{y}"/>'
    )
