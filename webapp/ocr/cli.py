"""`flask ocr read`: read the text of files stored before OCR was there, or again (after OCR_LANGUAGES
changed, or a job was lost)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from ..inbox.documents import Message
from .reading import request_reading
from .records import READ_TYPES

ocr_cli = AppGroup("ocr", help="The text of the images and PDFs customers sent.")


@ocr_cli.command("read")
@click.argument("message_ids", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Every received image and PDF not read yet.")
@click.option("--again", is_flag=True, help="Read files whose text was read already, too.")
def read_command(message_ids: tuple[str, ...], everything: bool, again: bool) -> None:
    """Start reading the text of received files (jobs: a worker, or this process without REDIS_URL)."""
    if everything == bool(message_ids):
        raise click.UsageError("name the message ids to read, or --all")
    if everything:  # an admin's one-off: a scan of the messages
        found = list(Message.objects(direction="inbound", type__in=READ_TYPES, media__status="ready"))
    else:
        found = [m for m in (Message.objects(pk=wid).first() for wid in message_ids) if m is not None]
        missing = sorted(set(message_ids) - {m.id for m in found})
        if missing:
            raise click.ClickException("no such message: " + ", ".join(missing))
    started = sum(request_reading(message, again=again) for message in found)
    click.echo(f"Reading {started} file(s); {len(found) - started} skipped (read already, or not an image or PDF).")
