"""Accepting a webhook delivery: store the raw body → parse (pure) → apply through the inbox's one
write path → record the outcome → publish what changed. Replay runs a stored body again."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pymongo.errors import PyMongoError

from ..core.db import DB_UNAVAILABLE
from ..inbox.business import default_business
from ..inbox.writes import Report, apply_events, publish
from ..whatsapp.events import Event
from ..whatsapp.parse import decode_json, parse_webhook
from ..whatsapp.signature import SignatureVerdict
from .documents import WebhookEvent

log = logging.getLogger(__name__)


@dataclass
class Receipt:
    """The answer to one webhook delivery: stored, and processed or not."""

    event_id: str
    outcome: str
    report: Report
    error: str | None = None


def receive_webhook(raw: bytes, *, signature: SignatureVerdict, source: str = "webhook") -> Receipt:
    """Accept one delivery. Raises WebhookFormatError (nothing stored) for a body we do not accept,
    and PyMongoError when the database fails before the body is stored (the caller answers 503)."""
    batch = parse_webhook(decode_json(raw), default_business())
    event = WebhookEvent(raw_body=raw, source=source, signature=signature.value)
    event.save(write_concern={"w": 1, "j": True})
    return _process(event, batch.events, batch.ignored)


def replay_event(event: WebhookEvent) -> Receipt:
    """Process a stored delivery again (after a failure); safe because applying is idempotent."""
    batch = parse_webhook(decode_json(event.raw_body), default_business())
    return _process(event, batch.events, batch.ignored)


def _process(event: WebhookEvent, events: list[Event], ignored: list[str]) -> Receipt:
    try:
        report = apply_events(events)
    except DB_UNAVAILABLE:  # the database went away: answer 503, and WhatsApp delivers it again
        _record_failure(event, "database error while processing; retry or replay")
        raise
    except Exception as exc:  # a bug, or data the database refuses: the delivery is stored and can be replayed
        log.exception("processing webhook event %s failed", event.pk)
        _record_failure(event, f"{type(exc).__name__}: {exc}")
        return Receipt(str(event.pk), "failed", Report(ignored=ignored), error=str(exc))
    report.ignored = ignored
    event.record_outcome("processed", result=report.as_dict())
    publish(report)
    return Receipt(str(event.pk), "processed", report)


def _record_failure(event: WebhookEvent, error: str) -> None:
    try:
        event.record_outcome("failed", error=error)
    except PyMongoError:
        log.exception("could not record the failure of webhook event %s", event.pk)
