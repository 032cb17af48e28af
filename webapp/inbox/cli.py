"""`flask inbox audit`: whether every conversation's counters say what its stored messages say."""

from __future__ import annotations

import click
from flask import Flask

from .audit import audit
from .reindex import reindex_command


def register(app: Flask) -> None:
    @app.cli.group("inbox")
    def inbox() -> None:
        """Conversations and messages."""

    inbox.add_command(reindex_command)  # flask inbox reindex

    @inbox.command("audit")
    def audit_command() -> None:
        """Compare each conversation's unread count, summary and tick with its stored messages (a scan of
        every message); exits 1 when one differs."""
        drift = audit()
        for problem in drift:
            click.echo(str(problem))
        click.echo(f"{len(drift)} counter(s) differ from the stored messages")
        if drift:
            raise SystemExit(1)
