"""Server-rendered SVG bar charts: no JavaScript, no external assets, no `style` attributes (CSP)."""

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


def _text_width(text: str, size: float = 11) -> float:
    """About how wide a label is drawn (system sans-serif: ~0.58 em a character)."""
    return len(text) * size * 0.58


def _empty(box: Box, top: float, bottom: float, said: str) -> str:
    """What a chart with nothing to draw says, instead of an empty frame."""
    return (f'<text class="empty" x="{_fmt(box.x + box.w / 2)}" y="{_fmt((top + bottom) / 2)}" font-size="13" '
            f'text-anchor="middle" fill="{AXIS}">{escape(said)}</text>')


def _bars(box: Box, labels: Sequence[str], values: Sequence[int | None], title: str, min_cell: int,
          empty: str = "no contacts") -> list[str]:
    """One titled bar chart over periods inside `box`; every bar labelled."""
    parts = [f'<text x="{_fmt(box.x)}" y="{_fmt(box.y + 14)}" font-size="14" font-weight="600" fill="{INK}">{escape(title)}</text>']
    n = max(len(values), 1)
    left, right = box.x + 34, box.x + box.w - 6
    slot = (right - left) / n
    widest = max((_text_width(label) for label in labels), default=0)
    turned = widest > slot * 0.95
    label_room = min(widest * 0.72 + 8, box.h / 3) if turned else 14
    top, bottom = box.y + 24, box.y + box.h - 4 - label_room
    peak = max([v for v in values if v is not None] + [1])
    scale = (bottom - top) / peak
    parts.append(f'<line x1="{_fmt(left)}" y1="{_fmt(bottom)}" x2="{_fmt(right)}" y2="{_fmt(bottom)}" stroke="{AXIS}" stroke-width="1"/>')
    if not any(v is None or v > 0 for v in values):
        parts.append(_empty(box, top, bottom, empty))
        return parts
    parts.append(f'<text x="{_fmt(left - 4)}" y="{_fmt(top + 8)}" font-size="11" text-anchor="end" fill="{AXIS}">{peak}</text>')
    parts.append(f'<text x="{_fmt(left - 4)}" y="{_fmt(bottom)}" font-size="11" text-anchor="end" fill="{AXIS}">0</text>')
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
        centre, below = x + bar_w / 2, bottom + 12
        if turned:
            parts.append(f'<text class="label" x="{_fmt(centre)}" y="{_fmt(below)}" font-size="11" text-anchor="end" '
                         f'fill="{AXIS}" transform="rotate(-45 {_fmt(centre)} {_fmt(below)})">{escape(label)}</text>')
        else:
            parts.append(f'<text class="label" x="{_fmt(centre)}" y="{_fmt(below)}" font-size="11" text-anchor="middle" '
                         f'fill="{AXIS}">{escape(label)}</text>')
    return parts


def _rows(width: float, labels: Sequence[str], values: Sequence[int | None], title: str,
          empty: str = "no contacts") -> tuple[list[str], float]:
    """A titled chart of categories as horizontal bars; the fragments and their height."""
    parts = [f'<text x="0" y="14" font-size="14" font-weight="600" fill="{INK}">{escape(title)}</text>']
    row_h, top = 22.0, 26.0
    if not any(v is None or v > 0 for v in values):
        parts.append(_empty(Box(0, 0, width, 70), top, 70, empty))
        return parts, 80.0
    names = min(max((_text_width(label) for label in labels), default=0) + 10, width * 0.45)
    left, right = names, width - 70
    peak = max([v for v in values if v is not None] + [1])
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        y = top + i * row_h
        parts.append(f'<text class="label" x="{_fmt(left - 6)}" y="{_fmt(y + 15)}" font-size="11" text-anchor="end" '
                     f'fill="{AXIS}">{escape(label)}</text>')
        if v is None:
            parts.append(f'<rect class="withheld" x="{_fmt(left)}" y="{_fmt(y + 4)}" width="12" height="14" '
                         f'fill="{WITHHELD}"><title>{escape(label)}: withheld</title></rect>')
            said, end = "withheld", left + 12
        else:
            w = (right - left) * v / peak
            if v > 0:
                parts.append(f'<rect class="bar" x="{_fmt(left)}" y="{_fmt(y + 4)}" width="{_fmt(max(w, 1.0))}" '
                             f'height="14" fill="{BAR}"><title>{escape(label)}: {v}</title></rect>')
            said, end = f"{v:,}", left + w
        parts.append(f'<text class="value" x="{_fmt(end + 4)}" y="{_fmt(y + 15)}" font-size="11" fill="{INK}">{said}</text>')
    parts.append(f'<line x1="{_fmt(left)}" y1="{_fmt(top)}" x2="{_fmt(left)}" y2="{_fmt(top + len(values) * row_h)}" '
                 f'stroke="{AXIS}" stroke-width="1"/>')
    return parts, top + len(values) * row_h + 8


def _svg(width: int, height: int, label: str, parts: list[str], css_id: str) -> Markup:
    body = "".join(parts)
    return Markup(
        f'<svg id="{css_id}" class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{escape(label)}" font-family="{FONT}">'
        f"<title>{escape(label)}</title>{body}</svg>"
    )


def totals_chart(table: ThemeTable) -> Markup:
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
    """One chart of published counts by category (None: a grey "withheld" marker, never a bar)."""
    parts, needed = _rows(width, labels, values, title)
    return _svg(width, int(needed), title, parts, css_id)
