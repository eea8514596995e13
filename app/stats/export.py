"""The themes table as CSV, for the API and the dashboard's download alike."""

from __future__ import annotations

import csv
import io

from fastapi.responses import Response

from app.stats.schemas import ThemeTable


def table_csv(table: ThemeTable) -> str:
    """`theme,name,<each period>,total`, one row per theme, then `total` and `untriaged`; withheld cells empty."""
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\r\n")

    def cell(value: int | None) -> str:
        return "" if value is None else str(value)

    def text(value: str) -> str:
        # Theme names are typed by administrators; keep spreadsheets from running one as a formula.
        return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value

    out.writerow(["theme", "name", *table.periods, "total"])
    for row in table.rows:
        out.writerow([text(row.theme), text(row.name), *[cell(v) for v in row.counts], cell(row.total)])
    out.writerow(["total", "All contacts", *[cell(v) for v in table.totals.counts], cell(table.totals.total)])
    out.writerow(["untriaged", "Not yet triaged", *["" for _ in table.periods], cell(table.totals.untriaged)])
    return buf.getvalue()


def csv_response(table: ThemeTable) -> Response:
    """The table as a `text/csv` download named for its range and bucket."""
    filename = f"safeshare-themes-{table.from_}-{table.to}-{table.bucket.value}.csv"
    return Response(
        table_csv(table), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
