"""The chain of a consignment as server-side SVG (pure: a :class:`~quarantine.core.trace.Trace` in,
text out).

Four columns, one per stage (producing-area pass, requirement letter, transport
certificates, project record); each record a box with its number, kind and dates;
each link an arrow from the record that is rested on to the one resting on it, with
the link's words.  Records that were referenced but are not known here are drawn
dashed.  Only presentation attributes are used (no ``style``), so the drawing works
under the pages' Content-Security-Policy; every text is XML-escaped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final
from xml.sax.saxutils import escape

from quarantine.core.model import CHINA_TZ, Kind
from quarantine.core.trace import Link, Trace

COLUMN_WIDTH: Final = 230
BOX_WIDTH: Final = 190
BOX_HEIGHT: Final = 58
ROW_HEIGHT: Final = 84
MARGIN: Final = 20
HEADER: Final = 34

STAGES: Final = (Kind.PRODUCING_AREA, Kind.REQUIREMENT, Kind.TRANSPORT, Kind.PROJECT)
STAGE_WORDS: Final = {
    Kind.PRODUCING_AREA: ("产地检疫合格证", "Producing-area pass"),
    Kind.REQUIREMENT: ("检疫要求书", "Requirement letter"),
    Kind.TRANSPORT: ("植物检疫证书", "Transport certificate"),
    Kind.PROJECT: ("工程复验记录", "Project record"),
}
LINK_WORDS: Final = {
    Link.PRODUCING_AREA: ("产地", "pass"),
    Link.REQUIREMENT: ("要求书", "letter"),
    Link.REISSUE: ("换证", "re-issue"),
    Link.PROJECT: ("工程", "project"),
}
FILL: Final = {
    Kind.PRODUCING_AREA: "#eef6ee",
    Kind.REQUIREMENT: "#eef2fa",
    Kind.TRANSPORT: "#fff7e6",
    Kind.PROJECT: "#f4eefa",
}


def _text(x: float, y: float, words: str, *, size: int = 12, weight: str = "normal",
          anchor: str = "start", fill: str = "#222") -> str:  # fmt: skip
    return (
        f'<text x="{x:.0f}" y="{y:.0f}" font-size="{size}" font-weight="{weight}" '
        f'text-anchor="{anchor}" fill="{fill}">{escape(words)}</text>'
    )


def render_trace(trace: Trace, *, lang: str = "zh") -> str:
    """The SVG drawing of ``trace`` (``lang``: ``zh`` or ``en`` for the words)."""
    pick = 0 if lang != "en" else 1
    positions: dict[str, tuple[float, float]] = {}
    rows: dict[Kind, int] = dict.fromkeys(STAGES, 0)
    boxes: list[str] = []
    for cert in trace.records:
        column = STAGES.index(cert.kind)
        row = rows[cert.kind]
        rows[cert.kind] += 1
        x = MARGIN + column * COLUMN_WIDTH
        y = MARGIN + HEADER + row * ROW_HEIGHT
        number = str(cert.number)
        positions[number] = (x, y)
        start = number == trace.start
        boxes.append(
            f'<g data-number="{escape(number)}">'
            f'<rect x="{x}" y="{y}" width="{BOX_WIDTH}" height="{BOX_HEIGHT}" rx="6" '
            f'fill="{FILL[cert.kind]}" stroke="{"#c0392b" if start else "#667"}" '
            f'stroke-width="{2 if start else 1}"/>'
            + _text(x + 10, y + 20, number, size=13, weight="bold")
            + _text(
                x + 10,
                y + 38,
                f"{cert.valid_from.isoformat()} … {cert.valid_to.isoformat()}",
                size=11,
                fill="#555",
            )
            + _text(
                x + 10,
                y + 52,
                cert.issued_at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")
                + f" · {cert.number.region}",
                size=10,
                fill="#777",
            )
            + "</g>"
        )
    missing_row = max(rows.values(), default=0)
    for i, number in enumerate(trace.missing):
        x = MARGIN + (i % len(STAGES)) * COLUMN_WIDTH
        y = MARGIN + HEADER + (missing_row + i // len(STAGES)) * ROW_HEIGHT
        positions[number] = (x, y)
        boxes.append(
            f'<g data-number="{escape(number)}" data-missing="true">'
            f'<rect x="{x}" y="{y}" width="{BOX_WIDTH}" height="{BOX_HEIGHT}" rx="6" '
            f'fill="#fafafa" stroke="#999" stroke-dasharray="4 3"/>'
            + _text(x + 10, y + 22, number, size=13, fill="#777")
            + _text(x + 10, y + 42, ("本节点未知", "not known here")[pick], size=11, fill="#999")
            + "</g>"
        )
    used_rows = missing_row + (len(trace.missing) + len(STAGES) - 1) // len(STAGES)
    width = MARGIN * 2 + COLUMN_WIDTH * (len(STAGES) - 1) + BOX_WIDTH
    height = MARGIN * 2 + HEADER + max(1, used_rows) * ROW_HEIGHT
    headers = [
        _text(
            MARGIN + i * COLUMN_WIDTH + BOX_WIDTH / 2,
            MARGIN + 14,
            STAGE_WORDS[kind][pick],
            size=13,
            weight="bold",
            anchor="middle",
            fill="#333",
        )
        for i, kind in enumerate(STAGES)
    ]
    arrows = [_arrow(positions, e.source, e.target, LINK_WORDS[e.link][pick]) for e in trace.edges]
    title = ("检疫追溯", "Trace")[pick] + f" {trace.start}"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>"
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" '
        'markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#556"/></marker></defs>'
        + "".join(headers)
        + "".join(a for a in arrows if a)
        + "".join(boxes)
        + "</svg>"
    )


def _arrow(
    positions: Mapping[str, tuple[float, float]], source: str, target: str, words: str
) -> str:
    if source not in positions or target not in positions:
        return ""
    (sx, sy), (tx, ty) = positions[source], positions[target]
    if sx < tx:  # left to right: from the right edge to the left edge
        x1, y1, x2, y2 = sx + BOX_WIDTH, sy + BOX_HEIGHT / 2, tx, ty + BOX_HEIGHT / 2
    elif sx > tx:
        x1, y1, x2, y2 = sx, sy + BOX_HEIGHT / 2, tx + BOX_WIDTH, ty + BOX_HEIGHT / 2
    else:  # same column (a re-issue): from the bottom to the top
        x1, y1, x2, y2 = sx + BOX_WIDTH / 2, sy + BOX_HEIGHT, tx + BOX_WIDTH / 2, ty
    return (
        f'<line x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" y2="{y2:.0f}" stroke="#556" '
        f'stroke-width="1.5" marker-end="url(#arrow)"/>'
        + _text((x1 + x2) / 2 + 4, (y1 + y2) / 2 - 4, words, size=10, fill="#556")
    )


__all__ = ["render_trace"]
