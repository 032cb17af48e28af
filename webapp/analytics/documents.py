"""The analytics rollups: small documents addressed by `_id`, kept up to date as messages are written
(webapp.analytics.rollups), so a dashboard for a period reads one document per day (and per agent),
never the messages.

- `analytics_days`: one per UTC day for the whole business (`_id` "2026-11-22") and one per agent
  and day (`_id` "2026-11-22:agent@example.com", "…:ai", "…:token:<name>"): counters, the hour of day
  of each message, and the durations (seconds) behind the percentiles, at most DURATIONS_KEPT per
  list and day (the count goes on; the percentiles then come from the first ones kept).
- `analytics_cycles`: one per conversation: when the customer's current wait began and who has
  answered it, so a first response is counted once per cycle (opened by the customer's message,
  closed when the conversation is resolved).
- `analytics_marks`: one per message and per conversation state change already folded in, so an
  event delivered twice is counted once; a state change's mark keeps the change (the rebuild
  replays them: the messages do not record them).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from mongoengine import DateTimeField, DictField, Document, StringField
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from ..core.clock import as_utc
from ..core.db import writes_serialized

DURATIONS_KEPT = 2000
LOOKUPS_AT_MOST = 40  # `_id` lookups in one read; more ids are read with one `$in`
DURATION_LISTS = ("frt", "ai_frt", "res")  # human first responses, the AI's, resolutions


def day_id(day: str, agent: str | None = None) -> str:
    return f"{day}:{agent}" if agent else day


class DayRollup(Document):
    """Counters for one day: `in`, `out`, `out_ai`, `new` (conversations), `answered` (cycles that got
    their first reply), `ai_answered` (… from the AI), `handoffs`, `resolved`; `hours.hNN` (messages
    by hour: received for the business, sent for an agent); duration lists with their counts
    (`frt`/`frt_n`, `ai_frt`/`ai_frt_n`, `res`/`res_n`); `agents`: who was active (business only)."""

    id = StringField(primary_key=True)
    meta = {"collection": "analytics_days", "strict": False}

    @classmethod
    def add(cls, day: str, agent: str | None, counters: dict[str, int], *, active: str | None = None) -> None:
        update: dict[str, Any] = {"$setOnInsert": {"day": day, "agent": agent or ""}}
        if counters:
            update["$inc"] = counters
        if active:
            update["$addToSet"] = {"agents": active}
        cls._get_collection().update_one({"_id": day_id(day, agent)}, update, upsert=True)

    @classmethod
    def add_duration(cls, day: str, agent: str | None, name: str, seconds: float) -> None:
        """Count one duration and keep it while the day's list is short (FerretDB ignores `$slice`)."""
        after = cls._get_collection().find_one_and_update(
            {"_id": day_id(day, agent)},
            {"$inc": {f"{name}_n": 1}, "$setOnInsert": {"day": day, "agent": agent or ""}},
            upsert=True, return_document=ReturnDocument.AFTER)
        if int(after.get(f"{name}_n") or 0) <= DURATIONS_KEPT:
            cls._get_collection().update_one({"_id": day_id(day, agent)}, {"$push": {name: round(seconds, 3)}})

    @classmethod
    def read(cls, ids: list[str]) -> list[dict[str, Any]]:
        """The documents with these ids: one `_id` lookup each for a few (the usual month); one `$in` for
        many, which MongoDB answers from the primary key and FerretDB by one pass over the collection
        (measured on FerretDB: 366 lookups 0.4 s, one `$in` over 950 documents 0.08 s)."""
        collection = cls._get_collection()
        if len(ids) > LOOKUPS_AT_MOST:
            return list(collection.find({"_id": {"$in": ids}}))
        return [doc for doc in (collection.find_one({"_id": i}) for i in ids) if doc is not None]


class Cycle(Document):
    """A conversation's current cycle: `start` (the customer's first unanswered message, None when no
    cycle is open), whether a person (`human`) or the AI (`ai`) has answered it, `answered` (anyone)."""

    id = StringField(primary_key=True)
    meta = {"collection": "analytics_cycles", "strict": False}

    @classmethod
    def first_seen(cls, conversation_id: str) -> bool:
        """Record the conversation (no cycle open); True when it was not known: its first message."""
        try:
            return cls._get_collection().update_one(
                {"_id": conversation_id},
                {"$setOnInsert": {"start": None, "human": False, "ai": False, "answered": False}},
                upsert=True).upserted_id is not None
        except DuplicateKeyError:
            return False

    @classmethod
    def customer_wrote(cls, conversation_id: str, at: datetime) -> bool:
        """Open a cycle at `at` unless one is open (an earlier message arriving late moves its start).
        True when this is the conversation's first message seen."""
        collection = cls._get_collection()
        if writes_serialized():  # FerretDB, under the rollups' write lock: read by _id, update by _id
            doc = collection.find_one({"_id": conversation_id})
            if doc is None:
                collection.update_one({"_id": conversation_id}, {"$setOnInsert": {
                    "start": at, "human": False, "ai": False, "answered": False}}, upsert=True)
                return True
            if doc.get("start") is None:
                collection.update_one({"_id": conversation_id}, {"$set": {
                    "start": at, "human": False, "ai": False, "answered": False}})
            elif doc.get("answered") is False and at < as_utc(doc["start"]):  # else `$min` changes nothing
                collection.update_one({"_id": conversation_id}, {"$min": {"start": at}})
            return False
        created = cls.first_seen(conversation_id)
        opened = collection.update_one({"_id": conversation_id, "start": None},
                                       {"$set": {"start": at, "human": False, "ai": False, "answered": False}})
        if not opened.modified_count:
            collection.update_one({"_id": conversation_id, "answered": False}, {"$min": {"start": at}})
        return created

    @classmethod
    def answer(cls, conversation_id: str, by_ai: bool) -> dict[str, Any] | None:
        """Mark the open cycle answered by a person or the AI; the cycle as it was before, or None when
        there is no open cycle or it was already answered by that side."""
        side = "ai" if by_ai else "human"
        before = cls._change(conversation_id, {"start": {"$ne": None}, side: False},
                             lambda doc: doc.get("start") is not None and doc.get(side) is False,
                             {"$set": {side: True, "answered": True}})
        if before is not None:
            before["start"] = as_utc(before.get("start"))
        return before

    @classmethod
    def close(cls, conversation_id: str) -> datetime | None:
        """Close the open cycle (resolved); when it started, or None when none was open."""
        before = cls._change(conversation_id, {"start": {"$ne": None}}, lambda doc: doc.get("start") is not None,
                             {"$set": {"start": None, "human": False, "ai": False, "answered": False}})
        return as_utc(before.get("start")) if before else None

    @classmethod
    def _change(cls, conversation_id: str, condition: dict[str, Any], holds: Callable[[dict[str, Any]], bool],
                update: dict[str, Any]) -> dict[str, Any] | None:
        """A conditional update; the cycle before it, or None when the condition did not hold. On MongoDB one
        atomic filter; on FerretDB (the rollups hold the write lock) the condition is checked on the document
        read by `_id`, since FerretDB would evaluate the filter over every conversation's cycle."""
        collection = cls._get_collection()
        if not writes_serialized():
            return collection.find_one_and_update({"_id": conversation_id, **condition}, update)
        doc = collection.find_one({"_id": conversation_id})
        if doc is None or not holds(doc):
            return None
        collection.update_one({"_id": conversation_id}, update)
        return doc


class Mark(Document):
    """An event already folded in: `m:<message id>` or `s:<conversation id>:<time>:<status>`."""

    id = StringField(primary_key=True)
    kind = StringField()
    at = DateTimeField()
    change = DictField()
    meta = {"collection": "analytics_marks", "strict": False}

    @classmethod
    def first_time(cls, mark_id: str, kind: str, at: datetime, change: dict[str, Any] | None = None) -> bool:
        """Record the mark; True when it was not there (fold the event in), False for a repeat."""
        fields: dict[str, Any] = {"kind": kind, "at": at}
        if change is not None:
            fields["change"] = change
        try:
            result = cls._get_collection().update_one({"_id": mark_id}, {"$setOnInsert": fields}, upsert=True)
        except DuplicateKeyError:
            return False
        return result.upserted_id is not None


DOCUMENTS: tuple[type[Document], ...] = (DayRollup, Cycle, Mark)
