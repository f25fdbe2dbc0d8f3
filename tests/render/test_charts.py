"""Server-side SVG charts: structure, accessibility, heights, determinism."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from quarantine.render.charts import (
    MAX_LABELS,
    Chart,
    Series,
    bar_chart,
    chart_of,
    line_chart,
    nice_ticks,
    render,
)

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def bars(root: ET.Element) -> list[ET.Element]:
    return [r for r in root.iter(f"{SVG}rect") if r.get("class") == "bar"]


def simple(values: tuple[float, ...] = (1, 3, 0, 2)) -> Chart:
    return chart_of(
        ("签发数量", "Certificates issued"),
        [f"2026-12-0{i + 1}" for i in range(len(values))],
        [("上海市", "Shanghai", values)],
        x_label=("日期", "date"),
    )


def test_bar_chart_structure_and_accessibility() -> None:
    root = parse(bar_chart(simple()))
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "chart-title chart-desc"
    title = root.find(f"{SVG}title")
    assert title is not None and title.text == "签发数量 / Certificates issued"
    assert title.get("id") == "chart-title"
    desc = root.find(f"{SVG}desc")
    assert desc is not None and desc.text is not None
    assert "柱状图" in desc.text and "Bar chart" in desc.text and "total 6" in desc.text
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "日期 / date" in texts and "数量 / count" in texts
    assert "2026-12-01" in texts


def test_one_bar_per_non_zero_value_with_a_title_and_proportional_height() -> None:
    root = parse(bar_chart(simple((1, 3, 0, 2))))
    drawn = bars(root)
    assert len(drawn) == 3  # the zero is not drawn
    tips = [r.find(f"{SVG}title") for r in drawn]
    assert [t.text for t in tips if t is not None] == [
        "2026-12-01 · 上海市 / Shanghai: 1",
        "2026-12-02 · 上海市 / Shanghai: 3",
        "2026-12-04 · 上海市 / Shanghai: 2",
    ]
    heights = [float(r.get("height", "0")) for r in drawn]
    assert heights[1] == pytest.approx(3 * heights[0], rel=1e-3)
    assert heights[2] == pytest.approx(2 * heights[0], rel=1e-3)
    # bars stand on the x axis
    bottoms = {round(float(r.get("y", "0")) + float(r.get("height", "0")), 1) for r in drawn}
    assert len(bottoms) == 1


def test_stacked_bars_and_legend() -> None:
    chart = chart_of(
        ("核验", "Verifications"),
        ["2026-11", "2026-12"],
        [("浦东新区", "Pudong New Area", (2, 1)), ("闵行区", "Minhang", (3, 0))],
        chart_id="verified",
    )
    root = parse(bar_chart(chart))
    drawn = bars(root)
    assert len(drawn) == 3
    first = [r for r in drawn if r.get("data-label") == "2026-11"]
    assert [r.get("data-value") for r in first] == ["2", "3"]
    # the second segment sits on top of the first
    lower, upper = first
    assert float(upper.get("y", "0")) + float(upper.get("height", "0")) == pytest.approx(
        float(lower.get("y", "0")), abs=0.02
    )
    legend = [g for g in root.iter(f"{SVG}g") if g.get("class") == "legend"]
    assert len(legend) == 1
    assert [t.text for t in legend[0].iter(f"{SVG}text")] == [
        "浦东新区 / Pudong New Area",
        "闵行区 / Minhang",
    ]
    assert root.get("aria-labelledby") == "verified-title verified-desc"


def test_line_chart_points() -> None:
    root = parse(line_chart(simple((0, 5, 5, 10))))
    points = [c for c in root.iter(f"{SVG}circle") if c.get("class") == "point"]
    assert len(points) == 4
    ys = [float(c.get("cy", "0")) for c in points]
    assert ys[1] == ys[2] and ys[0] > ys[1] > ys[3]
    assert [c.get("data-value") for c in points] == ["0", "5", "5", "10"]
    assert len(list(root.iter(f"{SVG}polyline"))) == 1
    assert render(simple(), "line") == line_chart(simple())


def test_deterministic_and_self_contained() -> None:
    one = bar_chart(simple())
    assert one == bar_chart(simple())
    assert "<script" not in one and "http" not in one.replace("http://www.w3.org/2000/svg", "")
    assert "@font-face" not in one and "href" not in one


def test_text_is_escaped() -> None:
    chart = chart_of(("<b>&", 'x"y'), ["<a>"], [("<s>", "'&'", (1,))])
    svg = bar_chart(chart)
    root = parse(svg)  # still well-formed XML
    title = root.find(f"{SVG}title")
    assert title is not None and title.text == '<b>& / x"y'
    assert "<b>" not in svg and "<a>" not in svg


def test_all_zero_and_many_labels() -> None:
    zero = parse(bar_chart(simple((0, 0, 0, 0))))
    assert bars(zero) == []
    labels = [f"d{i}" for i in range(366)]
    big = chart_of(("t", "t"), labels, [("s", "s", [1.0] * 366)])
    root = parse(bar_chart(big))
    assert len(bars(root)) == 366
    ticks = [g for g in root.iter(f"{SVG}g") if g.get("class") == "x-ticks"]
    assert 0 < len(list(ticks[0])) <= 16


@pytest.mark.parametrize(
    ("chart", "message"),
    [
        (Chart("t", "t", (), (Series("s", "s", ()),)), "labels"),
        (Chart("t", "t", ("a",), ()), "series"),
        (Chart("t", "t", ("a", "b"), (Series("s", "s", (1.0,)),)), "values"),
        (Chart("t", "t", ("a",), (Series("s", "s", (-1.0,)),)), "negative"),
        (Chart("t", "t", ("a",), (Series("s", "s", (float("nan"),)),)), "non-finite"),
        (Chart("t", "t", ("a",), (Series("s", "s", (1.0,)),), chart_id="a b"), "chart_id"),
        (Chart("t", "t", ("a",) * (MAX_LABELS + 1), (Series("s", "s", (1.0,)),)), "labels"),
    ],
)
def test_bad_charts_are_refused(chart: Chart, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        bar_chart(chart)


def test_unknown_style() -> None:
    with pytest.raises(ValueError, match="style"):
        render(simple(), "pie")


@pytest.mark.parametrize(
    ("maximum", "ticks"),
    [
        (0, (0.0, 1.0)),
        (3, (0.0, 1.0, 2.0, 3.0)),
        (10, (0.0, 2.0, 4.0, 6.0, 8.0, 10.0)),
        (17, (0.0, 5.0, 10.0, 15.0, 20.0)),
        (1234, (0.0, 500.0, 1000.0, 1500.0)),
    ],
)
def test_nice_ticks(maximum: float, ticks: tuple[float, ...]) -> None:
    assert nice_ticks(maximum) == ticks
