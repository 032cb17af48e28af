"""Accepting a webhook delivery: store the raw body → parse (pure) → apply each event through the
inbox's one write path → record the outcome → publish what changed. Replay runs a stored body again.

Acknowledged means recoverable: the 200 is sent only once the body is stored, and then every event
of it is applied, or recorded for a replay. An event that fails does not stop the others; it is
recorded (`failures`: which, and why) and the delivery is `failed` until a replay applies it. When
the database goes away mid-way the delivery stays `received` (the answer is 503, WhatsApp delivers it
again) and the worker's sweep applies it after WEBHOOK_STUCK_AFTER; so does a process that died.

With WEBHOOK_APPLY=queued the 200 comes as soon as the raw body is stored (`queued`), and a job applies it
(webhooks.tasks.process_delivery); when the job cannot be queued it is applied here instead, and a
delivery whose job was lost is still `received`, so the sweep applies it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from pymongo.errors import PyMongoError

from ..core.db import DB_UNAVAILABLE
from ..inbox.business import default_business
from ..inbox.writes import Report, apply_each, publish, store_history
from ..whatsapp.events import Event, MessageEvent
from ..whatsapp.parse import decode_json, parse_webhook
from ..whatsapp.signature import SignatureVerdict
from . import backlog
from .documents import WebhookEvent

log = logging.getLogger(__name__)


@dataclass
class Receipt:
    """The answer to one webhook delivery: stored, and processed or not."""

    event_id: str
    outcome: str
    report: Report
    error: str | None = None


def receive_webhook(raw: bytes, *, signature: SignatureVerdict, source: str = "webhook",
                    queue: Callable[[str, datetime], object] | None = None) -> Receipt:
    """Accept one delivery. Raises WebhookFormatError (nothing stored) for a body we do not accept,
    and PyMongoError when the database fails before the body is stored (the caller answers 503).
    With `queue`, the stored delivery's id and arrival are handed to it, and the events are applied later
    (`queued`); it also puts the delivery in the unfinished set (webhooks.backlog)."""
    batch = parse_webhook(decode_json(raw), default_business())
    stored = WebhookEvent.store(raw, source=source, signature=signature.value)
    event_id, received_at = str(stored["_id"]), stored["received_at"]
    if queue is not None:
        try:
            queue(event_id, received_at)
        except Exception:  # Redis away: apply it now rather than leave it to the sweep
            log.warning("could not queue webhook event %s; applying it now", event_id, exc_info=True)
        else:
            report = Report()
            report.ignored = batch.ignored
            return Receipt(event_id, "queued", report)
    backlog.note(event_id, received_at)
    return _process(WebhookEvent.from_stored(stored), batch.events, batch.ignored)


def replay_event(event: WebhookEvent) -> Receipt:
    """Process a stored delivery again: all of it when it was left `received`, only the events that
    failed when it is `failed`. Safe because applying is idempotent."""
    batch = parse_webhook(decode_json(event.raw_body), default_business())
    only = None
    if event.outcome == "failed" and event.failures:
        only = {int(f["index"]) for f in event.failures if isinstance(f.get("index"), int)}
    return _process(event, batch.events, batch.ignored, only)


def apply_together(deliveries: list[WebhookEvent]) -> list[WebhookEvent]:
    """Apply queued deliveries at once (webhooks.tasks.apply_queued): those that bring only new messages
    from customers, and whose every message has others of its conversation among them, are stored a
    conversation at a time (inbox.writes.store_history: a handful of writes for the messages of a
    conversation, instead of about ten a message; what changed is published after each), and recorded
    `processed`. Returns the other deliveries, in order, to apply one by one (`replay_event`): also those of a
    conversation whose messages could not be stored together (what was stored is a duplicate then, which
    applying repairs and counts once). DB_UNAVAILABLE is raised: every delivery here can be applied again."""
    batches = {delivery.pk: parse_webhook(decode_json(delivery.raw_body), default_business())
               for delivery in deliveries if delivery.outcome == "received"}
    fresh = {pk: [e for e in batch.events if isinstance(e, MessageEvent) and e.direction == "inbound"]
             for pk, batch in batches.items()}
    candidates = [d for d in deliveries if d.pk in batches and fresh[d.pk]
                  and len(fresh[d.pk]) == len(batches[d.pk].events)]
    per_conversation: dict[str, int] = {}
    for delivery in candidates:
        for message in fresh[delivery.pk]:
            per_conversation[message.conversation_id] = per_conversation.get(message.conversation_id, 0) + 1
    together = [d for d in candidates if all(per_conversation[m.conversation_id] > 1 for m in fresh[d.pk])]
    conversations: dict[str, list[tuple[WebhookEvent, MessageEvent]]] = {}
    for delivery in together:
        for message in fresh[delivery.pk]:
            conversations.setdefault(message.conversation_id, []).append((delivery, message))
    published, not_stored = Report(), set()
    for conversation_id, items in conversations.items():
        unique = list({message.wamid: message for _, message in items}.values())  # once each: WhatsApp repeats
        try:
            report = store_history(unique)
        except DB_UNAVAILABLE:
            raise
        except Exception:
            log.exception("queued messages of %s could not be stored together; applying them one by one",
                          conversation_id)
            not_stored |= {delivery.pk for delivery, _ in items}
        else:
            publish(report)  # at once, as applying one delivery does: a failure after it stores nothing twice
            published.add(report)
    applied = [d for d in together if d.pk not in not_stored]
    counted: set[str] = set()
    for delivery in applied:
        report = Report()
        for message in fresh[delivery.pk]:
            if message.wamid in published.changes.new_messages and message.wamid not in counted:
                report.stored += 1
                counted.add(message.wamid)
            else:
                report.duplicates += 1
        report.ignored = batches[delivery.pk].ignored
        delivery.record_outcome("processed", result=report.as_dict())
        backlog.done(str(delivery.pk))
    taken = {d.pk for d in applied}
    return [d for d in deliveries if d.pk not in taken]


def _process(event: WebhookEvent, events: list[Event], ignored: list[str], only: set[int] | None = None) -> Receipt:
    try:
        report = apply_each(events, only)
    except DB_UNAVAILABLE:  # the database went away: answer 503; WhatsApp or the sweep delivers it again
        _record_stuck(event, "database unavailable while processing; the worker's sweep applies it again")
        raise
    report.ignored = ignored
    if report.failures:
        error = "; ".join(f"{f.kind} {f.id}: {f.error}" for f in report.failures)
        log.error("webhook event %s: %d event(s) not applied: %s", event.pk, len(report.failures), error)
        event.record_outcome("failed", result=report.as_dict(), error=error,
                             failures=[f.as_dict() for f in report.failures])
        publish(report)
        return Receipt(str(event.pk), "failed", report, error=error)
    event.record_outcome("processed", result=report.as_dict())
    backlog.done(str(event.pk))
    publish(report)
    return Receipt(str(event.pk), "processed", report)


def _record_stuck(event: WebhookEvent, error: str) -> None:
    """Count the try and keep it `received` (the database is probably away: then it just stays so)."""
    try:
        event.record_outcome("received", error=error, failures=event.failures)
    except PyMongoError:
        log.warning("could not record the interrupted processing of webhook event %s", event.pk)
