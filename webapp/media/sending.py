"""Files the business sends (an image, a document, an audio, a video): checked against WhatsApp's limits
before anything is stored, kept in the media storage (so the bubble shows the file at once, from
/media/<message id>), then sent through webapp.inbox.sending like a text: the same window and token
checks, stored `pending`, and the send job uploads the file to WhatsApp and sends it by its media id.

A request carrying a file may be larger than MAX_CONTENT_LENGTH (which caps every other request): the
upload routes (UPLOAD_ENDPOINTS) take up to UPLOAD_MAX_LENGTH, the largest file WhatsApp takes (a
100 MB document) and the form around it."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass

from flask import Flask, request

from ..core.errors import APIError, Invalid
from ..inbox import sending
from ..inbox import tasks as inbox_tasks
from ..inbox.documents import Message
from . import records
from .storage import key_of, storage

MB = 1024 * 1024
UPLOAD_MAX_LENGTH = 101 * MB
UPLOAD_ENDPOINTS = {"api.send_media", "ui.send_media"}
CAPTION_MAX_LENGTH = 1024  # WhatsApp's limit for a media caption


@dataclass(frozen=True)
class Kind:
    name: str
    max_bytes: int
    mime_types: frozenset[str] | None  # None: any type


# WhatsApp's limits for sending (https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media).
KINDS = {
    "image": Kind("image", 5 * MB, frozenset({"image/jpeg", "image/png"})),
    "video": Kind("video", 16 * MB, frozenset({"video/mp4", "video/3gpp"})),
    "audio": Kind("audio", 16 * MB, frozenset({"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"})),
    "document": Kind("document", 100 * MB, None),
}
# What the first bytes of an image are: a file named .png must be one (browsers show images inline).
IMAGE_SIGNATURES = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}


def mime_type_of(declared: str | None, filename: str) -> str:
    """The file's type: as the client declared it, else guessed from its name."""
    mime_type = (declared or "").split(";")[0].strip().lower()
    if not mime_type or mime_type == "application/octet-stream":
        mime_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    return mime_type


def kind_for(mime_type: str) -> str:
    """The kind a file is sent as when the sender does not say: a document unless WhatsApp takes it as media."""
    for kind in ("image", "video", "audio"):
        types = KINDS[kind].mime_types
        if types is not None and mime_type in types:
            return kind
    return "document"


def check(kind: str, data: bytes, mime_type: str, caption: str | None) -> None:
    """Refuse (4xx naming the field) a file WhatsApp would refuse."""
    spec = KINDS.get(kind)
    if spec is None:
        raise Invalid("Invalid file: check kind.", {"kind": f"must be one of {', '.join(KINDS)}"})
    if not data:
        raise Invalid("Invalid file: the file is empty.", {"file": "is empty"})
    if len(data) > spec.max_bytes:
        raise APIError(413, f"The file is too large: WhatsApp takes a {kind} of at most {spec.max_bytes // MB} MB, "
                            f"this one is {len(data) / MB:.1f} MB. Nothing was sent.",
                       {"file": f"is larger than {spec.max_bytes // MB} MB"})
    if spec.mime_types is not None and mime_type not in spec.mime_types:
        allowed = ", ".join(sorted(spec.mime_types))
        raise APIError(415, f"WhatsApp does not take a {kind} of type {mime_type}: only {allowed} "
                            "(send it as a document instead). Nothing was sent.", {"file": f"is {mime_type}"})
    signature = IMAGE_SIGNATURES.get(mime_type) if kind == "image" else None
    if signature is not None and not data.startswith(signature):
        raise APIError(415, f"The file is not a {mime_type} image. Nothing was sent.",
                       {"file": f"is not a {mime_type} image"})
    if caption and kind == "audio":
        raise Invalid("Invalid file: WhatsApp sends no caption with an audio.", {"caption": "not allowed for audio"})
    if caption and len(caption) > CAPTION_MAX_LENGTH:
        raise Invalid("Invalid file: check caption.", {"caption": f"is longer than {CAPTION_MAX_LENGTH} characters"})


def send_media(wa_id: str, data: bytes, *, mime_type: str | None, filename: str, caption: str | None, sent_by: str,
               kind: str | None = None, reply_to: str | None = None) -> Message:
    """Check the file, store it, and send it (webapp.inbox.sending): the message, as stored."""
    filename = filename.replace("\\", "/").rsplit("/", 1)[-1].strip() or "file"
    mime_type = mime_type_of(mime_type, filename)
    kind = kind or kind_for(mime_type)
    caption = (caption or "").strip() or None
    check(kind, data, mime_type, caption)
    sending.check_can_send(wa_id)  # before the file is stored: a refused send keeps nothing
    sending.reply_context(wa_id, reply_to)
    key = storage().put(data, mime_type)
    record = {"status": records.READY, "tries": 0, "key": key, "sha256": key_of(data), "size": len(data),
              "mime_type": mime_type, "filename": filename if kind == "document" else None}
    content = {"mime_type": mime_type, "sha256": key}
    if caption:
        content["caption"] = caption
    if kind == "document":
        content["filename"] = filename
    return sending.send_media(wa_id, kind, content, record, sent_by=sent_by, reply_to=reply_to)


def read_file(key: str) -> bytes:
    """A stored file's bytes (the send job's reader: webapp.inbox.tasks.read_files_with)."""
    return storage().get(key)


def init_app(app: Flask) -> None:
    """The send job reads files from the media storage, and the upload routes take a file up to
    UPLOAD_MAX_LENGTH (a hook that runs before any that reads the body: call this before auth.init_app)."""
    inbox_tasks.read_files_with(read_file)

    @app.before_request
    def _upload_limit() -> None:
        if request.endpoint in UPLOAD_ENDPOINTS:
            request.max_content_length = UPLOAD_MAX_LENGTH
