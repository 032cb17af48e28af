"""What webapp.ocr tells the event bus (webapp.core.bus), after the write."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MessageTextExtracted:
    """Reading the text of a received image or PDF finished: `Message.text_extract` holds the outcome
    (`status` `done` with the `text`, possibly empty, or `failed` with the `error`). Published once per
    reading, after the message and the received-files summary are written; a subscriber reads the
    message itself (one `_id` lookup), e.g. with webapp.ocr.extracted_text(message)."""

    message_id: str
    conversation_id: str
