"""The team's documents: the list filters' counters, internal notes, canned replies and drafts.
Each is read and written by `_id` (FerretDB pushes down only `_id` equality)."""

from __future__ import annotations

from typing import Any

from mongoengine import DateTimeField, Document, IntField, ListField, StringField

from ..core.clock import utcnow


class ConversationCount(Document):
    """How many conversations one list filter shows: `_id` is the filter ("all", "unassigned", "unread",
    "resolved") or "mine:<email>" for an agent's Mine. Changed by `$inc` only, from CountedState's diffs."""

    id = StringField(primary_key=True)
    n = IntField(default=0)

    meta = {"collection": "conversation_counts"}


class CountedState(Document):
    """The filters a conversation was last counted under (`_id`: the conversation's): what the next change
    subtracts from the counters, so a recount touches two small documents, never the whole collection."""

    id = StringField(primary_key=True)
    filters = ListField(StringField())

    meta = {"collection": "conversation_counted"}


class Note(Document):
    """An internal note on a conversation: shown to agents only, never sent to the customer."""

    id = StringField(primary_key=True)
    conversation_id = StringField(required=True)
    wa_id = StringField(required=True)
    author = StringField(required=True)  # the agent's email, or "token:<name>"
    author_name = StringField(required=True)
    text = StringField(required=True)
    created_at = DateTimeField(default=utcnow)

    meta = {"collection": "notes",
            "indexes": [{"fields": ["conversation_id", "created_at"], "name": "conversation_notes"}]}


class CannedReply(Document):
    """A canned reply: `_id` is its shortcut (agents type `/shortcut` in the composer)."""

    id = StringField(primary_key=True)
    text = StringField(required=True)
    created_by = StringField()
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    meta = {"collection": "canned_replies"}

    @property
    def shortcut(self) -> str:
        return self.id


class Draft(Document):
    """What an agent has typed in a chat's composer and not sent: `_id` is "<email> <conversation id>"."""

    id = StringField(primary_key=True)
    text = StringField(default="")
    updated_at = DateTimeField(default=utcnow)

    meta = {"collection": "drafts"}


DOCUMENTS: tuple[Any, ...] = (ConversationCount, CountedState, Note, CannedReply, Draft)
