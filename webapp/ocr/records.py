"""A message's text record (Message.text_extract) and its summary (ReceivedFile), written together;
MessageTextExtracted on the bus once a reading is over.

Record: status (pending|done|failed), key (the stored file read: a new file is read again), text,
language, pages, pages_read, method, truncated, error, at."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core import bus
from ..core.clock import utcnow
from ..inbox.documents import Conversation, Message
from ..whatsapp.message_types import dig, stripped
from .documents import ReceivedFile
from .events import MessageTextExtracted
from .extract import Extract, kind_of

PENDING, DONE, FAILED = "pending", "done", "failed"
READ_TYPES = ("image", "document")  # stickers are pictures, not documents


@dataclass(frozen=True)
class Source:
    """The stored file of a message whose text is read."""

    kind: str  # extract.PDF or extract.IMAGE
    key: str
    mime_type: str


def source_of(message: Message) -> Source | None:
    """The file to read: a customer's image or PDF, once stored; None for anything else."""
    if message.direction != "inbound" or message.type not in READ_TYPES:
        return None
    media = message.media or {}
    if media.get("status") != "ready" or not media.get("key"):
        return None
    mime_type = str(media.get("mime_type") or "")
    kind = kind_of(mime_type)
    if kind is None:
        return None
    return Source(kind, str(media["key"]), mime_type)


def is_read(message: Message, source: Source) -> bool:
    """This file's text is read already (or being read): nothing to do."""
    record = message.text_extract or {}
    return record.get("key") == source.key and record.get("status") in (PENDING, DONE, FAILED)


def summarise(message: Message, source: Source) -> None:
    """The file into the received-files summary (the Documents page)."""
    conversation = Conversation.objects(pk=message.conversation_id).only("contact_name").first()
    media = message.media or {}
    ReceivedFile.record(message.id, {
        "conversation_id": message.conversation_id, "wa_id": message.wa_id,
        "contact_name": conversation.contact_name if conversation else None,
        "kind": source.kind, "mime_type": source.mime_type, "filename": media.get("filename"),
        "caption": stripped(dig(message.content, "caption")) or None, "size": media.get("size"),
        "timestamp": message.timestamp,
    })


def pending(message: Message, source: Source) -> None:
    """Reading starts: the bubble says so (no event: the media push that follows shows it)."""
    record = {"status": PENDING, "key": source.key, "at": utcnow()}
    Message.set_text_extract(message.id, record)
    message.text_extract = record
    ReceivedFile.mark_pending(message.id)


def _finish(message: Message, record: dict[str, Any]) -> dict[str, Any]:
    Message.set_text_extract(message.id, record)
    message.text_extract = record
    ReceivedFile.set_text(message.id, status=record["status"], text=record.get("text") or "",
                          pages=record.get("pages"), error=record.get("error"))
    bus.publish(MessageTextExtracted(message.id, message.conversation_id))
    return record


def done(message: Message, source: Source, result: Extract) -> dict[str, Any]:
    return _finish(message, {"status": DONE, "key": source.key, "text": result.text, "language": result.language,
                             "pages": result.pages, "pages_read": result.pages_read, "method": result.method,
                             "truncated": result.truncated, "error": None, "at": utcnow()})


def failed(message: Message, source: Source, reason: str) -> dict[str, Any]:
    return _finish(message, {"status": FAILED, "key": source.key, "text": "", "error": reason, "at": utcnow()})


def extracted_text(message: Message) -> str | None:
    """The text read from the message's file, when there is some (what the AI takes as the customer's words)."""
    record = message.text_extract or {}
    text = record.get("text") if record.get("status") == DONE else None
    return text if isinstance(text, str) and text.strip() else None
