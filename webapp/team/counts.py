"""The conversation list's filter counts, kept as counters instead of counted per request.

Every change to a conversation (a message, its unread count, its status or assignee) publishes
ConversationChanged; `recount` then reads that conversation (one `_id` lookup), swaps the set of
filters it was last counted under (CountedState, one `_id` update) and `$inc`s the counters of the
filters it left and joined. Reading the counts is one query over a collection with a document per
filter and per assignee (a handful), whatever the number of conversations."""

from __future__ import annotations

from typing import Any

from ..core import bus
from ..core.db import write_lock, writes_serialized
from ..inbox.documents import Conversation, filters_matched
from ..inbox.events import ConversationChanged, ConversationStateChanged
from .documents import ConversationCount, CountedState
from .events import CountsChanged

READY = "_ready"  # a counter document saying the counters were built (an older database gets them once)
SHARED = ("all", "unassigned", "unread", "resolved")


def _state_filters(doc: dict[str, Any] | None) -> set[str]:
    if doc is None or doc.get("last_message_at") is None:  # the list does not show it
        return set()
    return filters_matched(doc.get("status"), doc.get("assignee"), int(doc.get("unread_count") or 0))


def _inc(deltas: dict[str, int]) -> None:
    collection = ConversationCount._get_collection()
    for key, delta in sorted(deltas.items()):
        if delta:
            collection.update_one({"_id": key}, {"$inc": {"n": delta}}, upsert=True)


def recount(conversation_id: str) -> bool:
    """Bring the counters up to date with one conversation; True when a count changed."""
    built = ensure_built()
    with write_lock():
        doc = Conversation._get_collection().find_one({"_id": conversation_id})
        now = _state_filters(doc)
        states = CountedState._get_collection()
        if writes_serialized():  # FerretDB, under the write lock: most changes move no filter, so read first
            before = states.find_one({"_id": conversation_id})
            if before is not None and set(before.get("filters") or []) == now:
                return built
            states.update_one({"_id": conversation_id}, {"$set": {"filters": sorted(now)}}, upsert=True)
        else:
            before = states.find_one_and_update({"_id": conversation_id}, {"$set": {"filters": sorted(now)}},
                                                upsert=True)
        was = set((before or {}).get("filters") or [])
        if now == was:
            return built
        _inc({**{key: -1 for key in was - now}, **{key: 1 for key in now - was}})
    return True


def rebuild() -> dict[str, int]:
    """Count every conversation again (once for a database that predates the counters; `flask team
    recount` after a manual edit): one pass over the conversations."""
    totals: dict[str, int] = {}
    with write_lock():
        ConversationCount._get_collection().delete_many({})
        CountedState._get_collection().delete_many({})
        states = []
        fields = {"status": 1, "assignee": 1, "unread_count": 1, "last_message_at": 1}
        for doc in Conversation._get_collection().find({}, fields):
            found = _state_filters(doc)
            states.append({"_id": doc["_id"], "filters": sorted(found)})
            for key in found:
                totals[key] = totals.get(key, 0) + 1
        if states:
            CountedState._get_collection().insert_many(states)
        _inc(totals)
        ConversationCount._get_collection().update_one({"_id": READY}, {"$set": {"n": 1}}, upsert=True)
    return totals


_seen_built: set[tuple[int, str]] = set()  # (client, database) whose counters this process saw built: they stay so


def ensure_built() -> bool:
    """Build the counters when they are missing; True when it did."""
    collection = ConversationCount._get_collection()
    database = (id(collection.database.client), collection.database.name)
    if database in _seen_built:
        return False
    if collection.find_one({"_id": READY}) is not None:
        _seen_built.add(database)
        return False
    rebuild()
    _seen_built.add(database)
    return True


def all_counts() -> dict[str, int]:
    """Every counter: the shared filters and "mine:<email>" per assignee."""
    ensure_built()
    found = {doc["_id"]: int(doc.get("n") or 0) for doc in ConversationCount._get_collection().find({})}
    found.pop(READY, None)
    return found


def for_agent(email: str | None, counts: dict[str, int] | None = None) -> dict[str, int]:
    """The five filters' counts as one agent sees them."""
    counts = all_counts() if counts is None else counts
    shown = {key: max(counts.get(key, 0), 0) for key in SHARED}
    shown["mine"] = max(counts.get(f"mine:{email}", 0), 0) if email else 0
    return shown


def by_assignee(counts: dict[str, int]) -> dict[str, int]:
    return {key.removeprefix("mine:"): n for key, n in counts.items() if key.startswith("mine:")}


def _on_change(event: ConversationChanged | ConversationStateChanged) -> None:
    if recount(event.conversation_id):
        bus.publish(CountsChanged())


def subscribe(events: bus.EventBus) -> None:
    events.subscribe(ConversationChanged, _on_change)
    events.subscribe(ConversationStateChanged, _on_change)
