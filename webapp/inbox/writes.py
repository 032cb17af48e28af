"""The one write path: the only code that writes messages, statuses, reactions and conversation
summaries. Every way a message or status enters the system ends here (webhooks, their replay, the
demo, messages sent from the app), and then the event bus hears what changed.

Each write is one atomic update addressed by `_id`; applying the same events again, in any order,
converges on the same state, and so does applying them again after a failure anywhere in between
(every step is idempotent and runs again on a duplicate: the conversation's summary, its unread
count, a status's tick on the row, a reaction, the updates waiting for a message).

`apply_each` (the webhook's path) applies each event on its own: one that fails is recorded in the
report with its reason and the others are still applied; only the database going away stops it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..core import bus, storable
from ..core.clock import utcnow
from ..core.db import DB_UNAVAILABLE, write_lock
from ..whatsapp.events import STATUS_RANK, Business, Event, MessageEvent, ReactionEvent, StatusEvent
from ..whatsapp.parse import parse_timestamp
from .documents import CONVERSATION_STATUSES, OPEN, RESOLVED, Conversation, Message, PendingUpdate, WamidAlias
from .events import (
    ConversationChanged,
    ConversationStateChanged,
    InboxEvent,
    MessageStatusChanged,
    MessageStored,
    ReactionsChanged,
)

log = logging.getLogger(__name__)


@dataclass
class Changes:
    """What a write changed, by id, in the order subscribers need it."""

    new_messages: dict[str, str] = field(default_factory=dict)  # message id -> conversation id
    stored: dict[str, Message] = field(default_factory=dict)  # message id -> the message as stored
    statuses: set[str] = field(default_factory=set)
    reactions: set[str] = field(default_factory=set)
    conversations: set[str] = field(default_factory=set)
    states: list[ConversationStateChanged] = field(default_factory=list)

    def merge(self, other: Changes) -> None:
        for message_id, conversation_id in other.new_messages.items():
            self.new_messages.setdefault(message_id, conversation_id)
        for message_id, message in other.stored.items():
            self.stored.setdefault(message_id, message)
        self.statuses |= other.statuses
        self.reactions |= other.reactions
        self.conversations |= other.conversations
        self.states.extend(other.states)

    def events(self) -> Iterator[InboxEvent]:
        """New messages first (a new message already shows its status), then status moves,
        reactions, and the conversations' rows."""
        for message_id, conversation_id in self.new_messages.items():
            yield MessageStored(message_id, conversation_id, self.stored.get(message_id))
        for message_id in sorted(self.statuses - self.new_messages.keys()):
            yield MessageStatusChanged(message_id)
        for message_id in sorted(self.reactions):
            yield ReactionsChanged(message_id)
        for conversation_id in sorted(self.conversations):
            yield ConversationChanged(conversation_id)
        yield from self.states


class Unstorable(ValueError):
    """An event holds content the database refuses (core.storable; the webhook's parser refuses the same)."""


@dataclass
class EventFailure:
    """One event of a batch that could not be applied, and why."""

    index: int  # its place in the batch (the parser's order), so a replay applies just it
    id: str  # the message, reaction or status's wamid
    kind: str  # message | reaction | status
    error: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "id": self.id, "kind": self.kind, "error": self.error}


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
    failures: list[EventFailure] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "failures": [f.as_dict() for f in self.failures],
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
        self.failures.extend(other.failures)


def publish(report: Report) -> None:
    """Tell the event bus what a durable write changed."""
    bus.publish(*report.changes.events())


def apply_events(events: Iterable[Event]) -> Report:
    """Apply events in order; the first failure stops it and is raised (callers that retry as a whole:
    jobs, the demo). Safe to run again after any failure."""
    report = Report()
    with write_lock():  # see core.db.WRITE_LOCK: FerretDB's updates are not atomic
        for event in events:
            _apply(event, report)
    return report


def apply_each(events: list[Event], only: set[int] | None = None) -> Report:
    """Apply each event on its own (those whose index is in `only`, when given): one that fails is
    recorded in `report.failures` with its reason, and the rest are still applied. The database going
    away (DB_UNAVAILABLE) is raised: nothing more can be applied, and everything can be again later."""
    report = Report()
    with write_lock():
        for index, event in enumerate(events):
            if only is not None and index not in only:
                continue
            try:
                _apply(event, report)
            except DB_UNAVAILABLE:
                raise
            except Exception as exc:  # a bug, or content the database refuses: this event only
                log.exception("applying %s %s failed", _kind(event), event.wamid)
                report.failures.append(EventFailure(index, event.wamid, _kind(event),
                                                    safe_text(f"{type(exc).__name__}: {exc}")))
    return report


def safe_text(text: str, limit: int = 500) -> str:
    """An error's text as it can be stored: valid Unicode, not too long."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")[:limit]


def _kind(event: Event) -> str:
    return {MessageEvent: "message", ReactionEvent: "reaction", StatusEvent: "status"}[type(event)]


def check_storable(event: Event) -> None:
    """The processing-time check of what the parser already refused up front (the same function)."""
    parts: dict[str, Any] = {}
    match event:
        case MessageEvent():
            parts = {"content": event.content, "context": event.context, "errors": event.errors,
                     "media": event.media}
        case StatusEvent():
            parts = {"errors": event.errors}
    for name, value in parts.items():
        problems = storable.problems(value, name, stored=True)
        if problems:
            raise Unstorable("; ".join(f"{where} {problem}" for where, problem in problems.items()))


def _apply(event: Event, report: Report) -> None:
    check_storable(event)
    match event:
        case MessageEvent():
            _apply_message(event, report)
        case ReactionEvent():
            _apply_reaction(event, report)
        case StatusEvent():
            _apply_status(event, report)


def message_of(event: MessageEvent) -> Message:
    """The message document a MessageEvent stores."""
    sent_already = event.direction == "outbound" and not event.awaiting_send
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
        received_at=utcnow(),
        # A message the business sent has left for WhatsApp (at least `sent`), unless this app is
        # about to send it (`pending`: the clock tick).
        status_rank=STATUS_RANK["sent"] if sent_already else 0,
        status_times={"sent": event.timestamp} if sent_already else {},
        sent_by_app=event.sent_by,
        media=event.media,
    )


def _apply_message(event: MessageEvent, report: Report) -> None:
    message = message_of(event)
    if message.insert_once():
        report.stored += 1
        report.changes.new_messages[message.id] = message.conversation_id
        report.changes.stored[message.id] = message.as_stored()
        report.changes.conversations.add(message.conversation_id)
    else:
        report.duplicates += 1
        # Fold the stored message in again: when a delivery failed between storing the message and
        # updating its conversation, WhatsApp's retry (or a replay) is a duplicate and repairs it.
        message = Message.objects(pk=event.wamid).first() or message
        Message.refresh(message.id)  # its timeline snapshot too
    inbound = message.direction == "inbound"
    conversation = Conversation.record_message(message, event.contact_name, event.business.display_number,
                                               row_by_count=inbound)
    if not report.changes.new_messages.get(message.id):
        Conversation.repair_unread_index(conversation)
    if inbound:
        changed = Conversation.count_unread(message, known=conversation, put_row=True)
        _reopen_if_resolved(message.conversation_id, report, message.received_at, known=conversation)
    elif message.sent_by_app:
        # The agent is in the chat and answering: what came before is read, as on WhatsApp.
        changed = Conversation.read_up_to(message.conversation_id, message.received_at)
    else:
        changed = False
    if changed:
        report.changes.conversations.add(message.conversation_id)
    _apply_pending(event.wamid, report)


def store_history(events: list[MessageEvent]) -> Report:
    """Store many new messages of one conversation in one pass (importing history; `make bench` builds its
    datasets with it): the same documents as applying them one by one, in a handful of writes instead of
    about ten a message: their timeline numbers reserved at once, one insert, one update per timeline chunk,
    one fold into the conversation, one unread count, one row. A message already stored is applied the
    usual way (`_apply_message`, which repairs). Like `apply_events`, a failure stops it and is raised;
    running it again is safe."""
    report = Report()
    if not events:
        return report
    conversations = {event.conversation_id for event in events}
    if len(conversations) != 1 or not all(isinstance(e, MessageEvent) and e.type != "reaction" for e in events):
        raise ValueError("store_history takes the messages (no reactions) of one conversation")
    for event in events:
        check_storable(event)
    with write_lock():
        messages = [message_of(event) for event in events]
        last = events[-1]
        conversation, stored_already = Conversation.record_history(messages, last.contact_name,
                                                                    last.business.display_number)
        fresh = [m for m in messages if m.id not in stored_already]
        report.stored += len(fresh)
        for message in fresh:
            report.changes.new_messages[message.id] = message.conversation_id
            report.changes.stored[message.id] = message.as_stored()
        report.changes.conversations.add(messages[0].conversation_id)
        inbound = [m for m in fresh if m.direction == "inbound"]
        if inbound:
            Conversation.count_unread_many(inbound, known=conversation)
            _reopen_if_resolved(inbound[0].conversation_id, report, max(m.received_at for m in inbound),
                                known=conversation)
        # Statuses or reactions that came first: the pending collection holds only those still waiting.
        waiting = {p["_id"] for p in PendingUpdate._get_collection().find(
            {"_id": {"$in": [m.id for m in fresh]}}, {"_id": 1})} if fresh else set()
        for message in fresh:
            if message.id in waiting:
                _apply_pending(message.id, report)
        for event in events:
            if event.wamid in stored_already:
                _apply_message(event, report)
    return report


def _apply_pending(wamid: str, report: Report) -> None:
    """Apply what waits for `wamid`, then delete it (not before: a failure in between leaves it for the
    next delivery of the message or a replay; applying again is idempotent)."""
    for _ in range(100):
        pending = PendingUpdate.peek(wamid)
        if pending is None:
            return
        _apply_waiting(wamid, pending, report)
        if pending.done():
            return
    raise RuntimeError(f"updates for {wamid} kept arriving while they were applied")


def _apply_waiting(wamid: str, pending: PendingUpdate, report: Report) -> None:
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
    if moved:
        report.statuses_applied += 1
        report.changes.statuses.add(before.id)
    else:
        report.statuses_stale += 1
    # Also when stale: a failure after the message's tick moved and before the row's did is repaired
    # by the status delivered again (idempotent: the row's tick only moves forward).
    if Conversation.raise_summary_status(before.conversation_id, before.id, max(event.rank, before.status_rank)):
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
    if message.insert_once():
        report.stored += 1
    else:
        report.duplicates += 1  # applied again below: the first delivery may have failed before that
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


def _reopen_if_resolved(conversation_id: str, report: Report, arrived: datetime,
                        known: dict[str, Any] | None = None) -> None:
    """The customer wrote again: a resolved conversation is open again, with its assignee. Only for a
    message that arrived after it was resolved (a delivery repeated later does not reopen it; one that
    failed before this step does, when WhatsApp delivers it again)."""
    at = utcnow()
    if Conversation.reopen(conversation_id, at, arrived=arrived, known=known):
        assignee = Conversation.objects(pk=conversation_id).scalar("assignee").first()
        report.changes.states.append(ConversationStateChanged(
            conversation_id, OPEN, RESOLVED, assignee, assignee, by="customer", at=at))


# --- a conversation's status and assignee ------------------------------------------------------------------

UNCHANGED: Any = object()


def set_state(conversation_id: str, *, by: str, status: str | None = None,
              assignee: str | None = UNCHANGED) -> ConversationStateChanged | None:
    """Change a conversation's status and/or assignee (None unassigns); publishes what changed.
    Returns the change, or None when nothing changed. Raises KeyError when there is no such conversation."""
    if status is not None and status not in CONVERSATION_STATUSES:
        raise ValueError(f"status must be one of {', '.join(CONVERSATION_STATUSES)}")
    at = utcnow()
    update: dict[str, Any] = {}
    if status is not None:
        update["status"] = status
    if assignee is not UNCHANGED:
        update["assignee"] = assignee
    with write_lock():
        before = Conversation.change_state(conversation_id, update) if update else \
            Conversation._get_collection().find_one({"_id": conversation_id})
        if before is None:
            raise KeyError(conversation_id)
        previous_status = before.get("status") or OPEN
        previous_assignee = before.get("assignee")
        new_status = status or previous_status
        new_assignee = previous_assignee if assignee is UNCHANGED else assignee
        if (new_status, new_assignee) == (previous_status, previous_assignee):
            return None
        if new_status != previous_status:
            Conversation.note_status_change(conversation_id, at)
    change = ConversationStateChanged(conversation_id, new_status, previous_status, new_assignee, previous_assignee,
                                      by=by, at=at)
    bus.publish(ConversationChanged(conversation_id), change)
    return change


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
