"""`flask inbox reindex`: build the hot reads' documents (webapp/inbox/indexes.py) from the stored
messages and conversations, for a database written before they existed. Run it with the app stopped; it
reads every message twice and holds their snapshots in memory (a one-off: the write path keeps them up to
date from then on)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import click

from ..core.clock import as_utc
from .documents import Conversation, Message
from .indexes import CHUNK, ContactConversations, RecentChunk, TimelineChunk, UnreadIndex, timeline_entry


def rebuild() -> tuple[int, int]:
    """Number every bubble in time order per conversation, put its snapshot in its chunk, then every
    conversation's row (oldest first, so the newest end up in the newest chunk). (conversations, messages)."""
    for document in (TimelineChunk, RecentChunk, ContactConversations, UnreadIndex):
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
    # Read everything first: FerretDB does not take writes to a database while a cursor on it is open.
    chunks: dict[str, dict[str, Any]] = defaultdict(dict)
    for doc in messages.find({"type": {"$ne": "reaction"}}):
        doc["seq"] = seqs[doc["_id"]]
        chunks[TimelineChunk.chunk_id(doc["conversation_id"], doc["seq"])][f"s.{doc['seq']}"] = timeline_entry(doc)
    # One update each: FerretDB 1.24 evaluates each statement of a bulk write over the whole collection.
    for message_id, seq in seqs.items():
        messages.update_one({"_id": message_id}, {"$set": {"seq": seq}})
    for chunk_id, entries in chunks.items():
        update: dict[str, Any] = {"$max": entries}
        if chunk_id in below:
            update["$set"] = {"below": below[chunk_id]}
        TimelineChunk._get_collection().update_one({"_id": chunk_id}, update, upsert=True)
    count = 0
    for doc in list(conversations.find({"last_message_at": {"$ne": None}}).sort("last_message_at", 1)):
        after = conversations.find_one_and_update(
            {"_id": doc["_id"]}, {"$set": {"seq": len(keys.get(doc["_id"], [])), "row_chunk": None}})
        if after is None:
            continue
        after.update(seq=len(keys.get(doc["_id"], [])), row_chunk=None)
        ContactConversations.add(after["wa_id"], after["_id"])
        chunk = RecentChunk.put(after, moved=True)
        conversations.update_one({"_id": after["_id"]}, {"$set": {"row_chunk": chunk}})
        count += 1
    UnreadIndex.build(conversations.find({"unread_count": {"$gt": 0}}))
    return count, len(seqs)


@click.command("reindex")
def reindex_command() -> None:
    """Build the timeline and conversation-list documents from the stored messages (app stopped)."""
    conversations, messages = rebuild()
    click.echo(f"{conversations} conversation(s), {messages} message(s) indexed")
