"""Command-line commands of this domain, added to the `safeshare` Typer app."""

from __future__ import annotations

import typer


def register(cli: typer.Typer) -> None:
    """Add this domain's commands to `cli`."""
