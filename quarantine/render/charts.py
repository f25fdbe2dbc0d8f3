"""Accessible SVG charts, rendered on the server (pure: no I/O, no JavaScript, no fonts).

:func:`bar_chart` draws one bar per label, stacked by series when there are
several; :func:`line_chart` draws one polyline per series.  The output:

- is a self-contained ``<svg>`` element (``role="img"``, ``aria-labelledby``
  pointing at its ``<title>`` and ``<desc>``) that can be inlined in HTML or saved
  as a file;
- names every bar or point in its own ``<title>`` (label, series, value in
  Chinese and English), which browsers show as a tooltip and screen readers read;
- uses only the generic ``sans-serif`` family (whatever CJK font the viewer has)
  and fixed colours; no external request of any kind;
- is deterministic: the same input gives the same bytes (coordinates are
  rounded to two decimals, nothing depends on time, randomness or dict order).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final
from xml.sax.saxutils import escape, quoteattr

#: Colours of series, in order (Okabe–Ito, then Tableau 10 for more series).
PALETTE: Final = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#56B4E9",
    "#000000",
    "#4E79A7",
    "#F28E2B",
    "#E15759",
    "#76B7B2",
    "#59A14F",
    "#EDC948",
    "#B07AA1",
    "#FF9DA7",
    "#9C755F",
    "#BAB0AC",
    "#F0E442",
)
#: Most labels (x positions) one chart draws; more is refused (``ValueError``).
MAX_LABELS: Final = 1000
#: Most series one chart draws.
MAX_SERIES: Final = 40
#: Most x-axis labels written under the axis; the others are left out evenly.
MAX_TICK_LABELS: Final = 16

_FONT: Final = "sans-serif"


@dataclass(frozen=True)
class Series:
    """One row of values, one value per label of the chart (non-negative numbers)."""

    name_zh: str
    name_en: str
    values: tuple[float, ...]

    @property
    def name(self) -> str:
        if not self.name_en or self.name_en == self.name_zh:
            return self.name_zh
        return f"{self.name_zh} / {self.name_en}"


@dataclass(frozen=True)
class Chart:
    """What to draw.  Titles and axis labels in Chinese first, English alongside."""

    title_zh: str
    title_en: str
    labels: tuple[str, ...]
    series: tuple[Series, ...]
    x_label_zh: str = ""
    x_label_en: str = ""
    y_label_zh: str = "数量"
    y_label_en: str = "count"
    #: Prefix of the element ids (keep it unique when a page holds several charts).
    chart_id: str = "chart"
    width: int = 960
    height: int = 420
    palette: tuple[str, ...] = field(default=PALETTE)

    def check(self) -> None:
        if not self.labels or len(self.labels) > MAX_LABELS:
            raise ValueError(f"a chart needs 1 to {MAX_LABELS} labels")
        if not self.series or len(self.series) > MAX_SERIES:
            raise ValueError(f"a chart needs 1 to {MAX_SERIES} series")
        for s in self.series:
            if len(s.values) != len(self.labels):
                raise ValueError(
                    f"series {s.name_en!r} has {len(s.values)} values, not {len(self.labels)}"
                )
            if any(not math.isfinite(v) or v < 0 for v in s.values):
                raise ValueError(f"series {s.name_en!r} has a negative or non-finite value")
        if not self.chart_id.replace("-", "").replace("_", "").isalnum():
            raise ValueError("chart_id must be letters, digits, '-' or '_'")
        if self.width < 200 or self.height < 150:
            raise ValueError("a chart is at least 200 × 150")


# --------------------------------------------------------------------------- helpers


def _num(value: float) -> str:
    """A coordinate: at most two decimals, no trailing zeros, never ``-0``."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _value(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}".rstrip("0")


def nice_ticks(maximum: float, count: int = 5) -> tuple[float, ...]:
    """Round axis ticks from 0 to at least ``maximum`` (steps of 1, 2 or 5 × 10ⁿ)."""
    if maximum <= 0:
        return (0.0, 1.0)
    raw = maximum / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    top = math.ceil(maximum / step - 1e-9) * step
    n = round(top / step)
    return tuple(round(i * step, 10) for i in range(n + 1))


def _text_width(text: str, size: float) -> float:
    """Rough width of ``text`` in the generic font: CJK full width, others about 0.6 em."""
    return sum(size if ord(ch) >= 0x2E80 else size * 0.6 for ch in text)


def _title(text: str) -> str:
    return f"<title>{escape(text)}</title>"


def _axis_title(zh: str, en: str) -> str:
    return f"{zh} / {en}" if zh and en else zh or en


@dataclass(frozen=True)
class _Frame:
    left: float
    top: float
    right: float
    bottom: float
    ticks: tuple[float, ...]

    @property
    def plot_width(self) -> float:
        return self.right - self.left

    @property
    def plot_height(self) -> float:
        return self.bottom - self.top

    def y(self, value: float) -> float:
        return self.bottom - value / self.ticks[-1] * self.plot_height


def _frame(chart: Chart, maximum: float) -> _Frame:
    legend_rows = math.ceil(len(chart.series) / 4) if len(chart.series) > 1 else 0
    return _Frame(
        left=64.0,
        top=48.0 + 18.0 * legend_rows,
        right=chart.width - 16.0,
        bottom=chart.height - 64.0,
        ticks=nice_ticks(maximum),
    )


def _open(chart: Chart, kind_zh: str, kind_en: str, total: float) -> list[str]:
    cid = chart.chart_id
    title = f"{chart.title_zh} / {chart.title_en}" if chart.title_en else chart.title_zh
    desc = (
        f"{kind_zh}，{len(chart.labels)} 个{chart.x_label_zh or '分类'}，"
        f"{len(chart.series)} 个系列，合计 {_value(total)}。"
        f"{kind_en}, {len(chart.labels)} {chart.x_label_en or 'categories'}, "
        f"{len(chart.series)} series, total {_value(total)}. "
        f"{chart.labels[0]} – {chart.labels[-1]}"
    )
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{chart.width}" '
        f'height="{chart.height}" viewBox="0 0 {chart.width} {chart.height}" '
        f'aria-labelledby="{cid}-title {cid}-desc" font-family="{_FONT}" font-size="12">',
        f'<title id="{cid}-title">{escape(title)}</title>',
        f'<desc id="{cid}-desc">{escape(desc)}</desc>',
        f'<rect width="{chart.width}" height="{chart.height}" fill="#ffffff"/>',
        f'<text x="{_num(chart.width / 2)}" y="22" text-anchor="middle" font-size="16" '
        f'font-weight="bold">{escape(title)}</text>',
    ]


def _legend(chart: Chart) -> list[str]:
    if len(chart.series) < 2:
        return []
    out = ['<g class="legend">']
    column = (chart.width - 80) / 4
    for i, s in enumerate(chart.series):
        x = 64 + (i % 4) * column
        y = 36 + (i // 4) * 18
        colour = chart.palette[i % len(chart.palette)]
        out.append(
            f'<rect x="{_num(x)}" y="{_num(y)}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{_num(x + 14)}" y="{_num(y + 9)}">{escape(s.name)}</text>'
        )
    out.append("</g>")
    return out


def _axes(chart: Chart, frame: _Frame) -> list[str]:
    out = ['<g class="axes" stroke="#333333" stroke-width="1">']
    out.append(
        f'<line x1="{_num(frame.left)}" y1="{_num(frame.bottom)}" '
        f'x2="{_num(frame.right)}" y2="{_num(frame.bottom)}"/>'
    )
    out.append(
        f'<line x1="{_num(frame.left)}" y1="{_num(frame.top)}" '
        f'x2="{_num(frame.left)}" y2="{_num(frame.bottom)}"/>'
    )
    out.append("</g>")
    out.append('<g class="y-ticks" font-size="11" text-anchor="end">')
    for tick in frame.ticks:
        y = frame.y(tick)
        out.append(
            f'<line x1="{_num(frame.left)}" y1="{_num(y)}" x2="{_num(frame.right)}" '
            f'y2="{_num(y)}" stroke="#e5e7eb"/>'
            f'<text x="{_num(frame.left - 6)}" y="{_num(y + 4)}">{_value(tick)}</text>'
        )
    out.append("</g>")
    slot = frame.plot_width / len(chart.labels)
    widest = max(_text_width(label, 11) for label in chart.labels) + 8
    step = max(1, math.ceil(len(chart.labels) / MAX_TICK_LABELS), math.ceil(widest / slot))
    out.append('<g class="x-ticks" font-size="11" text-anchor="middle">')
    for i in range(0, len(chart.labels), step):
        x = frame.left + (i + 0.5) * slot
        out.append(
            f'<text x="{_num(x)}" y="{_num(frame.bottom + 16)}">{escape(chart.labels[i])}</text>'
        )
    out.append("</g>")
    x_title = _axis_title(chart.x_label_zh, chart.x_label_en)
    y_title = _axis_title(chart.y_label_zh, chart.y_label_en)
    if x_title:
        out.append(
            f'<text class="x-label" x="{_num((frame.left + frame.right) / 2)}" '
            f'y="{_num(chart.height - 16)}" text-anchor="middle">{escape(x_title)}</text>'
        )
    if y_title:
        cy = (frame.top + frame.bottom) / 2
        out.append(
            f'<text class="y-label" x="16" y="{_num(cy)}" text-anchor="middle" '
            f'transform="rotate(-90 16 {_num(cy)})">{escape(y_title)}</text>'
        )
    return out


def _point_title(chart: Chart, i: int, s: Series, value: float) -> str:
    who = f" · {s.name}" if len(chart.series) > 1 or s.name else ""
    return _title(f"{chart.labels[i]}{who}: {_value(value)}")


# --------------------------------------------------------------------------- charts


def bar_chart(chart: Chart) -> str:
    """Bars per label, stacked by series; each segment has a ``<title>`` with its value.

    Segments of value 0 are not drawn.  ``ValueError`` on a malformed chart.
    """
    chart.check()
    stacks = [sum(s.values[i] for s in chart.series) for i in range(len(chart.labels))]
    frame = _frame(chart, max(stacks))
    out = _open(chart, "柱状图", "Bar chart", sum(stacks))
    out += _legend(chart)
    out += _axes(chart, frame)
    slot = frame.plot_width / len(chart.labels)
    gap = min(slot * 0.2, 8.0)
    out.append('<g class="bars">')
    for i in range(len(chart.labels)):
        x = frame.left + i * slot + gap / 2
        base = 0.0
        for k, s in enumerate(chart.series):
            value = s.values[i]
            if value <= 0:
                continue
            y_top = frame.y(base + value)
            y_bottom = frame.y(base)
            colour = chart.palette[k % len(chart.palette)]
            out.append(
                f'<rect class="bar" x="{_num(x)}" y="{_num(y_top)}" width="{_num(slot - gap)}" '
                f'height="{_num(y_bottom - y_top)}" fill="{colour}" data-label={quoteattr(chart.labels[i])} '
                f'data-value="{_value(value)}">{_point_title(chart, i, s, value)}</rect>'
            )
            base += value
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def line_chart(chart: Chart) -> str:
    """One polyline per series with a marker (and ``<title>``) at every point."""
    chart.check()
    maximum = max(max(s.values) for s in chart.series)
    frame = _frame(chart, maximum)
    total = sum(sum(s.values) for s in chart.series)
    out = _open(chart, "折线图", "Line chart", total)
    out += _legend(chart)
    out += _axes(chart, frame)
    slot = frame.plot_width / len(chart.labels)
    radius = 3.0 if len(chart.labels) <= 120 else 1.5
    for k, s in enumerate(chart.series):
        colour = chart.palette[k % len(chart.palette)]
        points = [(frame.left + (i + 0.5) * slot, frame.y(v)) for i, v in enumerate(s.values)]
        out.append(f'<g class="series" data-series={quoteattr(s.name)}>')
        out.append(
            '<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>'.format(
                colour, " ".join(f"{_num(x)},{_num(y)}" for x, y in points)
            )
        )
        for i, (x, y) in enumerate(points):
            out.append(
                f'<circle class="point" cx="{_num(x)}" cy="{_num(y)}" r="{_num(radius)}" '
                f'fill="{colour}" data-value="{_value(s.values[i])}">'
                f"{_point_title(chart, i, s, s.values[i])}</circle>"
            )
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def render(chart: Chart, style: str = "bar") -> str:
    """``bar`` or ``line``."""
    if style == "bar":
        return bar_chart(chart)
    if style == "line":
        return line_chart(chart)
    raise ValueError(f"unknown chart style {style!r}")


def chart_of(
    title: tuple[str, str],
    labels: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[float]]],
    *,
    x_label: tuple[str, str] = ("", ""),
    y_label: tuple[str, str] = ("数量", "count"),
    chart_id: str = "chart",
) -> Chart:
    """A :class:`Chart` from plain sequences (``series``: name_zh, name_en, values)."""
    return Chart(
        title_zh=title[0],
        title_en=title[1],
        labels=tuple(labels),
        series=tuple(Series(zh, en, tuple(float(v) for v in values)) for zh, en, values in series),
        x_label_zh=x_label[0],
        x_label_en=x_label[1],
        y_label_zh=y_label[0],
        y_label_en=y_label[1],
        chart_id=chart_id,
    )
