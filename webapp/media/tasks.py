"""The media job (RQ task; see webapp.core.jobs): fetch a received file from WhatsApp and store it.

`GET /{media-id}` gives a short-lived URL; the file is downloaded from it with the access token (a
URL that has expired in between is looked up again once), checked against WhatsApp's SHA-256 and
the kind's size limit, stored, and recorded on the message. A failure that trying again can help
raises, so the queue retries it with its backoff; after the last try (or at once when trying again
cannot help: too large, no such media, the token refused) the media is marked failed, and the page
offers a retry. Idempotent: media already stored is left as it is."""

from __future__ import annotations

import base64
import binascii
import logging

from flask import current_app

from .. import graph
from ..graph import GraphClient, GraphError, MediaInfo
from ..inbox.documents import Message
from ..whatsapp.message_types import dig, media_type, stripped
from . import records
from .storage import key_of, storage

log = logging.getLogger(__name__)


class MediaNotFetched(RuntimeError):
    """This try failed and another may work: raised so that the queue retries the job."""


def tries_allowed() -> int:
    """The first try and one per retry delay (the queue's backoff)."""
    return 1 + len(current_app.config["MEDIA_RETRY_DELAYS"])


def sha256_matches(data: bytes, expected: str) -> bool:
    """WhatsApp's `sha256` is hex or base64 depending on where it comes from; either one matches."""
    digest = key_of(data)
    if expected.lower() == digest:
        return True
    try:
        decoded = base64.b64decode(expected + "=" * (-len(expected) % 4), altchars=b"-_" if "-" in expected
                                   or "_" in expected else None, validate=True)
    except (binascii.Error, ValueError):
        return False
    return decoded.hex() == digest


def _url_refused(exc: GraphError) -> bool:
    """The download URL no longer works (it lives about five minutes): a new lookup gives a fresh one."""
    return exc.http_status in (400, 403, 404, 410) and not exc.token_invalid


def download(client: GraphClient, media_id: str, max_bytes: int) -> tuple[bytes, MediaInfo]:
    info = client.media_info(media_id)
    if info.file_size is not None and info.file_size > max_bytes:
        raise GraphError.unexpected(f"the file is {info.file_size} bytes, over the limit of {max_bytes}",
                                    permanent=True)
    try:
        data = client.download(info.url, max_bytes=max_bytes)
    except GraphError as exc:
        if not _url_refused(exc):
            raise
        info = client.media_info(media_id)
        data = client.download(info.url, max_bytes=max_bytes)
    if info.sha256 and not sha256_matches(data, info.sha256):
        raise GraphError.unexpected("the downloaded file does not match WhatsApp's SHA-256")
    return data, info


def fetch_media(message_id: str) -> None:
    message = Message.objects(pk=message_id).first()
    kind = media_type(message.type) if message is not None else None
    if message is None or kind is None:
        return
    record = message.media or {}
    if record.get("status") == records.READY and storage().exists(str(record.get("key") or "")):
        return
    if not record:
        records.pending(message)
    tries = Message.count_media_try(message_id)
    media_id = stripped(dig(message.content, "id"))
    try:
        if not media_id:
            raise GraphError.unexpected("the message names no media id", permanent=True)
        data, info = download(graph.client(), media_id, kind.max_bytes)
        mime_type = info.mime_type or records.described(message)["mime_type"] or "application/octet-stream"
        key = storage().put(data, mime_type)
    except Exception as exc:
        again = not isinstance(exc, GraphError) or exc.retryable
        reason = exc.reason if isinstance(exc, GraphError) else str(exc)
        if again and tries < tries_allowed():
            log.warning("media of %s not fetched (try %d of %d): %s", message_id, tries, tries_allowed(), reason)
            raise MediaNotFetched(f"media of {message_id}: {reason}") from exc
        log.error("media of %s not fetched after %d tries: %s", message_id, tries, reason)
        records.failed(message, reason, tries=tries)
        return
    records.ready(message, key=key, size=len(data), mime_type=mime_type, tries=tries)
