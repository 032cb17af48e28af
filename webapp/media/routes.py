"""This app's copy of received files: `GET /media/<message id>` serves one to signed-in agents and
API tokens (the guard's default deny), and `POST /media/<message id>/retry` fetches it again.

A file is served with its own type, inline only when a browser can show it as an image, a sound or a
video, and under a Content-Security-Policy that lets it run nothing (a customer chose these bytes)."""

from __future__ import annotations

import mimetypes

from flask import Blueprint, Response, jsonify, send_file
from flask.typing import ResponseReturnValue

from .. import graph
from ..core.envelope import Success
from ..core.errors import APIError, NotFound
from ..core.extensions import talisman
from ..inbox.documents import Message
from ..inbox.schemas import MEDIA_PATH, MessageMedia
from ..whatsapp.message_types import media_type
from . import records
from .fetching import request_fetch
from .storage import StorageError, storage

bp = Blueprint("media", __name__, url_prefix=MEDIA_PATH.rstrip("/"))

# The file's own response runs nothing and loads nothing, even opened as a page of its own.
FILE_POLICY = {"default-src": "'none'", "sandbox": ""}
INLINE_KINDS = {"image", "sticker", "audio", "video"}
INLINE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif", "audio/", "video/")
CACHE = "private, max-age=31536000, immutable"  # a key names its bytes: they never change


def _media_message(message_id: str) -> Message:
    message = Message.objects(pk=message_id).first()
    if message is None or media_type(message.type) is None:
        raise NotFound(f"No media message {message_id!r}.")
    return message


def download_name(message: Message, key: str, mime_type: str) -> str:
    filename = (message.media or {}).get("filename")
    if filename:
        return str(filename)
    extension = mimetypes.guess_extension(mime_type.split(";")[0].strip()) or ""
    return f"{message.type}-{key[:12]}{extension}"


@bp.get("/<path:message_id>")
@talisman(content_security_policy=FILE_POLICY)
def file(message_id: str) -> ResponseReturnValue:
    """The stored file, once fetched; 404 in the envelope before."""
    message = _media_message(message_id)
    record = message.media or {}
    key = str(record.get("key") or "")
    if record.get("status") != records.READY or not key:
        status = MessageMedia.of(message).status  # type: ignore[union-attr]
        raise NotFound(f"The file of {message_id!r} is not stored (status: {status}).")
    mime_type = str(record.get("mime_type") or "application/octet-stream")
    inline = message.type in INLINE_KINDS and mime_type.startswith(INLINE_TYPES)
    files = storage()
    try:
        path = files.local_path(key)
        if path is not None and not path.is_file():
            raise NotFound(f"The file of {message_id!r} is missing from the media storage.")
        source = path if path is not None else files.open(key)
    except StorageError as exc:
        raise APIError(503, f"The media storage cannot be read: {exc}") from None
    response: Response = send_file(source, mimetype=mime_type, as_attachment=not inline,
                                   download_name=download_name(message, key, mime_type), conditional=True,
                                   etag=key, max_age=None)
    if response.content_length is None and record.get("size") is not None:
        response.content_length = int(record["size"])
    response.headers["Cache-Control"] = CACHE
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.post("/<path:message_id>/retry")
def retry(message_id: str) -> ResponseReturnValue:
    """Fetch a received file again (after its tries failed); the bubble shows the outcome when it is known."""
    message = _media_message(message_id)
    if message.direction != "inbound":
        raise APIError(409, "Only files customers sent are fetched from WhatsApp.")
    if not graph.is_live():
        raise APIError(409, "Demo mode: there is no WhatsApp account to fetch files from.")
    record = message.media or {}
    if record.get("status") == records.READY and storage().exists(str(record.get("key") or "")):
        return jsonify(Success(message="The file is already stored.",
                               data=MessageMedia.of(message)).model_dump(mode="json")), 200
    request_fetch(message)
    return jsonify(Success(message="Fetching the file again.",
                           data=MessageMedia.of(message)).model_dump(mode="json")), 202
