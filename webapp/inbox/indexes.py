"""The hot reads' own documents, each addressed by `_id`: a conversation's timeline in chunks and the
conversation list in recency chunks. FerretDB 1.24 evaluates every filter but a single `_id` equality
over the whole collection, so opening a chat or listing conversations reads a few of these documents by
`_id` instead of querying `messages` or `conversations`; on MongoDB they are primary-key reads too.

- Timeline: each bubble of a conversation gets the next number of the conversation's `seq` counter
  (`Message.seq`). Chunk `"<conversation_id>:<seq // CHUNK>"` holds, under the key `str(seq)`, a snapshot
  of the message (see below). Every write to a message bumps its `rev` and puts the new snapshot with
  `$max`, so a slower writer holding an older state never wins.
- Unread: the unread count of each conversation that has unread messages, in `UNREAD_SHARDS` documents
  by a hash of its `_id` (the tab title's total reads them all instead of querying every conversation).
- Recent: every conversation whose latest message moves gets the next number of one global counter; the
  chunk `seq // CHUNK` holds its snapshot under its `_id` (it stays where it is while that chunk is still
  the newest), and the conversation remembers its chunk (`row_chunk`) so a move removes the old entry.

A snapshot is one string: the document's revision, zero-padded so that `$max` keeps the latest, then its
BSON in base64. FerretDB reads a chunk of 25 messages in about 1.3 ms; as 25 `{rev, BSON}` sub-documents (the
format before, still read from the field `m` until `flask inbox reindex`) it took 3.6 ms, as nested documents
~10 ms.
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

import bson
from bson.codec_options import CodecOptions
from mongoengine import DictField, Document, DynamicField, IntField, StringField
from pymongo import ReturnDocument

from ..core.clock import as_utc
from ..core.db import writes_serialized

CHUNK = 25  # snapshots per chunk document: a page of 50 reads three
CODEC = CodecOptions(tz_aware=True)
RECENT_COUNTER = "counter"
# Left out of a conversation's row: what makes up its unread count (one entry per unread message) is read
# only by the write path, from the conversation itself; a row needs the count.
ROW_OMITS = frozenset({"unread"})
TIMELINE_OMITS = frozenset({"search_text"})
TIMELINE_OPTIONAL = frozenset({"context", "errors", "status_times", "error", "reactions", "sent_by_app", "wamid",
                               "media", "text_extract"})


REV_DIGITS = 12


def snapshot(doc: Mapping[str, Any]) -> str:
    """A document as it is stored, as a string that `$max` compares by the document's revision."""
    encoded = base64.b64encode(bson.encode(doc, codec_options=CODEC)).decode("ascii")
    return f"{int(doc.get('rev') or 0):0{REV_DIGITS}d}|{encoded}"


def unpack(entry: str | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(entry, str):
        return bson.decode(base64.b64decode(entry[REV_DIGITS + 1:]), codec_options=CODEC)
    return bson.decode(bytes(entry["b"]), codec_options=CODEC)  # the format before: {"v": rev, "b": BSON}


def revision(entry: str | Mapping[str, Any]) -> int:
    return int(entry[:REV_DIGITS]) if isinstance(entry, str) else int(entry["v"])


def snapshots(chunk: Mapping[str, Any] | None) -> dict[str, str | Mapping[str, Any]]:
    """A chunk's snapshots by key: those in `s`, and those written in the format before (in `m`, until
    `flask inbox reindex`) that no later write has replaced in `s`."""
    latest: dict[str, Any] = dict((chunk or {}).get("s") or {})
    for key, entry in ((chunk or {}).get("m") or {}).items():
        if key not in latest or revision(entry) > revision(latest[key]):
            latest[key] = entry
    return latest


def timeline_entry(message: Mapping[str, Any]) -> str:
    """A message's snapshot in its timeline: without what no page shows (its search text), and without the
    optional fields that are empty (read back as their defaults, which mean the same): a third smaller."""
    return snapshot({name: value for name, value in message.items() if name not in TIMELINE_OMITS
                     and not (name in TIMELINE_OPTIONAL and value in (None, [], {}))})


def order_key(doc: Mapping[str, Any]) -> tuple[datetime, datetime]:
    """Where a message shows in its chat: WhatsApp's timestamp, then arrival."""
    return as_utc(doc["timestamp"]), as_utc(doc.get("received_at") or doc["timestamp"])


class TimelineChunk(Document):
    """A conversation's bubbles `CHUNK` at a time, by arrival: `s` maps a bubble's seq to its snapshot;
    `below` is the latest order key of every bubble stored before the chunk began (in chunks below it),
    so a reader knows when no lower chunk can hold a later bubble than those it has."""

    id = StringField(primary_key=True)
    s = DictField()
    m = DictField()  # the format before
    below = DynamicField()

    meta = {"collection": "timeline_chunks"}

    @staticmethod
    def chunk_id(conversation_id: str, seq: int) -> str:
        return f"{conversation_id}:{seq // CHUNK}"

    @classmethod
    def put(cls, message: Mapping[str, Any]) -> None:
        """Store (or refresh) the snapshot of a message that has its place (`seq`) in the timeline."""
        cls.put_many([message])

    @classmethod
    def put_many(cls, messages: list[Mapping[str, Any]], below: Mapping[str, Any] | None = None) -> None:
        """Store (or refresh) snapshots: one update per chunk. `below`: the
        conversation's latest message before these (its summary), for a chunk they begin."""
        chunks: dict[str, dict[str, Any]] = {}
        floor: dict[str, tuple[datetime, datetime] | None] = {}
        latest = order_key(below) if below else None
        for message in sorted((m for m in messages if m.get("seq") is not None), key=lambda m: m["seq"]):
            chunk_id = cls.chunk_id(message["conversation_id"], message["seq"])
            if chunk_id not in chunks:
                chunks[chunk_id] = {}
                floor[chunk_id] = latest
            chunks[chunk_id][f"s.{message['seq']}"] = timeline_entry(message)
            latest = max(latest, order_key(message)) if latest else order_key(message)
        if not chunks:
            return
        # One update each: FerretDB 1.24 evaluates each statement of a bulk write over the whole collection.
        for chunk_id, entries in chunks.items():
            update: dict[str, Any] = {"$max": entries}
            if floor[chunk_id] is not None:
                update["$setOnInsert"] = {"below": list(floor[chunk_id])}
            cls._get_collection().update_one({"_id": chunk_id}, update, upsert=True)

    @classmethod
    def page(cls, conversation_id: str, top: int, want: int,
             before: tuple[datetime, datetime] | None = None) -> list[dict[str, Any]]:
        """Up to `want` message documents, latest first (by order key), earlier than `before` when
        given: read from chunk `top // CHUNK` down, one `_id` read each, until no lower chunk can
        hold a later one."""
        found: list[tuple[tuple[datetime, datetime], int, dict[str, Any]]] = []
        collection = cls._get_collection()
        chunk = top // CHUNK
        while chunk >= 0:
            doc = collection.find_one({"_id": f"{conversation_id}:{chunk}"}) or {}
            for key, entry in snapshots(doc).items():
                message = unpack(entry)
                order = order_key(message)
                if before is None or order < before:
                    found.append((order, int(key), message))
            chunk -= 1
            if len(found) >= want:
                found.sort(key=lambda item: (item[0], item[1]), reverse=True)
                below = doc.get("below")
                if below is not None and found[want - 1][0] > (as_utc(below[0]), as_utc(below[1])):
                    break
        found.sort(key=lambda item: (item[0], item[1]), reverse=True)
        return [message for _, _, message in found[:want]]


    @classmethod
    def latest_matching(cls, conversation_id: str, top: int, want: int, kinds: frozenset[str],
                        chunks_at_most: int) -> list[dict[str, Any]]:
        """Up to `want` message documents whose type is in `kinds`, latest first, from the newest
        `chunks_at_most` chunks (one `_id` read each): a bounded walk, not a query."""
        found: list[tuple[tuple[datetime, datetime], dict[str, Any]]] = []
        collection = cls._get_collection()
        last = top // CHUNK
        for chunk in range(last, max(last - chunks_at_most, -1), -1):
            doc = collection.find_one({"_id": f"{conversation_id}:{chunk}"}) or {}
            for entry in snapshots(doc).values():
                message = unpack(entry)
                if message.get("type") in kinds:
                    found.append((order_key(message), message))
            if len(found) >= want:
                break
        found.sort(key=lambda item: item[0], reverse=True)
        return [message for _, message in found[:want]]


class RecentChunk(Document):
    """The conversation list: `s` maps a conversation's `_id` to its snapshot; the document
    `RECENT_COUNTER` holds the counter (`n`)."""

    id = StringField(primary_key=True)
    s = DictField()
    m = DictField()  # the format before
    n = IntField()

    meta = {"collection": "recent_conversations"}

    @classmethod
    def put(cls, conversation: Mapping[str, Any], *, moved: bool) -> int | None:
        """Store (or refresh) a conversation's row. `moved`: its latest message changed, so it goes to
        the newest chunk (unless it is there already). Returns its new chunk when that changed."""
        if conversation.get("last_message_at") is None:
            return None
        collection = cls._get_collection()
        current = conversation.get("row_chunk")
        target = current
        if moved or current is None:
            counter = collection.find_one_and_update({"_id": RECENT_COUNTER}, {"$inc": {"n": 1}}, upsert=True,
                                                     return_document=ReturnDocument.AFTER)
            target = int(counter["n"]) // CHUNK
        key = conversation["_id"]
        row = {name: value for name, value in conversation.items() if name not in ROW_OMITS}
        collection.update_one({"_id": f"chunk:{target}"}, {"$max": {f"s.{key}": snapshot(row)}}, upsert=True)
        if target == current:
            return None
        if current is not None:
            collection.update_one({"_id": f"chunk:{current}"}, {"$unset": {f"s.{key}": "", f"m.{key}": ""}})
        return target

    @classmethod
    def newest_chunk(cls) -> int | None:
        counter = cls._get_collection().find_one({"_id": RECENT_COUNTER})
        return int(counter["n"]) // CHUNK if counter else None

    @classmethod
    def rows(cls, top_chunk: int) -> Iterator[tuple[int, list[dict[str, Any]]]]:
        """Each chunk from `top_chunk` down: (chunk, its conversation documents)."""
        collection = cls._get_collection()
        for chunk in range(top_chunk, -1, -1):
            doc = collection.find_one({"_id": f"chunk:{chunk}"})
            yield chunk, [unpack(entry) for entry in snapshots(doc).values()]


class ContactConversations(Document):
    """A contact's conversations, one per business number: `_id` is the wa_id (finding "the
    latest conversation with this number" without a query)."""

    id = StringField(primary_key=True)
    conversations = DictField()  # conversation id -> True

    meta = {"collection": "contact_conversations"}

    @classmethod
    def add(cls, wa_id: str, conversation_id: str) -> None:
        cls._get_collection().update_one({"_id": wa_id}, {"$set": {f"conversations.{conversation_id}": True}},
                                         upsert=True)

    @classmethod
    def of(cls, wa_id: str) -> list[str] | None:
        doc = cls._get_collection().find_one({"_id": wa_id})
        return sorted(doc.get("conversations") or {}) if doc else None


UNREAD_SHARDS = 16
UNREAD_BUILT = "built"


class UnreadIndex(Document):
    """Unread counts by conversation: shard `unread:<n>` maps the `_id` of each conversation hashed to it
    to `"<unread_rev, 12 digits>|<unread count>|<wa_id>"`: one string, which FerretDB reads several times
    faster than a small document, and which `$max` compares by revision first. The write path puts a
    conversation's entry after each change of its count, and again on a delivery repeated (which repairs
    one a failure left behind). Under the write lock (FerretDB) a count of 0 removes the entry; on MongoDB
    `$max` keeps the latest of two concurrent writers, and an entry at 0 stays."""

    id = StringField(primary_key=True)
    m = DictField()

    meta = {"collection": "unread_index"}

    @staticmethod
    def shard_of(conversation_id: str) -> str:
        return f"unread:{zlib.crc32(conversation_id.encode()) % UNREAD_SHARDS}"

    @classmethod
    def put(cls, conversation: Mapping[str, Any]) -> None:
        count = int(conversation.get("unread_count") or 0)
        key = f"m.{conversation['_id']}"
        update: dict[str, Any] = {"$max": {key: cls._entry(conversation, count)}}
        if writes_serialized():
            update = {"$set": {key: cls._entry(conversation, count)}} if count else {"$unset": {key: ""}}
        cls._get_collection().update_one({"_id": cls.shard_of(str(conversation["_id"]))}, update, upsert=True)

    @staticmethod
    def _entry(conversation: Mapping[str, Any], count: int) -> str:
        return f"{int(conversation.get('unread_rev') or 0):0{REV_DIGITS}d}|{count}|{conversation.get('wa_id') or ''}"

    @classmethod
    def entries(cls) -> Iterator[tuple[str, int, str]]:
        """(conversation id, unread count, wa_id) of every conversation with unread messages: one `_id` read a shard."""
        collection = cls._get_collection()
        for shard in range(UNREAD_SHARDS):
            doc = collection.find_one({"_id": f"unread:{shard}"}) or {}
            for conversation_id, entry in (doc.get("m") or {}).items():
                _, count, wa_id = str(entry).split("|", 2)
                if int(count) > 0:
                    yield conversation_id, int(count), wa_id

    @classmethod
    def built(cls) -> bool:
        return cls._get_collection().find_one({"_id": UNREAD_BUILT}) is not None

    @classmethod
    def build(cls, conversations: Iterable[Mapping[str, Any]]) -> None:
        """Index every conversation given (those with unread messages): one write a shard; then mark it built."""
        shards: dict[str, dict[str, str]] = {}
        for conversation in conversations:
            count = int(conversation.get("unread_count") or 0)
            if count:
                key = f"m.{conversation['_id']}"
                shards.setdefault(cls.shard_of(str(conversation["_id"])), {})[key] = cls._entry(conversation, count)
        collection = cls._get_collection()
        for shard_id, entries in shards.items():
            collection.update_one({"_id": shard_id}, {"$max": entries}, upsert=True)
        collection.update_one({"_id": UNREAD_BUILT}, {"$set": {"at": None}}, upsert=True)


INDEX_DOCUMENTS: tuple[type[Document], ...] = (TimelineChunk, RecentChunk, ContactConversations, UnreadIndex)
