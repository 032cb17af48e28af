"""A message's media record (Message.media) and the event that tells every open page it changed.

Each change is one `_id` update of the whole record, then MessageMediaChanged on the bus."""

from __future__ import annotations

from typing import Any

from ..core import bus
from ..inbox.documents import Message
from ..inbox.events import MessageMediaChanged
from ..whatsapp.message_types import dig, stripped

PENDING, READY, FAILED = "pending", "ready", "failed"


def described(message: Message) -> dict[str, Any]:
    """What the webhook said of the file (before it is fetched)."""
    content = message.content
    return {"mime_type": stripped(dig(content, "mime_type")) or None,
            "filename": stripped(dig(content, "filename")) or None}


def _write(message: Message, record: dict[str, Any]) -> dict[str, Any]:
    Message.set_media(message.id, record)
    message.media = record
    bus.publish(MessageMediaChanged(message.id))
    return record


def pending(message: Message) -> dict[str, Any]:
    """Fetching starts (again): no tries yet."""
    return _write(message, {"status": PENDING, "tries": 0, **described(message)})


def ready(message: Message, *, key: str, size: int, mime_type: str, tries: int) -> dict[str, Any]:
    return _write(message, {**described(message), "status": READY, "tries": tries, "key": key, "sha256": key,
                            "size": size, "mime_type": mime_type})


def failed(message: Message, reason: str, *, tries: int) -> dict[str, Any]:
    return _write(message, {"status": FAILED, "tries": tries, "error": reason, **described(message)})
