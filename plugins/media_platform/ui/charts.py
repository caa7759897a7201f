"""Small inline SVG charts (bars and lines) for table cells: no JavaScript, no external assets."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH = 112
HEIGHT = 24
_PAD = 2


def _frame(title: str, body: str) -> str:
    return (
        f'<svg class="spark" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        f'<line x1="0" y1="{HEIGHT - 0.5}" x2="{WIDTH}" y2="{HEIGHT - 0.5}" class="axis"/>{body}</svg>'
    )


def bars(points: Sequence[tuple[str, float]], title: str, value_format: str = "{:,.0f}", slots: int = 0) -> str:
    """One bar per point (label, value), scaled to the largest; each bar's tooltip says its label and value.
    With `slots`, fewer points keep their width and sit at the right (the latest), so one run is not one wide bar."""
    if not points:
        return ""
    top = max(value for _, value in points) or 1.0
    count = max(len(points), slots)
    step = WIDTH / count
    width = max(step - 1.5, 1.0)
    body = []
    for index, (label, value) in enumerate(points, start=count - len(points)):
        height = (HEIGHT - _PAD) * value / top
        y = HEIGHT - height
        tip = escape(f"{label}: {value_format.format(value)}")
        body.append(
            f'<rect class="bar" x="{index * step:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}">'
            f"<title>{tip}</title></rect>"
        )
    return _frame(title, "".join(body))


def line(
    points: Sequence[tuple[str, float | None]], title: str, top: float | None = None, value_format: str = "{:.0%}"
) -> str:
    """A polyline through the points that have a value (gaps are skipped), scaled to `top` or the largest value."""
    known = [(index, label, value) for index, (label, value) in enumerate(points) if value is not None]
    if not known:
        return ""
    ceiling = top if top is not None else max(value for _, _, value in known) or 1.0
    step = WIDTH / max(len(points) - 1, 1)

    def xy(index: int, value: float) -> tuple[float, float]:
        return index * step, HEIGHT - _PAD - (HEIGHT - 2 * _PAD) * min(value / ceiling, 1.0)

    coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(index, value) for index, _, value in known))
    dots = "".join(
        f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="1.8">'
        f"<title>{escape(f'{label}: {value_format.format(value)}')}</title></circle>"
        for index, label, value in known
        for x, y in [xy(index, value)]
    )
    return _frame(title, f'<polyline class="line" fill="none" points="{coords}"/>{dots}')
