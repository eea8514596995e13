"""The themes table as CSV, for the API and the dashboard's download alike."""

from __future__ import annotations

from typing import Any

from fastapi.responses import Response

from app.stats import csvfile
from app.stats.schemas import ThemeTable


def table_csv(table: ThemeTable) -> str:
    """`theme,name,<each period>,total`, one row per theme, then `total` and `untriaged`; withheld cells empty."""
    rows: list[list[Any]] = [["theme", "name", *table.periods, "total"]]
    for row in table.rows:
        rows.append([row.theme, row.name, *row.counts, row.total])
    rows.append(["total", "All contacts", *table.totals.counts, table.totals.total])
    rows.append(["untriaged", "Not yet triaged", *["" for _ in table.periods], table.totals.untriaged])
    return csvfile.write(rows)  # theme names are typed by administrators: never run as a formula


def csv_response(table: ThemeTable) -> Response:
    """The table as a `text/csv` download named for its range and bucket."""
    filename = f"safeshare-themes-{table.from_}-{table.to}-{table.bucket.value}.csv"
    return Response(
        table_csv(table), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
