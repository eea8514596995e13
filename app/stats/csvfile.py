"""The one CSV writer of the service: every CSV it produces (the themes table of the API and the
dashboard, `safeshare report --format csv`) is written here.

Names in the tables are typed by people (themes, locations); a spreadsheet runs a cell that
starts with `=`, `+`, `-`, `@`, a tab or a carriage return as a formula (OWASP "CSV injection").
Such a cell is written with a leading `'`, which spreadsheets show as text; a cell that is a
plain number (`-0.5`) stays a number, and a lone `-` (nothing to show) stays as it is.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")


def neutralise(value: Any) -> str:
    """The cell as text, made safe to open in a spreadsheet."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS) and text != "-" and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def write(rows: Iterable[Iterable[Any]], *, lineterminator: str = "\r\n") -> str:
    """The rows as CSV text, every cell neutralised."""
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator=lineterminator)
    for row in rows:
        out.writerow([neutralise(cell) for cell in row])
    return buffer.getvalue()
