"""The one CSV writer of the service.

A cell starting with `=`, `+`, `-`, `@`, tab or CR gets a leading `'` (OWASP "CSV injection"); a
plain number such as `-0.5`, or a lone `-`, stays as it is.
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
