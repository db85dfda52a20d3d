"""Bar charts as inline SVG: no script, no font or network resource, readable at phone width.

Each chart is an ``<svg role="img">`` whose ``<title>`` and ``<desc>`` say in words what
the bars show (screen readers read those), and the page always prints the same numbers in
a table beside it. A value known only as a range (a suppressed count) is drawn solid up to
its lower bound and hatched up to its upper bound, so the picture claims no more than the
numbers do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 360
ROW = 38
BAR = 14
LABEL_ROOM = 78  # right margin for the value label


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    low: int
    high: int
    #: What the value label says (``"1,204"``, ``"<5"``, ``"12 to 15"``).
    text: str


def bar_chart(chart_id: str, title: str, bars: Sequence[Bar]) -> str:
    """A horizontal bar chart; ``chart_id`` must be unique in the page."""
    height = max(1, len(bars)) * ROW + 8
    top = max((b.high for b in bars), default=0) or 1
    span = WIDTH - LABEL_ROOM
    desc = "; ".join(f"{b.label}: {b.text}" for b in bars) or "no data"
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d" preserveAspectRatio="xMinYMin meet">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(desc)}</desc>',
        f'<defs><pattern id="{chart_id}-h" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#dbe6f4"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#1f5fa8" stroke-width="2"/></pattern></defs>',
    ]
    for i, b in enumerate(bars):
        y = i * ROW + 4
        solid = round(span * b.low / top, 1)
        full = max(round(span * b.high / top, 1), 2.0 if b.high else 0.0)
        parts.append(f'<text x="0" y="{y + 12}" class="bl">{escape(b.label)}</text>')
        if full > solid:
            parts.append(
                f'<rect x="0" y="{y + 17}" width="{full}" height="{BAR}" '
                f'fill="url(#{chart_id}-h)"/>'
            )
        if solid:
            parts.append(
                f'<rect x="0" y="{y + 17}" width="{solid}" height="{BAR}" fill="#1f5fa8"/>'
            )
        parts.append(f'<text x="{full + 6}" y="{y + 29}" class="bv">{escape(b.text)}</text>')
    if not bars:
        parts.append('<text x="0" y="20" class="bl">No data</text>')
    parts.append("</svg>")
    return "".join(parts)
