"""Whether each conversation's counters say what its stored messages say: the unread count (inbound
messages that arrived after the conversation was last read), the summary (the latest message, by
WhatsApp's timestamp, then arrival, then id) and the summary's tick (that message's status).

A scan of every message: for `flask inbox audit` and the fault suite (`make faults`), not for requests."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from ..core.clock import as_utc
from .documents import Conversation
from .indexes import UnreadIndex


@dataclass
class Drift:
    conversation_id: str
    field: str  # unread_count | unread_index | last_message | status_rank
    stored: Any
    expected: Any

    def __str__(self) -> str:
        return f"{self.conversation_id}: {self.field} is {self.stored!r}, the messages say {self.expected!r}"


def audit() -> list[Drift]:
    """Every counter that differs from what the stored messages say."""
    messages = Conversation._get_collection().database["messages"]
    by_conversation: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for m in messages.find({}, {"conversation_id": 1, "direction": 1, "received_at": 1, "timestamp": 1,
                                "type": 1, "status_rank": 1}):
        by_conversation[m["conversation_id"]].append(m)
    drift: list[Drift] = []
    indexed = {cid: n for cid, n, _ in UnreadIndex.entries()} if UnreadIndex.built() else None
    for conversation in Conversation._get_collection().find({}):
        cid = conversation["_id"]
        found = by_conversation.pop(cid, [])
        read_at = as_utc(conversation.get("read_at"))
        unread = sum(1 for m in found if m["direction"] == "inbound" and m["type"] != "reaction"
                     and (read_at is None or as_utc(m["received_at"]) > read_at))
        unread += int(conversation.get("unread_legacy") or 0)
        if (conversation.get("unread_count") or 0) != unread:
            drift.append(Drift(cid, "unread_count", conversation.get("unread_count"), unread))
        elif indexed is not None and indexed.get(cid, 0) != unread:
            drift.append(Drift(cid, "unread_index", indexed.get(cid, 0), unread))
        bubbles = [m for m in found if m["type"] != "reaction"]
        if not bubbles:
            continue
        latest = max(bubbles, key=lambda m: (as_utc(m["timestamp"]), as_utc(m["received_at"]), m["_id"]))
        summary = conversation.get("last_message") or {}
        if summary.get("id") != latest["_id"]:
            drift.append(Drift(cid, "last_message", summary.get("id"), latest["_id"]))
        elif (summary.get("status_rank") or 0) != (latest.get("status_rank") or 0):
            drift.append(Drift(cid, "status_rank", summary.get("status_rank"), latest.get("status_rank")))
    for cid, found in by_conversation.items():
        drift.append(Drift(cid, "conversation", None, f"{len(found)} message(s)"))
    return drift
