"""The received-files summary: one small document per image or PDF a customer sent (`_id` = the
message id), written when the file is stored and again when its text is read. The Documents page,
GET /api/documents and the chat search read it instead of scanning every message (on FerretDB every
filter but `_id` equality runs over the whole collection: this one holds files only)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from bson.regex import Regex
from mongoengine import BooleanField, DateTimeField, Document, IntField, StringField
from mongoengine.queryset.visitor import Q

from ..core.clock import utcnow
from ..core.db import write_lock

TEXT_STATUSES = ("pending", "done", "failed")


class ReceivedFile(Document):
    id = StringField(primary_key=True)  # the message's id
    conversation_id = StringField(required=True)
    wa_id = StringField(required=True)
    contact_name = StringField(null=True)  # when the file arrived
    kind = StringField(required=True, choices=("image", "pdf"))
    mime_type = StringField(null=True)
    filename = StringField(null=True)
    caption = StringField(null=True)
    size = IntField(null=True)
    timestamp = DateTimeField(required=True)  # the message's (when the customer sent it)
    text_status = StringField(choices=TEXT_STATUSES, default="pending")
    text = StringField(default="")
    has_text = BooleanField(default=False)
    pages = IntField(null=True)
    error = StringField(null=True)  # why the text could not be read
    updated_at = DateTimeField(default=utcnow)

    meta = {"collection": "received_files"}

    @classmethod
    def record(cls, message_id: str, fields: dict[str, Any]) -> None:
        """Create or refresh the summary of a stored file (its text fields as they are: pending, to be read)."""
        with write_lock():
            cls._get_collection().update_one(
                {"_id": message_id},
                {"$set": {**fields, "updated_at": utcnow()},
                 "$setOnInsert": {"text_status": "pending", "text": "", "has_text": False}},
                upsert=True)

    @classmethod
    def set_text(cls, message_id: str, *, status: str, text: str, pages: int | None, error: str | None) -> None:
        with write_lock():
            cls._get_collection().update_one(
                {"_id": message_id},
                {"$set": {"text_status": status, "text": text, "has_text": bool(text.strip()), "pages": pages,
                          "error": error, "updated_at": utcnow()}})

    @classmethod
    def mark_pending(cls, message_id: str) -> None:
        with write_lock():
            cls._get_collection().update_one({"_id": message_id}, {"$set": {"text_status": "pending"}})

    @classmethod
    def listing(cls, *, limit: int, kind: str | None = None, contact: str | None = None,
                has_text: bool | None = None, since: datetime | None = None, until: datetime | None = None,
                text: str | None = None, before: ReceivedFile | None = None) -> list[ReceivedFile]:
        """Newest first, filtered; `before` pages on. Regex objects with explicit flags (FerretDB refuses `u`)."""
        filters = Q()
        if kind:
            filters &= Q(kind=kind)
        if contact:
            pattern = re.escape(contact)
            filters &= Q(contact_name=Regex(pattern, "i")) | Q(wa_id=Regex(pattern))
        if has_text is not None:
            filters &= Q(has_text=has_text)
        if since is not None:
            filters &= Q(timestamp__gte=since)
        if until is not None:
            filters &= Q(timestamp__lt=until)
        if text:
            filters &= Q(text=Regex(re.escape(text), "i"))
        if before is not None:
            filters &= Q(timestamp__lt=before.timestamp) | Q(timestamp=before.timestamp, id__lt=before.id)
        return list(cls.objects(filters).order_by("-timestamp", "-id").limit(limit))

    @classmethod
    def conversations_mentioning(cls, text: str, *, limit: int) -> list[tuple[str, str]]:
        """(conversation id, file id) of the files whose text contains `text` (any case), newest first,
        one per conversation, at most `limit`."""
        found: dict[str, str] = {}
        query = cls.objects(text=Regex(re.escape(text), "i")).only("conversation_id").order_by("-timestamp", "-id")
        for item in query:
            found.setdefault(item.conversation_id, item.id)
            if len(found) >= limit:
                break
        return list(found.items())


DOCUMENTS: tuple[type[Document], ...] = (ReceivedFile,)
