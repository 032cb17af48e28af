"""`flask templates sync`: fetch the business's approved templates from Meta and store them."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from ..core.errors import AppError
from .catalog import sync


def register(app: Flask) -> None:
    group = AppGroup("templates", help="The WhatsApp message templates this app can send.")

    @group.command("sync")
    def sync_command() -> None:
        """Replace the stored templates with the approved ones of WHATSAPP_BUSINESS_ACCOUNT_ID."""
        try:
            result = sync()
        except AppError as error:
            raise click.ClickException(error.message) from None
        click.echo(result.summary())

    app.cli.add_command(group)
