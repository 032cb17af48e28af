"""Internal notes: written by agents into a chat's timeline, stored as their own documents. Nothing
here imports the send path: a note never reaches WhatsApp."""

from __future__ import annotations

import secrets
from datetime import datetime

from ..core import bus
from ..core.clock import utcnow
from ..inbox.documents import Conversation
from .documents import Note
from .events import NoteAdded

NOTE_MAX_LENGTH = 4096


def add(conversation: Conversation, text: str, *, author: str, author_name: str) -> Note:
    note = Note(id=f"note.{secrets.token_hex(10)}", conversation_id=conversation.id, wa_id=conversation.wa_id,
                author=author, author_name=author_name, text=text, created_at=utcnow())
    note.save(force_insert=True)
    bus.publish(NoteAdded(note.id))
    return note


def between(conversation_id: str, start: datetime | None, end: datetime | None) -> list[Note]:
    """A conversation's notes written in [start, end) (either side open when None), oldest first."""
    query = Note.objects(conversation_id=conversation_id)
    if start is not None:
        query = query.filter(created_at__gte=start)
    if end is not None:
        query = query.filter(created_at__lt=end)
    return list(query.order_by("created_at"))


def get(note_id: str) -> Note | None:
    return Note.objects(pk=note_id).first()
