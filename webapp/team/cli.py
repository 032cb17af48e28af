"""`flask team recount`: build the list filters' counters again from the conversations."""

from __future__ import annotations

import click
from flask import Flask

from . import counts


def register(app: Flask) -> None:
    @app.cli.group("team")
    def team() -> None:
        """Working together: the list filters' counts."""

    @team.command("recount")
    def recount() -> None:
        """Count every conversation again (after editing the database by hand)."""
        totals = counts.rebuild()
        shown = ", ".join(f"{key} {n}" for key, n in sorted(totals.items())) or "no conversations"
        click.echo(f"Counted: {shown}.")
