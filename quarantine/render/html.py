"""Self-contained, print-ready HTML of a certificate (A4, inline CSS and SVG)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from html import escape
from typing import Final

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
from quarantine.render.layout import (
    BODY_PT,
    LABEL_EN_PT,
    LABEL_PT,
    MARGIN_MM,
    NOTE_PT,
    NUMBER_PT,
    PAD_MM,
    PAGE_H_MM,
    PAGE_W_MM,
    RULE_PT,
    SEAL_MM,
    SMALL_PT,
    SUBTITLE_PT,
    TITLE_PT,
    Layout,
)
from quarantine.render.qr import MIN_QUIET_ZONE, qr_svg

CONTENT_W_MM: Final = PAGE_W_MM - 2 * MARGIN_MM
FONT_STACK: Final = (
    '"WenQuanYi Micro Hei", "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", '
    '"Microsoft YaHei", "SimHei", sans-serif'
)


def e(text: str) -> str:
    return escape(text, quote=True)


def _pt(value: float, scale: float, floor: float = 5.0) -> str:
    return f"{max(value * scale, floor):.2f}pt"


def _css(scale: float) -> str:
    content_h = PAGE_H_MM - 2 * MARGIN_MM - 1
    return f"""
@page {{ size: A4; margin: {MARGIN_MM:g}mm; }}
* {{ box-sizing: border-box; }}
html, body {{ margin: 0; padding: 0; background: #fff; color: #000; }}
body {{ font-family: {FONT_STACK}; font-size: {_pt(BODY_PT, scale)}; line-height: 1.32; }}
.sheet {{ width: {CONTENT_W_MM:g}mm; min-height: {content_h:g}mm; margin: 0 auto;
  display: flex; flex-direction: column; }}
@media screen {{
  body {{ background: #e8e8e8; }}
  .sheet {{ background: #fff; padding: {MARGIN_MM:g}mm; width: {PAGE_W_MM:g}mm;
    min-height: {PAGE_H_MM:g}mm; margin: 8mm auto; box-shadow: 0 1mm 4mm rgba(0,0,0,.25); }}
}}
h1 {{ margin: 0; text-align: center; font-size: {max(TITLE_PT * scale, TITLE_PT * 0.8):.1f}pt;
  letter-spacing: .12em; font-weight: bold; }}
.subtitle {{ text-align: center; font-size: {_pt(SUBTITLE_PT, scale)}; color: #333; margin: .6mm 0 1.5mm; }}
.number {{ text-align: right; font-size: {_pt(NUMBER_PT, scale)}; font-weight: bold; margin-bottom: 1.2mm; }}
.body {{ border: .5mm solid #000; }}
table {{ width: 100%; border-collapse: collapse; table-layout: fixed; }}
table + table {{ margin-top: -.2mm; }}
th, td {{ border: .2mm solid #000; padding: {PAD_MM * max(scale, 0.6):.2f}mm; vertical-align: top; text-align: left;
  overflow-wrap: anywhere; word-break: break-all; white-space: pre-wrap; }}
th {{ font-weight: normal; font-size: {_pt(LABEL_PT, scale)}; color: #1a1a1a; }}
.en {{ display: block; font-size: {_pt(LABEL_EN_PT, scale)}; color: #555; }}
.note {{ display: block; font-size: {_pt(NOTE_PT, scale)}; color: #333; }}
.items th {{ text-align: center; }}
.items td.center {{ text-align: center; }}
.items td.right {{ text-align: right; }}
.blank {{ text-align: center !important; font-size: {_pt(NOTE_PT, scale)}; color: #555; }}
.seal {{ height: {SEAL_MM * max(scale, 0.6):.1f}mm; }}
.qr {{ text-align: center; vertical-align: top; }}
.qr svg {{ display: block; margin: 0 auto; }}
.caption {{ font-weight: bold; }}
.module {{ font-size: {_pt(SMALL_PT, scale)}; color: #333; }}
footer {{ padding-top: 2mm; }}
.rule {{ font-weight: bold; font-size: {_pt(RULE_PT, scale, 7.0)}; }}
.rule-en {{ font-size: {_pt(NOTE_PT, scale)}; color: #333; }}
.fine {{ font-size: {_pt(SMALL_PT, scale)}; color: #555; }}
"""


def _label(cell: Cell, tag: str = "th") -> str:
    return f'<{tag}>{e(cell.label_zh)}<span class="en">{e(cell.label_en)}</span></{tag}>'


def _value(cell: Cell, extra_class: str = "") -> str:
    note = f'<span class="note">{e(cell.note)}</span>' if cell.note else ""
    cls = f' class="{extra_class}"' if extra_class else ""
    return f'<td data-field="{e(cell.key)}"{cls}>{e(cell.value)}{note}</td>'


def _grid_row(row: Sequence[Cell], label_w: float) -> str:
    value_w = CONTENT_W_MM - label_w * len(row)
    weights = sum(c.weight for c in row)
    cols = "".join(
        f'<col style="width:{label_w:.2f}mm"><col style="width:{value_w * c.weight / weights:.2f}mm">'
        for c in row
    )
    cells = "".join(_label(c) + _value(c) for c in row)
    return f"<table><colgroup>{cols}</colgroup><tr>{cells}</tr></table>"


def _items(form: Form, layout: Layout) -> str:
    edges = layout.item_edges
    if len(edges) != len(ITEM_COLUMNS) + 1:
        weights = sum(c.weight for c in ITEM_COLUMNS)
        edges = [0.0]
        for c in ITEM_COLUMNS:
            edges.append(edges[-1] + CONTENT_W_MM * c.weight / weights)
    cols = "".join(f'<col style="width:{b - a:.2f}mm">' for a, b in itertools.pairwise(edges))
    head = "".join(
        f'<th scope="col">{e(c.label_zh)}<span class="en">{e(c.label_en)}</span></th>'
        for c in ITEM_COLUMNS
    )
    rows = []
    for r, values in enumerate(form.items):
        tds = "".join(
            f'<td data-field="items[{r}].{c.key}" class="{c.align}">{e(v)}</td>'
            for c, v in zip(ITEM_COLUMNS, values, strict=True)
        )
        rows.append(f"<tr>{tds}</tr>")
    if form.blank_below:
        rows.append(
            f'<tr><td class="blank" colspan="{len(ITEM_COLUMNS)}">'
            f"{e(BLANK_BELOW_ZH)} / {e(BLANK_BELOW_EN)}</td></tr>"
        )
    return (
        f'<table class="items"><colgroup>{cols}</colgroup>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _bottom(form: Form, layout: Layout) -> str:
    """Result, references, seal, officer and date on the left; the QR on the right."""
    assert layout.qr is not None
    module = layout.qr.module_mm
    svg = qr_svg(form.qr_text, ecc="Q", module_mm=module, border=MIN_QUIET_ZONE)
    qr_w = layout.page_w - layout.margin - layout.qr_cell_x0
    left = [cell for cells in form.after for cell in cells]
    left += [form.seal, form.officer, form.issued]
    left_w = CONTENT_W_MM - qr_w - layout.label_w
    qr_cell = (
        f'<td class="qr" rowspan="{len(left)}">{svg}'
        f'<div class="caption">{e(CAPTION_ZH)} / {e(CAPTION_EN)}</div>'
        f'<div class="module">二维码模块 {module:.2f} mm / module size · ECC Q</div></td>'
    )
    rows = []
    for i, cell in enumerate(left):
        cls = "seal" if cell is form.seal else ""
        rows.append(f"<tr>{_label(cell)}{_value(cell, cls)}{qr_cell if i == 0 else ''}</tr>")
    return (
        f'<table class="bottom"><colgroup><col style="width:{layout.label_w:.2f}mm">'
        f'<col style="width:{left_w:.2f}mm"><col style="width:{qr_w:.2f}mm"></colgroup>'
        f"{''.join(rows)}</table>"
    )


def render_html(form: Form, layout: Layout) -> str:
    """The page; ``layout`` supplies the type scale and the QR module size."""
    scope = f"（{form.scope_zh}）" if form.scope_zh else ""
    scope_en = f" — {form.scope_en}" if form.scope_en else ""
    body = [_grid_row(form.agencies, layout.label_w)]
    body += [_grid_row(row, layout.label_w) for row in form.rows]
    body.append(_items(form, layout))
    body.append(_bottom(form, layout))
    footer = []
    if form.rule_zh:
        footer.append(f'<div class="rule">注：{e(form.rule_zh)}</div>')
        footer.append(f'<div class="rule-en">{e(form.rule_en)}</div>')
    footer.append(f'<div class="fine">{e(FOOTER_ZH)} / {e(FOOTER_EN)}</div>')
    return (
        "<!DOCTYPE html>\n"
        '<html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(form.title_zh)}{e(scope)} {e(form.number)}</title>"
        f"<style>{_css(layout.scale)}</style></head>\n<body>"
        f'<div class="sheet"><header><h1>{e(form.title_zh)}{e(scope)}</h1>'
        f'<div class="subtitle">{e(form.title_en)}{e(scope_en)}</div>'
        f'<div class="number">编号 No. <span data-field="number">{e(form.number)}</span></div>'
        f'</header><main class="body">{"".join(body)}</main>'
        f"<footer>{''.join(footer)}</footer></div></body></html>\n"
    )
