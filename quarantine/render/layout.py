"""Page layout of a certificate on A4, in millimetres.

The layout engine is independent of the output: a :class:`Measurer` tells how
wide a string is at a font size, :func:`layout_form` wraps every text inside its
box, grows rows to fit, and shrinks the type (down to :data:`MIN_SCALE`) until
the whole form fits on one page above the footer.  The result is a list of
boxes the raster renderer draws and tests can check.
"""

from __future__ import annotations

import functools
import itertools
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Final, Protocol

from quarantine.errors import InputError
from quarantine.render.form import (
    BLANK_BELOW_EN,
    BLANK_BELOW_ZH,
    CAPTION_EN,
    CAPTION_ZH,
    FOOTER_EN,
    FOOTER_ZH,
    ITEM_COLUMNS,
    Cell,
    Form,
)
from quarantine.render.qr import MIN_MODULE_MM, MIN_QUIET_ZONE, qr_version

PAGE_W_MM: Final = 210.0
PAGE_H_MM: Final = 297.0
MARGIN_MM: Final = 12.0
PT_MM: Final = 25.4 / 72
LINE_SPACING: Final = 1.32
PAD_MM: Final = 1.3
LABEL_W_MM: Final = 27.0
#: Module sizes tried for the printed QR, largest first (never below 0.5 mm).
MODULE_SIZES_MM: Final = (0.8, 0.75, 0.7, 0.65, 0.6, 0.55, 0.5)
#: Largest QR (with quiet zone) the form wants to print.
QR_MAX_MM: Final = 64.0
#: Room for the round official seal (a 40 mm stamp) at full scale.
SEAL_MM: Final = 40.0
SCALES: Final = tuple(round(1.0 - 0.05 * i, 2) for i in range(11))  # 1.0 … 0.5
MIN_SCALE: Final = SCALES[-1]

# Font sizes at scale 1, in points.
TITLE_PT: Final = 22.0
SUBTITLE_PT: Final = 9.0
NUMBER_PT: Final = 11.0
BODY_PT: Final = 10.0
LABEL_PT: Final = 9.5
LABEL_EN_PT: Final = 6.5
NOTE_PT: Final = 7.0
RULE_PT: Final = 10.5
SMALL_PT: Final = 6.5

_NO_LINE_START: Final = frozenset("，。、；：！？）》」』】〕…%,.;:!?)]}·")
_NO_LINE_END: Final = frozenset("（《「『【〔([{")


class Measurer(Protocol):
    """Width of text in millimetres at a font size in points."""

    def width(self, text: str, size_pt: float) -> float: ...


class ApproxMeasurer:
    """A font-free, conservative estimate: wide characters 1 em, others 0.62 em."""

    def width(self, text: str, size_pt: float) -> float:
        return sum(_approx_em(ch) for ch in text) * size_pt * PT_MM


@functools.lru_cache(maxsize=4096)
def _approx_em(ch: str) -> float:
    return 1.0 if unicodedata.east_asian_width(ch) in ("W", "F") else 0.62


class CertificateTooLong(InputError):
    """The certificate's texts do not fit on one A4 page even in the smallest type."""


def line_height(size_pt: float) -> float:
    return size_pt * PT_MM * LINE_SPACING


def wrap(text: str, max_mm: float, size_pt: float, measure: Measurer) -> list[str]:
    """Break ``text`` into lines no wider than ``max_mm``.

    Chinese breaks between any two characters (closing punctuation never starts
    a line); Latin words break at spaces when a space is near.
    """
    lines: list[str] = []
    for paragraph in text.split("\n"):
        lines.extend(_wrap_paragraph(paragraph, max_mm, size_pt, measure))
    return lines or [""]


def _wrap_paragraph(text: str, max_mm: float, size_pt: float, measure: Measurer) -> list[str]:
    if not text:
        return [""]
    widths = [measure.width(ch, size_pt) for ch in text]
    out: list[str] = []
    start = 0
    while start < len(text):
        # Skip spaces at the start of a continued line.
        while start < len(text) and text[start] == " " and out:
            start += 1
        if start >= len(text):
            break
        end = start
        width = 0.0
        while end < len(text) and (width + widths[end] <= max_mm or end == start):
            width += widths[end]
            end += 1
        if end < len(text):
            end = start + _adjust_break(text[start:], end - start)
        out.append(text[start:end].rstrip(" "))
        start = end
    return out or [""]


def _is_word(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch in "-_'./×")


def _adjust_break(text: str, cut: int) -> int:
    """Move a break point back so words, numbers and punctuation stay whole."""
    original = cut
    for _ in range(4):
        if cut >= len(text):
            return cut
        if cut <= 1:
            return original  # nothing sensible left on the line: split hard
        new = cut
        # Kinsoku: closing punctuation stays on the previous line, opening on the next.
        if text[new] in _NO_LINE_START or text[new - 1] in _NO_LINE_END:
            new -= 1
        # Do not split a Latin word or a number when its start is near.
        elif _is_word(text[new - 1]) and _is_word(text[new]):
            start = new - 1
            while start > 0 and _is_word(text[start - 1]):
                start -= 1
            if start > 0 and new - start <= 24:
                new = start
        if new == cut:
            break
        cut = new
    return cut if cut >= 1 else original


@dataclass(frozen=True)
class TextBox:
    """Wrapped lines of text: ``x0``–``x1`` is the cell, ``y0``–``y1`` the lines' extent."""

    name: str
    x0: float
    y0: float
    x1: float
    y1: float
    lines: tuple[str, ...]
    size_pt: float
    widest_mm: float
    align: str = "left"
    bold: bool = False
    color: str = "#000000"
    pad: float = PAD_MM

    @property
    def line_height(self) -> float:
        return line_height(self.size_pt)

    @property
    def inner_width(self) -> float:
        return self.x1 - self.x0 - 2 * self.pad


@dataclass(frozen=True)
class Rule:
    """A straight line (or a rectangle outline when ``box``)."""

    x0: float
    y0: float
    x1: float
    y1: float
    width_mm: float = 0.25
    box: bool = False


@dataclass(frozen=True)
class QrBox:
    x: float
    y: float
    module_mm: float
    modules: int  # symbol modules, without quiet zone
    border: int

    @property
    def size_mm(self) -> float:
        return (self.modules + 2 * self.border) * self.module_mm


@dataclass
class Layout:
    """A certificate laid out on one page (millimetres from the top-left corner)."""

    scale: float
    qr_text: str = ""
    texts: list[TextBox] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    qr: QrBox | None = None
    item_edges: list[float] = field(default_factory=list)  # x of the item columns' borders
    qr_cell_x0: float = 0.0  # left edge of the cell holding the QR
    label_w: float = LABEL_W_MM
    pad: float = PAD_MM
    bottom: float = 0.0  # lowest edge of everything printed
    footer_top: float = 0.0  # where the footer notes begin
    page_w: float = PAGE_W_MM
    page_h: float = PAGE_H_MM
    margin: float = MARGIN_MM

    def text(self, name: str) -> TextBox:
        for box in self.texts:
            if box.name == name:
                return box
        raise KeyError(name)


_Part = tuple[str, str, float, str, bool]  # name suffix, text, size, colour, bold


@dataclass
class _Block:
    """Boxes laid out from y = 0; placed later, optionally stretched."""

    texts: list[TextBox] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    height: float = 0.0

    def place(self, layout: Layout, y: float, stretch: float = 0.0) -> float:
        for t in self.texts:
            layout.texts.append(replace(t, y0=t.y0 + y, y1=t.y1 + y))
        for r in self.rules:
            layout.rules.append(replace(r, y0=r.y0 + y, y1=r.y1 + y + stretch))
        return y + self.height + stretch


class _Builder:
    def __init__(self, measure: Measurer, scale: float) -> None:
        self.m = measure
        self.s = scale
        self.pad = PAD_MM * max(scale, 0.6)
        self.label_w = max(LABEL_W_MM * scale, 16.0)

    def pt(self, base: float, floor: float = 4.5) -> float:
        return max(base * self.s, floor)

    def text(
        self,
        name: str,
        text: str,
        x0: float,
        y0: float,
        x1: float,
        size_pt: float,
        *,
        align: str = "left",
        bold: bool = False,
        color: str = "#000000",
        pad: float | None = None,
    ) -> TextBox:
        pad = self.pad if pad is None else pad
        lines = wrap(text, x1 - x0 - 2 * pad, size_pt, self.m)
        widest = max((self.m.width(line, size_pt) for line in lines), default=0.0)
        height = len(lines) * line_height(size_pt)
        return TextBox(
            name, x0, y0, x1, y0 + height, tuple(lines), size_pt, widest, align, bold, color, pad
        )

    def stack(
        self, name: str, parts: Sequence[_Part], x0: float, x1: float, *, align: str = "left"
    ) -> tuple[list[TextBox], float]:
        """Texts stacked in one cell from y = 0; returns the boxes and the cell height."""
        boxes: list[TextBox] = []
        y = self.pad
        for suffix, text, size, color, bold in parts:
            if text:
                box = self.text(
                    f"{name}{suffix}", text, x0, y, x1, size, align=align, color=color, bold=bold
                )
                boxes.append(box)
                y = box.y1
        return boxes, y + self.pad

    def label_parts(self, cell: Cell) -> list[_Part]:
        return [
            (":label", cell.label_zh, self.pt(LABEL_PT), "#1a1a1a", False),
            (":label_en", cell.label_en, self.pt(LABEL_EN_PT), "#555555", False),
        ]

    def value_parts(self, cell: Cell) -> list[_Part]:
        return [
            ("", cell.value, self.pt(BODY_PT), "#000000", False),
            (":note", cell.note, self.pt(NOTE_PT), "#333333", False),
        ]

    def row(
        self, stacks: list[tuple[list[TextBox], float]], edges: list[tuple[float, float]]
    ) -> _Block:
        """One table row: cells side by side, all as tall as the tallest."""
        height = max(h for _, h in stacks)
        block = _Block(height=height)
        for boxes, _ in stacks:
            block.texts.extend(boxes)
        block.rules.extend(Rule(a, 0.0, b, height, 0.2, box=True) for a, b in edges)
        return block

    def grid_row(
        self, cells: Sequence[Cell], x0: float, x1: float, min_height: float = 0.0
    ) -> _Block:
        value_w = x1 - x0 - self.label_w * len(cells)
        weights = sum(c.weight for c in cells)
        stacks: list[tuple[list[TextBox], float]] = []
        edges: list[tuple[float, float]] = []
        x = x0
        for i, cell in enumerate(cells):
            lx1 = x + self.label_w
            vx1 = x1 if i == len(cells) - 1 else lx1 + value_w * cell.weight / weights
            stacks.append(self.stack(cell.key, self.label_parts(cell), x, lx1))
            stacks.append(self.stack(cell.key, self.value_parts(cell), lx1, vx1))
            edges += [(x, lx1), (lx1, vx1)]
            x = vx1
        block = self.row(stacks, edges)
        if block.height < min_height:
            extra = min_height - block.height
            block.rules = [replace(r, y1=r.y1 + extra) for r in block.rules]
            block.height = min_height
        return block

    def column_edges(self, form: Form, x0: float, x1: float) -> list[float]:
        """Item columns sized to their content: minimum for the header, rest by demand."""
        body = self.pt(BODY_PT)
        mins: list[float] = []
        demand: list[float] = []
        for c, col in enumerate(ITEM_COLUMNS):
            header = max(self.m.width(col.label_zh, self.pt(LABEL_PT)), 7.0 * self.s)
            widths = [self.m.width(values[c], body) for values in form.items]
            longest_word = max(
                (self._longest_word(values[c], body) for values in form.items), default=0.0
            )
            short = col.key in ("no", "unit", "quantity")
            if col.key == "unit":  # a long unit may wrap; keep the column narrow
                longest_word = min(longest_word, 4 * body * PT_MM)
            mins.append(max(header, longest_word if short else 0.0) + 2 * self.pad)
            natural = max(widths, default=0.0)
            demand.append(col.weight * 4 if short else max(natural, col.weight * 10) + 2 * self.pad)
        total = x1 - x0
        spare = total - sum(mins)
        natural_total = sum(max(d, m) for d, m in zip(demand, mins, strict=True))
        if natural_total <= total:
            # Everything fits on one line: share the rest by the default weights.
            base = [max(d, m) for d, m in zip(demand, mins, strict=True)]
            rest = total - natural_total
            weights = sum(col.weight for col in ITEM_COLUMNS)
            widths = [
                b + rest * col.weight / weights for b, col in zip(base, ITEM_COLUMNS, strict=True)
            ]
        else:
            # Wrapping: give the free width by total text per column.
            area = [
                0.0
                if col.key in ("no", "unit", "quantity")
                else sum(self.m.width(v[c], body) for v in form.items)
                for c, col in enumerate(ITEM_COLUMNS)
            ]
            area_total = sum(area) or 1.0
            widths = [m + max(spare, 0.0) * a / area_total for m, a in zip(mins, area, strict=True)]
        edges = [x0]
        for w in widths:
            edges.append(edges[-1] + w)
        edges[-1] = x1
        return edges

    def _longest_word(self, text: str, size: float) -> float:
        return max((self.m.width(word, size) for word in text.split()), default=0.0)

    def item_table(self, form: Form, x0: float, x1: float, edges: list[float]) -> list[_Block]:
        spans = list(itertools.pairwise(edges))
        header = [
            self.stack(
                f"items.header.{col.key}",
                [
                    ("", col.label_zh, self.pt(LABEL_PT), "#1a1a1a", False),
                    (":en", col.label_en, self.pt(LABEL_EN_PT), "#555555", False),
                ],
                a,
                b,
                align="center",
            )
            for col, (a, b) in zip(ITEM_COLUMNS, spans, strict=True)
        ]
        blocks = [self.row(header, spans)]
        for r, values in enumerate(form.items):
            stacks = [
                self.stack(
                    f"items[{r}].{col.key}",
                    [("", value, self.pt(BODY_PT), "#000000", False)],
                    a,
                    b,
                    align=col.align,
                )
                for col, value, (a, b) in zip(ITEM_COLUMNS, values, spans, strict=True)
            ]
            blocks.append(self.row(stacks, spans))
        if form.blank_below:
            part: list[_Part] = [
                ("", f"{BLANK_BELOW_ZH} / {BLANK_BELOW_EN}", self.pt(NOTE_PT), "#555555", False)
            ]
            blocks.append(
                self.row(
                    [self.stack("items.blank_below", part, x0, x1, align="center")], [(x0, x1)]
                )
            )
        return blocks


def choose_module_mm(modules: int, border: int = MIN_QUIET_ZONE) -> float:
    """Largest module size from :data:`MODULE_SIZES_MM` whose QR fits :data:`QR_MAX_MM`."""
    for size in MODULE_SIZES_MM:
        if (modules + 2 * border) * size <= QR_MAX_MM:
            return size
    return MIN_MODULE_MM


def _layout_at(
    form: Form, measure: Measurer, scale: float, module_mm: float, modules: int
) -> Layout:
    b = _Builder(measure, scale)
    lay = Layout(scale=scale, qr_text=form.qr_text, label_w=b.label_w, pad=b.pad)
    x0, x1 = MARGIN_MM, PAGE_W_MM - MARGIN_MM
    y = MARGIN_MM

    # Header: title, English title, number.
    title = form.title_zh + (f"（{form.scope_zh}）" if form.scope_zh else "")
    heads = [
        (
            b.text(
                "title",
                title,
                x0,
                0,
                x1,
                max(TITLE_PT * scale, TITLE_PT * 0.8),
                align="center",
                bold=True,
            ),
            0.6,
        ),
        (
            b.text(
                "title_en",
                form.title_en + (f" — {form.scope_en}" if form.scope_en else ""),
                x0,
                0,
                x1,
                b.pt(SUBTITLE_PT),
                align="center",
                color="#333333",
            ),
            1.5,
        ),
        (
            b.text(
                "number",
                f"编号 No.  {form.number}",
                x0,
                0,
                x1,
                b.pt(NUMBER_PT),
                align="right",
                bold=True,
            ),
            1.2,
        ),
    ]
    for box, gap in heads:
        lay.texts.append(replace(box, y0=y, y1=y + box.y1))
        y += box.y1 + gap

    # Body table: parties, conveyance, route, validity, then the line items.
    table_top = y
    y = b.grid_row(form.agencies, x0, x1).place(lay, y)
    for cells in form.rows:
        y = b.grid_row(cells, x0, x1).place(lay, y)
    lay.item_edges = b.column_edges(form, x0, x1)
    for block in b.item_table(form, x0, x1, lay.item_edges):
        y = block.place(lay, y)

    # Bottom block: result, references, seal, officer and date on the left; QR on the right.
    qr_total = (modules + 2 * MIN_QUIET_ZONE) * module_mm
    caption = b.text(
        "qr.caption", f"{CAPTION_ZH} / {CAPTION_EN}", 0, 0, 1, b.pt(BODY_PT, 7.0), bold=True
    )
    qr_w = max(qr_total, b.m.width(caption.lines[0], caption.size_pt)) + 2 * b.pad
    qx0 = x1 - qr_w
    caption = b.text(
        "qr.caption",
        f"{CAPTION_ZH} / {CAPTION_EN}",
        qx0,
        0,
        x1,
        caption.size_pt,
        align="center",
        bold=True,
    )
    note = b.text(
        "qr.module_size",
        f"二维码模块 {module_mm:.2f} mm / module size · ECC Q",
        qx0,
        0,
        x1,
        b.pt(SMALL_PT),
        align="center",
        color="#333333",
    )
    qr_block_h = b.pad + qr_total + caption.y1 + 0.3 + note.y1 + b.pad

    left: list[_Block] = [b.grid_row((cell,), x0, qx0) for cells in form.after for cell in cells]
    seal_index = len(left)
    left.append(b.grid_row((form.seal,), x0, qx0, min_height=SEAL_MM * max(scale, 0.6)))
    left.append(b.grid_row((form.officer,), x0, qx0))
    left.append(b.grid_row((form.issued,), x0, qx0))
    stretch = max(0.0, qr_block_h - sum(blk.height for blk in left))
    block_top = y
    for i, blk in enumerate(left):
        y = blk.place(lay, y, stretch if i == seal_index else 0.0)
    lay.rules.append(Rule(qx0, block_top, x1, y, 0.2, box=True))
    lay.qr_cell_x0 = qx0
    lay.qr = QrBox(
        qx0 + (qr_w - qr_total) / 2, block_top + b.pad, module_mm, modules, MIN_QUIET_ZONE
    )
    cy = block_top + b.pad + qr_total
    lay.texts.append(replace(caption, y0=cy, y1=cy + caption.y1))
    cy += caption.y1 + 0.3
    lay.texts.append(replace(note, y0=cy, y1=cy + note.y1))
    lay.rules.append(Rule(x0, table_top, x1, y, 0.5, box=True))

    # Footer notes under the table.
    footer: list[TextBox] = []
    if form.rule_zh:
        footer.append(
            b.text("rule", f"注：{form.rule_zh}", x0, 0, x1, b.pt(RULE_PT, 7.0), bold=True, pad=0.0)
        )
        footer.append(
            b.text("rule_en", form.rule_en, x0, 0, x1, b.pt(NOTE_PT), color="#333333", pad=0.0)
        )
    footer.append(
        b.text(
            "footer",
            f"{FOOTER_ZH} / {FOOTER_EN}",
            x0,
            0,
            x1,
            b.pt(SMALL_PT),
            color="#555555",
            pad=0.0,
        )
    )
    y += 2.0
    lay.footer_top = y
    for box in footer:
        lay.texts.append(replace(box, y0=y, y1=y + box.y1))
        y += box.y1 + 0.4
    lay.bottom = y - 0.4
    return lay


def layout_form(
    form: Form,
    measure: Measurer,
    *,
    quantize_module: Callable[[float], float] | None = None,
) -> Layout:
    """Lay ``form`` out on one A4 page, shrinking type until it fits.

    ``quantize_module`` maps a wanted module size to the one the output can draw
    (a whole number of pixels for raster output); it must not go below 0.5 mm.
    Raises :class:`CertificateTooLong` when even the smallest type overflows.
    """
    version = qr_version(form.qr_text, "Q")
    modules = 17 + 4 * version
    preferred = choose_module_mm(modules)
    quant = quantize_module or (lambda mm: mm)
    module_tries = [preferred] + ([MIN_MODULE_MM] if preferred > MIN_MODULE_MM else [])
    for module in module_tries:
        module_mm = quant(module)
        if module_mm < MIN_MODULE_MM:
            raise ValueError("quantize_module went below 0.5 mm")
        # The page's height falls as the type shrinks: find the largest scale that fits.
        lo, hi, best = 0, len(SCALES) - 1, None
        while lo <= hi:
            mid = (lo + hi) // 2
            lay = _layout_at(form, measure, SCALES[mid], module_mm, modules)
            if lay.bottom <= PAGE_H_MM - MARGIN_MM:
                best, hi = lay, mid - 1
            else:
                lo = mid + 1
        if best is not None:
            return best
    raise CertificateTooLong(
        "CERTIFICATE_TOO_LONG",
        "证书文字过多，最小字号下仍无法排入一页 A4",
        "the certificate's texts do not fit on one A4 page even in the smallest type",
    )
