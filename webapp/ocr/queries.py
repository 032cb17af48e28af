"""What the Documents page, GET /api/documents and the chat search read: the received-files summary."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from ..core.errors import Invalid
from ..inbox.documents import Conversation
from .documents import ReceivedFile

MAX_PAGE = 100


@dataclass(frozen=True)
class Filters:
    kind: str | None = None  # "image" | "pdf"
    contact: str | None = None  # a name or number, or part of one
    has_text: bool | None = None
    since: date | None = None  # received on or after (UTC day)
    until: date | None = None  # received on or before (UTC day)
    q: str | None = None  # in the text


def _day(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def received_files(filters: Filters, *, limit: int, before: str | None = None) -> tuple[list[ReceivedFile], bool]:
    """A page of received files, newest first, and whether older ones exist."""
    cursor = None
    if before:
        cursor = ReceivedFile.objects(pk=before).first()
        if cursor is None:
            raise Invalid("Invalid paging cursor.", {"before": "is not a received file's id"})
    rows = ReceivedFile.listing(
        limit=limit + 1, kind=filters.kind, contact=filters.contact, has_text=filters.has_text,
        since=_day(filters.since) if filters.since else None,
        until=_day(filters.until) + timedelta(days=1) if filters.until else None, text=filters.q, before=cursor)
    return rows[:limit], len(rows) > limit


def contact_names(files: list[ReceivedFile]) -> dict[str, str | None]:
    """The contacts' current names, by conversation id (an `_id` lookup per conversation on the page)."""
    names: dict[str, str | None] = {}
    for conversation_id in sorted({f.conversation_id for f in files}):
        conversation = Conversation.objects(pk=conversation_id).only("contact_name").first()
        names[conversation_id] = conversation.contact_name if conversation else None
    return names


def conversations_mentioning(text: str, *, limit: int = 20) -> list[tuple[Conversation, ReceivedFile]]:
    """The chat search's second half: conversations whose received files' text contains `text`, with the
    newest such file, newest first."""
    found: list[tuple[Conversation, ReceivedFile]] = []
    for conversation_id, file_id in ReceivedFile.conversations_mentioning(text, limit=limit):
        conversation = Conversation.objects(pk=conversation_id).first()
        received = ReceivedFile.objects(pk=file_id).first()
        if conversation is not None and received is not None:
            found.append((conversation, received))
    return found


def snippet(text: str, query: str, width: int = 60) -> str:
    """The words around the first place `query` is in `text`, on one line."""
    flat = " ".join(text.split())
    at = flat.lower().find(query.lower())
    if at < 0:
        return flat[:width]
    start = max(at - width // 2, 0)
    end = min(at + len(query) + width // 2, len(flat))
    return ("…" if start else "") + flat[start:end] + ("…" if end < len(flat) else "")
