"""The one write path: the only code that writes messages, statuses, reactions and conversation
summaries. Every way a message or status enters the system ends here (webhooks, their replay, the
demo, messages sent from the app), and then the event bus hears what changed.

Each write is one atomic update addressed by `_id`; applying the same events again, in any order,
converges on the same state.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..core import bus
from ..core.clock import utcnow
from ..core.db import write_lock
from ..whatsapp.events import STATUS_RANK, Business, Event, MessageEvent, ReactionEvent, StatusEvent
from ..whatsapp.parse import parse_timestamp
from .documents import Conversation, Message, PendingUpdate, WamidAlias
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
        run: list[MessageEvent] = []  # consecutive messages are stored together (in order)
        for event in events:
            if isinstance(event, MessageEvent):
                run.append(event)
                continue
            if run:
                _apply_messages(run, report)
                run = []
            match event:
                case ReactionEvent():
                    _apply_reaction(event, report)
                case StatusEvent():
                    _apply_status(event, report)
        if run:
            _apply_messages(run, report)
    return report


def _apply_messages(events: list[MessageEvent], report: Report) -> None:
    """Store messages in a few round trips whatever their number: their timeline numbers reserved per
    conversation, one insert of those not stored yet, one conversation update per conversation, one
    look for updates waiting for them. Each message keeps every guarantee of storing it alone."""
    batch: dict[str, tuple[MessageEvent, Message]] = {}
    repeated: list[MessageEvent] = []
    # Arrival times a millisecond apart (what the database keeps), so arrival orders a body's messages.
    now = utcnow()
    arrival = now.replace(microsecond=now.microsecond // 1000 * 1000)
    for event in events:
        if event.wamid in batch:
            repeated.append(event)
        else:
            batch[event.wamid] = (event, _message(event, arrival + timedelta(milliseconds=len(batch))))
    by_conversation: dict[str, list[tuple[MessageEvent, Message]]] = {}
    for event, message in batch.values():
        by_conversation.setdefault(message.conversation_id, []).append((event, message))
    latest: dict[str, dict[str, Any] | None] = {}
    for conversation_id, items in by_conversation.items():
        last, latest[conversation_id] = Conversation.reserve_seq(items[0][1], len(items))
        for number, (_, message) in enumerate(items, start=last - len(items) + 1):
            message.seq = number
    stored = Message.insert_new([message for _, message in batch.values()], latest)
    for conversation_id, items in by_conversation.items():
        new = [(event, message) for event, message in items if message.id in stored]
        if new:
            report.stored += len(new)
            names = [event.contact_name for event, _ in new if event.contact_name]
            Conversation.record_messages([message for _, message in new], names[-1] if names else None,
                                         new[0][0].business.display_number)
            for _, message in new:
                report.changes.new_messages[message.id] = conversation_id
            report.changes.conversations.add(conversation_id)
        for event, message in items:
            if message.id not in stored:
                _repair(event, report)
    for event in repeated:
        _repair(event, report)
    for wamid in PendingUpdate.waiting(list(batch)):
        _apply_pending(wamid, report)


def _repair(event: MessageEvent, report: Report) -> None:
    """A message stored already. Fold it in again, uncounted: when a delivery failed between storing the
    message and updating its conversation (or its timeline), WhatsApp's retry is a duplicate and must
    repair it."""
    report.duplicates += 1
    stored = Message.objects(pk=event.wamid).first()
    if stored is not None:
        Message.refresh(stored.id)
        Conversation.record_message(stored, event.contact_name, event.business.display_number, count=False)


def _message(event: MessageEvent, received_at: datetime) -> Message:
    return Message(
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
        received_at=received_at,
        # A message the business sent has left for WhatsApp (at least `sent`), unless this app is
        # about to send it (`pending`: the clock tick).
        status_rank=STATUS_RANK["sent"] if event.direction == "outbound" and not event.awaiting_send else 0,
        status_times={"sent": event.timestamp} if event.direction == "outbound" and not event.awaiting_send else {},
        sent_by_app=event.sent_by,
        media=event.media,
    )


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
    target = stored_id(wamid) or wamid
    for reaction in pending.reactions:
        at = parse_timestamp(reaction["timestamp"])
        changed = Message.set_reaction(target, reaction["from"], reaction["emoji"], at)
        if changed:
            report.reactions_applied += 1
            report.changes.reactions.add(target)


def stored_id(wamid: str) -> str | None:
    """The id of the stored message `wamid` names: itself, or (a message this app sent) the id it was
    stored under before Meta gave it a wamid. None when it is not stored yet."""
    found = Message.named(wamid, "id")
    return found.id if found is not None else None


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
    error = _status_error(event)
    before, moved = Message.raise_status(event.wamid, event.status, event.timestamp, error)
    if before is None and (alias := WamidAlias.message_for(event.wamid)) is not None:
        before, moved = Message.raise_status(alias, event.status, event.timestamp, error)
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
        if stored_id(event.wamid) is not None:
            _apply_pending(event.wamid, report)
        return
    if not moved:
        report.statuses_stale += 1
        return
    report.statuses_applied += 1
    report.changes.statuses.add(before.id)
    if Conversation.raise_summary_status(before.conversation_id, before.id, event.rank):
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
    target = event.target_wamid
    changed = Message.set_reaction(target, event.sender, event.emoji, event.timestamp)
    if changed is None and (alias := WamidAlias.message_for(target)) is not None:
        target = alias
        changed = Message.set_reaction(target, event.sender, event.emoji, event.timestamp)
    if changed is None:
        PendingUpdate.add(
            event.target_wamid,
            reaction={"from": event.sender, "emoji": event.emoji, "timestamp": str(int(event.timestamp.timestamp()))},
        )
        report.reactions_deferred += 1
        if stored_id(event.target_wamid) is not None:
            _apply_pending(event.target_wamid, report)
    elif changed:
        report.reactions_applied += 1
        report.changes.reactions.add(target)


# --- messages this app sends through the Cloud API -----------------------------------------------------------


def record_wamid(message_id: str, wamid: str) -> Report:
    """Meta accepted a message this app sent and named it `wamid`: remember the name, tick `sent`, and
    apply what already came for it (a status webhook can arrive before the send call returns)."""
    report = Report()
    with write_lock():
        WamidAlias.record(wamid, message_id)
        Message.set_wamid(message_id, wamid)
        _apply_status(StatusEvent(wamid=message_id, status="sent", timestamp=utcnow(), business=Business("", "")),
                      report, deferrable=False)
        _apply_pending(wamid, report)
    return report


def record_send_failure(message_id: str, error: dict[str, Any]) -> Report:
    """The send failed for good: a red tick with Meta's code and a reason a person can read."""
    failure = {"code": error.get("code"), "title": error.get("title"),
               "error_data": {"details": error.get("details")}}
    return apply_events([StatusEvent(wamid=message_id, status="failed", timestamp=utcnow(),
                                     business=Business("", ""), errors=[failure])])


def reopen_for_retry(message_id: str) -> Message | None:
    """A failed message back to `pending`, its row's tick too; None unless it is failed now."""
    with write_lock():
        before = Message.reopen_failed(message_id)
        if before is None:
            return None
        report = Report()
        report.changes.statuses.add(message_id)
        if Conversation.reset_summary_status(before.conversation_id, message_id, STATUS_RANK["pending"]):
            report.changes.conversations.add(before.conversation_id)
    publish(report)
    return Message.objects(pk=message_id).first()
