"""`safeshare report`: the board-paper table, and with --year the annual report."""

from __future__ import annotations

import enum
from typing import Annotated

import typer

from app.commandline import database_error, fail, sessionmaker_for, settings_or_exit
from app.errors import AppError
from app.stats import annual, rollup, service
from app.stats.schemas import Bucket, ThemeTable
from app.themes.defaults import DEFAULT_THEMES

WITHHELD = "withheld*"


def board_table(table: ThemeTable) -> str:
    """The board-paper table: each default theme in the default order, then the others, and the total."""
    by_slug = {row.theme: row for row in table.rows}
    lines: list[tuple[str, int | None]] = []
    for slug, name in DEFAULT_THEMES:
        row = by_slug.pop(slug, None)
        # A retired default theme with no case in the range is absent from the table: its count is 0.
        lines.append((row.name if row else name, row.total if row else 0))
    lines += [(row.name, row.total) for row in by_slug.values()]
    lines.append(("Total", table.totals.total))
    lines.append(("  of which not yet triaged", table.totals.untriaged))

    def show(n: int | None) -> str:
        return WITHHELD if n is None else f"{n:,}"

    width = max(len(name) for name, _ in lines)
    num_width = max(len("Number"), *(len(show(n)) for _, n in lines))
    title = f"Concerns raised, by theme: {table.from_} to {table.to}"
    out = [title, "", f"{'Theme':<{width}}  {'Number':>{num_width}}", f"{'-' * width}  {'-' * num_width}"]
    for name, n in lines[:-2]:
        out.append(f"{name:<{width}}  {show(n):>{num_width}}")
    out.append(f"{'-' * width}  {'-' * num_width}")
    for name, n in lines[-2:]:
        out.append(f"{name:<{width}}  {show(n):>{num_width}}")
    if any(n is None for _, n in lines):
        out += [
            "",
            f"* Withheld: fewer than {table.min_cell} contacts, all of a small group in one category, or a",
            "  number that would let one be worked out from the others.",
        ]
    return "\n".join(out)


commands = typer.Typer()


class Format(str, enum.Enum):
    TEXT = "text"
    CSV = "csv"
    HTML = "html"


@commands.command()
def report(
    from_: Annotated[str | None, typer.Option("--from", help="First month, YYYY-MM (default: the first month with any case).")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Last month, YYYY-MM (default: the last month with any case).")] = None,
    year: Annotated[str | None, typer.Option("--year", help="The annual report for a calendar year (2024) or a UK financial year, April to March (2024/25).")] = None,
    format_: Annotated[Format | None, typer.Option("--format", help="The annual report as text, csv or html (default text).")] = None,
) -> None:
    """Print the board-paper table: cases by theme over a range of months, and the total, ready to paste.

    With --year (or --format) print the annual report instead: contacts, themes, channels, out of
    hours, time to acknowledge, satisfaction and equality monitoring against the workforce, every
    figure under the same suppression; --format html gives a page with SVG charts.
    """
    if year is not None:
        if from_ is not None or to is not None:
            fail("--year cannot be combined with --from or --to.")
        span = annual.year_span(year)
        if span is None:
            fail(f"--year must be a calendar year such as 2024 or a financial year such as 2024/25, not {year!r}.")
        from_, to = span
    settings = settings_or_exit()
    sessions = sessionmaker_for(settings)
    try:
        with sessions() as session:
            if year is None and format_ is None:
                table = service.theme_table(
                    session, min_cell=settings.min_cell, from_month=from_, to_month=to, bucket=Bucket.ALL
                )
                output = board_table(table)
            else:
                built = annual.annual_report(session, min_cell=settings.min_cell, from_month=from_, to_month=to)
                output = annual.RENDERERS[(format_ or Format.TEXT).value](built).rstrip("\n")
    except AppError as exc:
        fail(exc.detail)
    except Exception as exc:  # noqa: BLE001 - one line for the operator
        database_error(exc, "read the statistics")
    typer.echo(output)


@commands.command("stats-refresh")
def stats_refresh(
    everything: Annotated[bool, typer.Option("--all", help="Recount every month, not only the stale or missing ones.")] = False,
) -> None:
    """Bring the statistics roll-up up to date (safe from cron on several hosts; refreshes run one at a time)."""
    settings = settings_or_exit()
    sessions = sessionmaker_for(settings)
    try:
        with sessions() as session, session.begin():
            months = rollup.refresh(session, rollup.needs_refresh(session) if not everything else rollup.all_months(session))
    except Exception as exc:  # noqa: BLE001 - one line for the operator
        database_error(exc, "refresh the statistics")
    typer.echo(f"Statistics roll-up: {len(months)} month(s) recounted.")
