"""The one write path: the only code that writes messages, statuses, reactions and conversation
summaries. Every way a message or status enters the system ends here (webhooks, their replay, the
demo, messages sent from the app), and then the event bus hears what changed.

Each write is one atomic update addressed by `_id`; applying the same events again, in any order,
converges on the same state.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..core import bus
from ..core.clock import utcnow
from ..core.db import write_lock
from ..whatsapp.events import STATUS_RANK, Business, Event, MessageEvent, ReactionEvent, StatusEvent
from ..whatsapp.parse import parse_timestamp
from .documents import Conversation, Message, PendingUpdate
from .events import ConversationChanged, InboxEvent, MessageStatusChanged, MessageStored, ReactionsChanged


@dataclass
class Changes:
    """What a write changed, by id, in the order subscribers need it."""

    new_messages: dict[str, str] = field(default_factory=dict)  # message id -> conversation id
    statuses: set[str] = field(default_factory=set)
    reactions: set[str] = field(default_factory=set)
    conversations: set[str] = field(default_factory=set)

    def merge(self, other: Changes) -> None:
        for message_id, conversation_id in other.new_messages.items():
            self.new_messages.setdefault(message_id, conversation_id)
        self.statuses |= other.statuses
        self.reactions |= other.reactions
        self.conversations |= other.conversations

    def events(self) -> Iterator[InboxEvent]:
        """New messages first (a new message already shows its status), then status moves,
        reactions, and the conversations' rows."""
        for message_id, conversation_id in self.new_messages.items():
            yield MessageStored(message_id, conversation_id)
        for message_id in sorted(self.statuses - self.new_messages.keys()):
            yield MessageStatusChanged(message_id)
        for message_id in sorted(self.reactions):
            yield ReactionsChanged(message_id)
        for conversation_id in sorted(self.conversations):
            yield ConversationChanged(conversation_id)


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


def publish(report: Report) -> None:
    """Tell the event bus what a durable write changed."""
    bus.publish(*report.changes.events())


def apply_events(events: Iterable[Event]) -> Report:
    report = Report()
    with write_lock():  # see core.db.WRITE_LOCK: FerretDB's updates are not atomic
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
        report.changes.new_messages[message.id] = message.conversation_id
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
