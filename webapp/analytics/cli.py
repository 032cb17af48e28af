"""`flask analytics rebuild`: recompute the rollups from the stored messages (existing data, repair)."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from .rollups import rebuild


def register(app: Flask) -> None:
    group = AppGroup("analytics", help="The analytics dashboard's rollups.")

    @group.command("rebuild")
    def rebuild_command() -> None:
        """Recompute every rollup from the stored messages and the recorded state changes (scans them all)."""
        click.echo(rebuild().summary())

    app.cli.add_command(group)
