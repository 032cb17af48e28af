"""The reading job (RQ task; see webapp.core.jobs): the text of a stored image or PDF, recorded on
the message. A storage that cannot be read is retried with the queue's backoff; a file that cannot be
read is recorded as failed at once (trying again would not help). Idempotent: a file read is not
read again."""

from __future__ import annotations

import logging

from flask import current_app

from .. import settings
from ..core.jobs import is_last_attempt
from ..inbox.documents import Message
from ..media.storage import StorageError, storage
from . import records
from .extract import Unreadable, extract

log = logging.getLogger(__name__)


def languages() -> str:
    """Tesseract's languages ("eng+deu"): the settings page's `ocr.languages` when an admin changed it from
    its default, else the OCR_LANGUAGES environment setting."""
    chosen = str(settings.get("ocr.languages") or "")
    default = settings.BY_KEY["ocr.languages"].default
    return chosen if chosen and chosen != default else str(current_app.config.get("OCR_LANGUAGES") or default)


def read_text(message_id: str) -> None:
    message = Message.objects(pk=message_id).first()
    source = records.source_of(message) if message is not None else None
    if message is None or source is None:
        return
    record = message.text_extract or {}
    if record.get("key") == source.key and record.get("status") in (records.DONE, records.FAILED):
        return  # read already (a retried or requeued job); reading again starts with a pending record
    try:
        data = storage().get(source.key)
    except StorageError as exc:
        if not is_last_attempt():
            raise
        log.error("text of %s not read: %s", message_id, exc)
        records.failed(message, source, "The stored file cannot be read.")
        return
    try:
        result = extract(data, source.kind, languages=languages(),
                         max_pages=int(current_app.config.get("OCR_MAX_PAGES") or 20))
    except Unreadable as exc:
        log.info("text of %s not read: %s", message_id, exc)
        records.failed(message, source, str(exc))
        return
    except Exception as exc:  # a library's own failure: retried, then recorded (the bubble stops saying "Reading")
        if not is_last_attempt():
            raise
        log.exception("text of %s not read", message_id)
        records.failed(message, source, f"Reading the file failed ({type(exc).__name__}).")
        return
    records.done(message, source, result)
    log.info("text of %s read: %d characters, %d of %d page(s), %s", message_id, len(result.text),
             result.pages_read, result.pages, result.method or "nothing to read")
