"""`flask replay FILE|DIR…` and `flask webhooks replay --failed`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app

from ..core.jobs import enqueue
from ..inbox.writes import Report
from ..whatsapp.parse import WebhookFormatError
from ..whatsapp.signature import SignatureVerdict
from .receive import receive_webhook, replay_event
from .tasks import process_delivery, prune_deliveries, unfinished


def _payload_files(paths: tuple[str, ...]) -> list[Path]:
    files: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*.json") if p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            raise click.BadParameter(f"{name} is neither a file nor a directory", param_hint="PATHS")
    return files


def summary(report: Report, errors: int) -> str:
    return (
        f"stored {report.stored}, duplicates {report.duplicates}, statuses applied {report.statuses_applied}"
        f" (stale {report.statuses_stale}, waiting for their message {report.statuses_deferred}),"
        f" reactions {report.reactions_applied}, errors {errors}"
    )


def register(app: Flask) -> None:
    @app.cli.command("replay")
    @click.argument("paths", nargs=-1, required=True, type=click.Path())
    def replay(paths: tuple[str, ...]) -> None:
        """Feed webhook payload files (or directories of *.json) through the pipeline."""
        files = _payload_files(paths)
        total, errors = Report(), 0
        with click.progressbar(files, label=f"Replaying {len(files)} file(s)", file=sys.stderr,
                               item_show_func=lambda p: p.name if p else "") as bar:
            for path in bar:
                try:
                    receipt = receive_webhook(path.read_bytes(), signature=SignatureVerdict.NOT_CHECKED,
                                              source="replay")
                except WebhookFormatError as exc:
                    errors += 1
                    click.echo(f"\n{path}: {exc.message} {exc.errors or ''}".rstrip(), err=True)
                    continue
                if receipt.outcome == "failed":
                    errors += 1
                    click.echo(f"\n{path}: processing failed: {receipt.error}", err=True)
                total.add(receipt.report)
        click.echo(summary(total, errors))
        if errors:
            raise SystemExit(1)

    @app.cli.group("webhooks")
    def webhooks() -> None:
        """Stored webhook deliveries."""

    @webhooks.command("replay")
    @click.option("--failed", is_flag=True, required=True,
                  help="Process again the deliveries that failed, and those left unprocessed (`received`).")
    @click.option("--queue", "queued", is_flag=True, help="Hand each one to the job workers (retried with backoff).")
    @click.option("--stuck-after", type=float, default=None, metavar="SECONDS",
                  help="A delivery still `received` after this long is stuck (default WEBHOOK_STUCK_AFTER).")
    def replay_failed(failed: bool, queued: bool, stuck_after: float | None) -> None:
        """Process failed and stuck deliveries again (safe: processing is idempotent). Of a failed delivery
        only the events that failed are applied again; a stuck one is applied whole."""
        if stuck_after is None:
            stuck_after = float(current_app.config.get("WEBHOOK_STUCK_AFTER", 60))
        events = unfinished(stuck_after)
        if queued:
            for event in events:
                enqueue(process_delivery, str(event.pk))
            click.echo(f"Queued {len(events)} failed or stuck delivery(ies) for the workers")
            return
        total, errors = Report(), 0
        for event in events:
            receipt = replay_event(event)
            if receipt.outcome == "failed":
                errors += 1
                click.echo(f"{event.pk}: still failing: {receipt.error}", err=True)
            total.add(receipt.report)
        click.echo(f"Replayed {len(events)} failed or stuck delivery(ies): {summary(total, errors)}")
        if errors:
            raise SystemExit(1)

    @webhooks.command("prune")
    @click.option("--days", type=click.FloatRange(min=0, min_open=True), default=None,
                  help="Keep this many days (default WEBHOOK_KEEP_DAYS).")
    def prune(days: float | None) -> None:
        """Delete processed deliveries older than WEBHOOK_KEEP_DAYS from the raw log (failed and unfinished
        ones stay). A worker does it every hour."""
        keep = float(current_app.config.get("WEBHOOK_KEEP_DAYS", 30)) if days is None else days
        if keep <= 0:
            raise click.ClickException("WEBHOOK_KEEP_DAYS is 0: the raw log keeps every delivery (use --days)")
        click.echo(f"Deleted {prune_deliveries(keep)} processed delivery(ies) older than {keep:g} day(s)")
