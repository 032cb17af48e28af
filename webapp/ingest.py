"""The one write path. Every way a message or status enters the system ends here:
`/webhook`, the replay CLI, the demo seeder, simulated delivery and messages sent from the app.

receive_webhook: store the raw body → parse (pure) → apply each event → record the outcome → notify.
apply_events:    the only code that writes messages, statuses, reactions and conversation summaries.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from pymongo.errors import PyMongoError

from .errors import DB_UNAVAILABLE
from .models import WRITE_LOCK, Conversation, Message, PendingUpdate, WebhookEvent, utcnow
from .notify import Changes, notify
from .whatsapp.events import STATUS_RANK, Business, Event, MessageEvent, ReactionEvent, StatusEvent
from .whatsapp.parse import decode_json, parse_timestamp, parse_webhook
from .whatsapp.signature import SignatureVerdict

log = logging.getLogger(__name__)


@dataclass
class Report:
    """What applying a batch did; also the webhook's response data and the replay summary."""

    stored: int = 0
    duplicates: int = 0
    statuses_applied: int = 0
    statuses_stale: int = 0
    statuses_deferred: int = 0
    reactions_applied: int = 0
    reactions_deferred: int = 0
    ignored: list[str] = field(default_factory=list)
    changes: Changes = field(default_factory=Changes)

    def as_dict(self) -> dict[str, Any]:
        return {
            "stored": self.stored,
            "duplicates": self.duplicates,
            "statusesApplied": self.statuses_applied,
            "statusesStale": self.statuses_stale,
            "statusesDeferred": self.statuses_deferred,
            "reactionsApplied": self.reactions_applied,
            "reactionsDeferred": self.reactions_deferred,
            "ignored": self.ignored,
        }

    def add(self, other: Report) -> None:
        for name in ("stored", "duplicates", "statuses_applied", "statuses_stale", "statuses_deferred",
                     "reactions_applied", "reactions_deferred"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.ignored.extend(other.ignored)
        self.changes.merge(other.changes)


@dataclass
class Receipt:
    """The answer to one webhook delivery: stored, and processed or not."""

    event_id: str
    outcome: str
    report: Report
    error: str | None = None


def default_business() -> Business:
    return Business(
        phone_number_id=current_app.config["PHONE_NUMBER_ID"],
        display_number=current_app.config["BUSINESS_DISPLAY_NUMBER"],
    )


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
    notify(report.changes)
    return Receipt(str(event.pk), "processed", report)


def _record_failure(event: WebhookEvent, error: str) -> None:
    try:
        event.record_outcome("failed", error=error)
    except PyMongoError:
        log.exception("could not record the failure of webhook event %s", event.pk)


def apply_events(events: Iterable[Event]) -> Report:
    report = Report()
    with WRITE_LOCK:  # see models.WRITE_LOCK: FerretDB's updates are not atomic
        for event in events:
            match event:
                case MessageEvent():
                    _apply_message(event, report)
                case ReactionEvent():
                    _apply_reaction(event, report)
                case StatusEvent():
                    _apply_status(event, report)
    return report


def _apply_message(event: MessageEvent, report: Report) -> None:
    message = Message(
        id=event.wamid,
        conversation_id=event.conversation_id,
        phone_number_id=event.business.phone_number_id,
        wa_id=event.contact_wa_id,
        direction=event.direction,
        sender=event.sender,
        recipient=event.recipient,
        type=event.type,
        content=event.content,
        context=event.context,
        errors=event.errors,
        timestamp=event.timestamp,
        received_at=utcnow(),
        # A message the business sent has left for WhatsApp: it is at least `sent`.
        status_rank=STATUS_RANK["sent"] if event.direction == "outbound" else 0,
        status_times={"sent": event.timestamp} if event.direction == "outbound" else {},
        sent_by_app=event.sent_by,
    )
    if message.insert_once():
        report.stored += 1
        Conversation.record_message(message, event.contact_name, event.business.display_number)
        report.changes.new_messages.append(message.id)
        report.changes.conversations.add(message.conversation_id)
    else:
        report.duplicates += 1
        # Fold the stored message in again, uncounted: when a delivery failed between storing the
        # message and updating its conversation, WhatsApp's retry is a duplicate and must repair it.
        stored = Message.objects(pk=event.wamid).first()
        if stored is not None:
            Conversation.record_message(stored, event.contact_name, event.business.display_number, count=False)
    _apply_pending(event.wamid, report)


def _apply_pending(wamid: str, report: Report) -> None:
    pending = PendingUpdate.take(wamid)
    if pending is None:
        return
    for status in pending.statuses:
        _apply_status(
            StatusEvent(
                wamid=wamid,
                status=status["status"],
                timestamp=parse_timestamp(status["timestamp"]),
                business=Business(status.get("phone_number_id", ""), ""),
                errors=status.get("errors") or [],
            ),
            report,
            deferrable=False,
        )
    for reaction in pending.reactions:
        at = parse_timestamp(reaction["timestamp"])
        changed = Message.set_reaction(wamid, reaction["from"], reaction["emoji"], at)
        if changed:
            report.reactions_applied += 1
            report.changes.reactions.add(wamid)


def _status_error(event: StatusEvent) -> dict[str, Any] | None:
    if event.status != "failed":
        return None
    first = event.errors[0] if event.errors else {}
    details = first.get("error_data", {}).get("details") if isinstance(first.get("error_data"), dict) else None
    code = first.get("code")
    return {  # typed: WhatsApp's error object is raw JSON, this is what the API shows
        "code": code if isinstance(code, int | str) and not isinstance(code, bool) else None,
        "title": _text(first.get("title")) or "Message failed to send",
        "details": _text(details) or _text(first.get("message")),
    }


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _apply_status(event: StatusEvent, report: Report, *, deferrable: bool = True) -> None:
    before, moved = Message.raise_status(event.wamid, event.status, event.timestamp, _status_error(event))
    if before is None:
        if not deferrable:
            return
        # The message is not stored yet: keep the status until it arrives. Then look again, in case
        # the message was stored between our update and our push (its arrival takes what waits).
        PendingUpdate.add(
            event.wamid,
            status={
                "status": event.status,
                "timestamp": str(int(event.timestamp.timestamp())),
                "phone_number_id": event.business.phone_number_id,
                "errors": event.errors,
            },
        )
        report.statuses_deferred += 1
        if Message.objects(pk=event.wamid).only("id").first() is not None:
            _apply_pending(event.wamid, report)
        return
    if not moved:
        report.statuses_stale += 1
        return
    report.statuses_applied += 1
    report.changes.statuses.add(event.wamid)
    if Conversation.raise_summary_status(before.conversation_id, event.wamid, event.rank):
        report.changes.conversations.add(before.conversation_id)


def _apply_reaction(event: ReactionEvent, report: Report) -> None:
    message = Message(
        id=event.wamid,
        conversation_id=event.conversation_id,
        phone_number_id=event.business.phone_number_id,
        wa_id=event.contact_wa_id,
        direction=event.direction,
        sender=event.sender,
        recipient=event.business.display_number if event.direction == "inbound" else event.contact_wa_id,
        type="reaction",
        content={"message_id": event.target_wamid, "emoji": event.emoji},
        timestamp=event.timestamp,
        received_at=utcnow(),
    )
    if not message.insert_once():
        report.duplicates += 1
        return
    report.stored += 1
    changed = Message.set_reaction(event.target_wamid, event.sender, event.emoji, event.timestamp)
    if changed is None:
        PendingUpdate.add(
            event.target_wamid,
            reaction={"from": event.sender, "emoji": event.emoji, "timestamp": str(int(event.timestamp.timestamp()))},
        )
        report.reactions_deferred += 1
        if Message.objects(pk=event.target_wamid).only("id").first() is not None:
            _apply_pending(event.target_wamid, report)
    elif changed:
        report.reactions_applied += 1
        report.changes.reactions.add(event.target_wamid)
