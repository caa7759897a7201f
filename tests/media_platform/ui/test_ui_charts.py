"""Inline SVG charts: one mark per point, scaled to the data, with tooltips and no external references."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from media_platform.ui import charts

SVG = "{http://www.w3.org/2000/svg}"


def test_bars_scale_to_the_largest_value() -> None:
    svg = charts.bars([("Mon", 1), ("Tue", 4), ("Wed", 0)], "deliveries <per day>")
    root = ET.fromstring(svg)
    heights = [float(rect.get("height", "")) for rect in root.iter(f"{SVG}rect")]
    assert heights[1] == max(heights) and heights[2] == 0 and 0 < heights[0] < heights[1]
    assert root.find(f"{SVG}title").text == "deliveries <per day>"  # type: ignore[union-attr]
    assert "Tue: 4" in svg


def test_line_skips_days_without_a_value() -> None:
    svg = charts.line([("Mon", 0.1), ("Tue", None), ("Wed", 0.5)], "rate", top=1.0)
    root = ET.fromstring(svg)
    assert len(list(root.iter(f"{SVG}circle"))) == 2
    points = root.find(f"{SVG}polyline").get("points", "").split()  # type: ignore[union-attr]
    assert len(points) == 2
    assert "Wed: 50%" in svg
    assert not re.search(r"(href|src)=", svg)


def test_no_points_no_chart() -> None:
    assert charts.bars([], "x") == "" and charts.line([("Mon", None)], "x") == ""


def test_bars_with_slots_keep_their_width_and_sit_at_the_right() -> None:
    root = ET.fromstring(charts.bars([("run 1", 5.0)], "lag", slots=10))
    [rect] = list(root.iter(f"{SVG}rect"))
    assert float(rect.get("width", "")) < charts.WIDTH / 5
    assert float(rect.get("x", "")) == round(charts.WIDTH * 9 / 10, 1)
