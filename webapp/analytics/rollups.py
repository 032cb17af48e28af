"""Folding what the inbox writes into the rollups (webapp.analytics.documents), once per event.

Subscribers on the inbox's events (registered in create_app) call these right after the write:
a few `_id`-addressed updates per message. Each event is folded in once: its mark is recorded
first, and a repeat (a replayed webhook, an event published twice) finds the mark and does nothing.
Days and hours are UTC (there is no time-zone setting yet).

What is counted:
- every stored message: `in` (from the customer) or `out` (sent: by an agent, an API token, the AI,
  or from outside this app), its hour (received messages on the business's day; sent ones on the
  sender's day);
- a conversation's first message ever, whoever wrote it: a new conversation;
- a cycle opens with the customer's first unanswered message and closes when the conversation is
  resolved; its first reply by a person is a first-response time, its first reply by the AI an
  AI first-response time (counted separately), on the day of the reply; the first reply of any
  kind makes the cycle `answered` (and `ai_answered` when it was the AI's);
- a conversation resolved: `resolved` and the resolution time (from the cycle's start), on the
  business's day and on the day of whoever resolved it (else its assignee);
- a handoff (the AI gives the conversation to a person: pending → open by "ai").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..core.clock import as_utc, iso
from ..core.db import write_lock
from ..inbox.documents import Message
from .documents import Cycle, DayRollup, Mark

log = logging.getLogger(__name__)

AI = "ai"


def _stored_precision(at: datetime) -> datetime:
    """Milliseconds, as the database keeps times: a replayed change then counts exactly as it did live."""
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def day_of(at: datetime) -> str:
    return as_utc(at).date().isoformat()  # type: ignore[union-attr]


def hour_key(at: datetime) -> str:
    return f"hours.h{as_utc(at).hour:02d}"  # type: ignore[union-attr]


@dataclass(frozen=True)
class StateChange:
    """A conversation's status or assignee changed (the inbox's ConversationStateChanged)."""

    conversation_id: str
    status: str
    previous_status: str | None
    assignee: str | None
    by: str | None
    at: datetime

    @property
    def mark_id(self) -> str:
        return f"s:{self.conversation_id}:{iso(self.at)}:{self.previous_status}>{self.status}"

    @property
    def resolves(self) -> bool:
        return self.status == "resolved" and self.previous_status != "resolved"

    @property
    def hands_off(self) -> bool:
        """The AI gives the conversation to a person."""
        return self.previous_status == "pending" and self.status == "open" and self.by == AI

    def as_dict(self) -> dict[str, Any]:
        return {"conversation_id": self.conversation_id, "status": self.status,
                "previous_status": self.previous_status, "assignee": self.assignee, "by": self.by}


# --- messages -----------------------------------------------------------------------------------


def fold_message(message: Message) -> bool:
    """Count a stored message once; False when it was counted already (or is not a bubble)."""
    if message.type == "reaction":
        return False
    at = as_utc(message.timestamp)
    with write_lock():
        if not Mark.first_time(f"m:{message.id}", "message", at):
            return False
        day = day_of(at)
        if message.direction == "inbound":
            _customer_wrote(message, day, at)
        else:
            _business_wrote(message, day, at)
    return True


def _customer_wrote(message: Message, day: str, at: datetime) -> None:
    new = Cycle.customer_wrote(message.conversation_id, at)
    DayRollup.add(day, None, {"in": 1, hour_key(at): 1, **({"new": 1} if new else {})})


def _business_wrote(message: Message, day: str, at: datetime) -> None:
    agent = message.sent_by_app or None  # None: sent from outside this app (WhatsApp on the phone)
    by_ai = agent == AI
    new = Cycle.first_seen(message.conversation_id)  # the business wrote first (a template)
    DayRollup.add(day, None, {"out": 1, **({"out_ai": 1} if by_ai else {}), **({"new": 1} if new else {})},
                  active=agent)
    if agent:
        DayRollup.add(day, agent, {"out": 1, hour_key(at): 1, **({"out_ai": 1} if by_ai else {})})
    before = Cycle.answer(message.conversation_id, by_ai)
    if before is None or before.get("start") is None:
        return
    seconds = (at - before["start"]).total_seconds()
    if seconds < 0:  # the reply is older than the customer's message (delivered out of order)
        return
    name = "ai_frt" if by_ai else "frt"
    DayRollup.add_duration(day, None, name, seconds)
    if agent:
        DayRollup.add_duration(day, agent, name, seconds)
    if not before.get("answered"):
        counters = {"answered": 1, **({"ai_answered": 1} if by_ai else {})}
        DayRollup.add(day, None, counters)
        if agent:
            DayRollup.add(day, agent, counters)


# --- conversation state changes -------------------------------------------------------------------


def fold_state_change(change: StateChange, *, replay: bool = False) -> bool:
    """Count a resolution or a handoff once; False when it was counted already (unless `replay`:
    the rebuild replays the recorded changes). Other changes (an assignment, a reopening) count nothing."""
    if not (change.resolves or change.hands_off):
        return False
    at = _stored_precision(as_utc(change.at))  # type: ignore[arg-type]
    with write_lock():
        if not replay and not Mark.first_time(change.mark_id, "state", at, change.as_dict()):
            return False
        day = day_of(at)
        who = change.by if change.by and change.by != "system" else change.assignee
        if change.resolves:
            started = Cycle.close(change.conversation_id)
            DayRollup.add(day, None, {"resolved": 1}, active=who)
            if who:
                DayRollup.add(day, who, {"resolved": 1})
            if started is not None and at >= started:
                seconds = (at - started).total_seconds()
                DayRollup.add_duration(day, None, "res", seconds)
                if who:
                    DayRollup.add_duration(day, who, "res", seconds)
        else:
            DayRollup.add(day, None, {"handoffs": 1})
            DayRollup.add(day, AI, {"handoffs": 1})
    return True


# --- the rebuild (an admin command: it scans) -------------------------------------------------------


@dataclass
class Rebuilt:
    messages: int = 0
    changes: int = 0

    def summary(self) -> str:
        return f"Rebuilt the analytics from {self.messages} message(s) and {self.changes} state change(s)."


def rebuild() -> Rebuilt:
    """Recompute every rollup from the stored messages and the recorded state changes, in the order they
    happened here (a message by when it was stored, `received_at`: the clock the state changes use; its
    durations still count from WhatsApp's timestamps)."""
    marks = Mark._get_collection()
    changes = [_change_of(doc) for doc in marks.find({"kind": "state"})]
    with write_lock():
        DayRollup._get_collection().delete_many({})
        Cycle._get_collection().delete_many({})
        marks.delete_many({"kind": "message"})
    timeline: list[tuple[datetime, int, Any]] = []
    for message in Message.objects(type__ne="reaction").order_by("received_at", "timestamp"):
        timeline.append((as_utc(message.received_at), 0, message))  # type: ignore[arg-type]
    for change in changes:
        if change is not None:
            timeline.append((as_utc(change.at), 1, change))  # type: ignore[arg-type]
    timeline.sort(key=lambda item: (item[0], item[1]))
    done = Rebuilt()
    for _, kind, item in timeline:
        if kind == 0:
            done.messages += fold_message(item)
        else:
            done.changes += fold_state_change(item, replay=True)
    return done


def _change_of(doc: dict[str, Any]) -> StateChange | None:
    change = doc.get("change") or {}
    try:
        return StateChange(conversation_id=change["conversation_id"], status=change["status"],
                           previous_status=change.get("previous_status"), assignee=change.get("assignee"),
                           by=change.get("by"), at=as_utc(doc["at"]))  # type: ignore[arg-type]
    except KeyError:
        log.warning("analytics: skipping a malformed state-change mark %s", doc.get("_id"))
        return None
