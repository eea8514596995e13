"""Server-rendered SVG bar charts for the dashboard: no JavaScript, no external assets, and no
`style` attributes (the CSP forbids inline styles), only SVG presentation attributes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from app.stats.schemas import ThemeTable

BAR = "#0b5c55"        # the site's accent teal
WITHHELD = "#8a96a0"   # grey marker for a withheld count
AXIS = "#4a5560"
INK = "#1b1f24"
FONT = "system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif"


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float


def _fmt(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _bars(box: Box, labels: Sequence[str], values: Sequence[int | None], title: str, min_cell: int) -> list[str]:
    """One titled bar chart inside `box` (SVG fragments)."""
    parts = [f'<text x="{_fmt(box.x)}" y="{_fmt(box.y + 14)}" font-size="14" font-weight="600" fill="{INK}">{escape(title)}</text>']
    top, bottom = box.y + 24, box.y + box.h - 18
    left, right = box.x + 34, box.x + box.w - 6
    peak = max([v for v in values if v is not None] + [1])
    scale = (bottom - top) / peak
    parts.append(f'<line x1="{_fmt(left)}" y1="{_fmt(bottom)}" x2="{_fmt(right)}" y2="{_fmt(bottom)}" stroke="{AXIS}" stroke-width="1"/>')
    parts.append(f'<text x="{_fmt(left - 4)}" y="{_fmt(top + 8)}" font-size="11" text-anchor="end" fill="{AXIS}">{peak}</text>')
    parts.append(f'<text x="{_fmt(left - 4)}" y="{_fmt(bottom)}" font-size="11" text-anchor="end" fill="{AXIS}">0</text>')
    n = max(len(values), 1)
    slot = (right - left) / n
    bar_w = max(1.0, slot * 0.7)
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        x = left + i * slot + (slot - bar_w) / 2
        if v is None:
            h = max(4.0, 0.08 * (bottom - top))
            parts.append(
                f'<rect class="withheld" x="{_fmt(x)}" y="{_fmt(bottom - h)}" width="{_fmt(bar_w)}" height="{_fmt(h)}" '
                f'fill="{WITHHELD}"><title>{escape(label)}: withheld</title></rect>'
            )
        elif v > 0:
            h = v * scale
            parts.append(
                f'<rect class="bar" x="{_fmt(x)}" y="{_fmt(bottom - h)}" width="{_fmt(bar_w)}" height="{_fmt(h)}" '
                f'fill="{BAR}"><title>{escape(label)}: {v}</title></rect>'
            )
    if labels:
        parts.append(f'<text x="{_fmt(left)}" y="{_fmt(bottom + 14)}" font-size="11" fill="{AXIS}">{escape(labels[0])}</text>')
        if len(labels) > 1:
            parts.append(
                f'<text x="{_fmt(right)}" y="{_fmt(bottom + 14)}" font-size="11" text-anchor="end" fill="{AXIS}">{escape(labels[-1])}</text>'
            )
    return parts


def _svg(width: int, height: int, label: str, parts: list[str], css_id: str) -> Markup:
    body = "".join(parts)
    return Markup(
        f'<svg id="{css_id}" class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{escape(label)}" font-family="{FONT}">'
        f"<title>{escape(label)}</title>{body}</svg>"
    )


def totals_chart(table: ThemeTable) -> Markup:
    """All contacts per period."""
    width, height = 720, 220
    parts = _bars(Box(0, 0, width, height), table.periods, table.totals.counts, "All contacts", table.min_cell)
    return _svg(width, height, f"All contacts per period, {table.from_} to {table.to}", parts, "chart-totals")


def theme_charts(table: ThemeTable, columns: int = 2) -> Markup:
    """Small multiples: one bar chart per theme, each on its own scale."""
    width, cell_h = 720, 150
    cell_w = width / columns
    rows = (len(table.rows) + columns - 1) // columns
    parts: list[str] = []
    for i, row in enumerate(table.rows):
        box = Box((i % columns) * cell_w, (i // columns) * cell_h, cell_w - 12, cell_h - 10)
        parts += _bars(box, table.periods, row.counts, row.name, table.min_cell)
    return _svg(width, max(rows, 1) * cell_h, f"Cases by theme per period, {table.from_} to {table.to}", parts, "chart-themes")


def bar_chart(labels: Sequence[str], values: Sequence[int | None], title: str, css_id: str, min_cell: int,
              width: int = 720, height: int = 220) -> Markup:
    """One bar chart of published counts (None: a grey "withheld" marker, never a bar of its true size)."""
    parts = _bars(Box(0, 0, width, height), labels, values, title, min_cell)
    return _svg(width, height, title, parts, css_id)
