"""`flask inbox reindex`: build the hot reads' documents (webapp/inbox/indexes.py) from the stored
messages and conversations, for a database written before they existed. Run it with the app stopped; it
reads every message twice (a one-off: the write path keeps them up to date from then on)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import click
from flask import Flask
from flask.cli import AppGroup
from pymongo import UpdateOne

from ..core.clock import as_utc
from .documents import Conversation, Message
from .indexes import CHUNK, ContactConversations, RecentChunk, TimelineChunk, snapshot

BATCH = 1000


def rebuild() -> tuple[int, int]:
    """Number every bubble in time order per conversation, put its snapshot in its chunk, then every
    conversation's row (oldest first, so the newest end up in the newest chunk). (conversations, messages)."""
    for document in (TimelineChunk, RecentChunk, ContactConversations):
        document._get_collection().drop()
    messages, conversations = Message._get_collection(), Conversation._get_collection()
    keys: dict[str, list[tuple[datetime, datetime, str]]] = defaultdict(list)
    for doc in messages.find({"type": {"$ne": "reaction"}}, {"conversation_id": 1, "timestamp": 1, "received_at": 1}):
        keys[doc["conversation_id"]].append((as_utc(doc["timestamp"]), as_utc(doc.get("received_at") or
                                                                                doc["timestamp"]), doc["_id"]))
    seqs: dict[str, int] = {}
    below: dict[str, list[datetime]] = {}
    for conversation_id, entries in keys.items():
        entries.sort()
        for seq, (_, _, message_id) in enumerate(entries, start=1):
            seqs[message_id] = seq
            if seq % CHUNK == 0 and seq > 1:  # the first of a chunk: the latest before it is the one before
                below[TimelineChunk.chunk_id(conversation_id, seq)] = list(entries[seq - 2][:2])
    pending: list[dict[str, Any]] = []
    for doc in messages.find({"type": {"$ne": "reaction"}}):
        doc["seq"] = seqs[doc["_id"]]
        pending.append(doc)
        if len(pending) >= BATCH:
            _flush(pending, below)
            pending = []
    _flush(pending, below)
    count = 0
    for doc in conversations.find({"last_message_at": {"$ne": None}}).sort("last_message_at", 1):
        after = conversations.find_one_and_update(
            {"_id": doc["_id"]}, {"$set": {"seq": len(keys.get(doc["_id"], [])), "row_chunk": None}})
        if after is None:
            continue
        after.update(seq=len(keys.get(doc["_id"], [])), row_chunk=None)
        ContactConversations.add(after["wa_id"], after["_id"])
        chunk = RecentChunk.put(after, moved=True)
        conversations.update_one({"_id": after["_id"]}, {"$set": {"row_chunk": chunk}})
        count += 1
    return count, len(seqs)


def _flush(docs: list[dict[str, Any]], below: dict[str, list[datetime]]) -> None:
    if not docs:
        return
    Message._get_collection().bulk_write([UpdateOne({"_id": d["_id"]}, {"$set": {"seq": d["seq"]}}) for d in docs],
                                         ordered=False)
    chunks: dict[str, dict[str, Any]] = defaultdict(dict)
    for doc in docs:
        chunks[TimelineChunk.chunk_id(doc["conversation_id"], doc["seq"])][f"m.{doc['seq']}"] = snapshot(doc)
    updates = []
    for chunk_id, entries in chunks.items():
        update: dict[str, Any] = {"$max": entries}
        if chunk_id in below:
            update["$set"] = {"below": below[chunk_id]}
        updates.append(UpdateOne({"_id": chunk_id}, update, upsert=True))
    TimelineChunk._get_collection().bulk_write(updates, ordered=False)


def register(app: Flask) -> None:
    group = AppGroup("inbox", help="The inbox's stored conversations and messages.")

    @group.command("reindex")
    def reindex_command() -> None:
        """Build the timeline and conversation-list documents from the stored messages (app stopped)."""
        conversations, messages = rebuild()
        click.echo(f"{conversations} conversation(s), {messages} message(s) indexed")

    app.cli.add_command(group)
