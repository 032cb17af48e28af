"""The inbox's jobs (run by `flask worker`, or in the web process without REDIS_URL).

tell_whatsapp_read: a read receipt (and the typing indicator) for the customer's latest message.

send_message: a stored `pending` message → Meta's Cloud API. Idempotent: a message that already has
its wamid, or is no longer pending, is left alone. A failure worth retrying raises (the queue tries
again with backoff) until the last try, which, like a permanent failure, turns the tick red with
Meta's code and a reason. A refused access token stops sending for everyone (webapp.graph.health).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from .. import graph
from ..core import bus
from ..core.jobs import is_last_attempt, retry_no_sooner_than
from ..graph.client import media_content, message_body, reaction_content, template_content, text_content
from ..graph.errors import GraphError
from ..graph.events import TokenStatusChanged
from ..graph.health import report_token_invalid, report_token_works, token_problem
from ..whatsapp.message_types import media_type
from .documents import Conversation, Message
from .writes import publish, record_send_failure, record_wamid

log = logging.getLogger(__name__)


class RetryLater(RuntimeError):
    """Raised so that the job queue tries again after its next interval."""


def retry_later(error: GraphError) -> RetryLater:
    """What a job raises to try again: not sooner than Meta asks (`Retry-After`, the pair-rate wait)."""
    if error.retry_after:
        retry_no_sooner_than(error.retry_after)
    return RetryLater(f"{error.message} (HTTP {error.http_status}, code {error.code})")


# Reads back a file this app sends (its media storage key -> its bytes), for the upload. The media package
# keeps the files, above this one: create_app registers its reader (read_files_with).
_file_reader: list[Callable[[str], bytes]] = []


def read_files_with(reader: Callable[[str], bytes]) -> None:
    _file_reader[:] = [reader]


def send_message(message_id: str) -> None:
    message = Message.objects(pk=message_id).first()
    if message is None or message.wamid or message.status not in ("pending", None):
        return
    problem = token_problem()
    if problem:
        publish(record_send_failure(message_id, {"code": 190, "title": "Sending stopped", "details": problem}))
        return
    try:
        body = _body(message)
        wamid = graph.client().send(body)
    except GraphError as error:
        _failed(message, error)
        return
    if report_token_works():
        bus.publish(TokenStatusChanged(problem=None))
    publish(record_wamid(message_id, wamid))


def _failed(message: Message, error: GraphError) -> None:
    if error.token_invalid:
        if report_token_invalid(error.reason):
            bus.publish(TokenStatusChanged(problem=error.reason))
    elif error.retryable and not is_last_attempt():
        log.warning("sending %s failed (%s); it will be tried again", message.id, error.message)
        raise retry_later(error)
    log.warning("sending %s failed for good: %s", message.id, error.message)
    publish(record_send_failure(message.id, error.as_status_error()))


def _body(message: Message) -> dict[str, Any]:
    """Meta's body for a stored message this app sends."""
    content = message.content if isinstance(message.content, dict) else {}
    if message.type == "text":
        reply_to = _wamid_of((message.context or {}).get("id"))
        return message_body(message.wa_id, "text", text_content(content.get("body", "")), reply_to=reply_to)
    if message.type == "reaction":
        target = _wamid_of(content.get("message_id"))
        if target is None:
            raise GraphError("The message reacted to has no WhatsApp id yet", details="not sent yet")
        return message_body(message.wa_id, "reaction", reaction_content(target, content.get("emoji", "")))
    if media_type(message.type) is not None and message.type != "sticker":
        return _media_body(message, content)
    if message.type == "template":
        return _template_body(message, content)
    raise GraphError(f"This app cannot send a {message.type!r} message yet", details="unsupported type")


def _media_body(message: Message, content: dict[str, Any]) -> dict[str, Any]:
    """A file by the id of its upload (uploaded once: the id is kept, so a retried send does not upload again)."""
    media_id = _uploaded_media_id(message)
    caption = content.get("caption") if message.type != "audio" else None
    filename = content.get("filename") if message.type == "document" else None
    reply_to = _wamid_of((message.context or {}).get("id"))
    return message_body(message.wa_id, message.type, media_content(media_id, caption=caption, filename=filename),
                        reply_to=reply_to)


def _uploaded_media_id(message: Message) -> str:
    record = dict(message.media or {})
    if record.get("whatsapp_id"):
        return str(record["whatsapp_id"])
    if not record.get("key") or not _file_reader:
        raise GraphError.unexpected("the file to send is not in the media storage", permanent=True)
    try:
        data = _file_reader[0](str(record["key"]))
    except Exception as exc:  # the storage's own error (webapp.media.storage): worth trying again
        raise GraphError.unexpected(f"the file to send cannot be read: {exc}") from None
    mime_type = str(record.get("mime_type") or "application/octet-stream")
    filename = str(record.get("filename") or f"{message.type}")
    media_id = graph.client().upload_media(data, mime_type, filename)
    Message.set_media(message.id, {**record, "whatsapp_id": media_id})
    return media_id


def _template_body(message: Message, content: dict[str, Any]) -> dict[str, Any]:
    parameters = [str(value) for value in content.get("parameters") or []]
    return message_body(message.wa_id, "template",
                        template_content(str(content.get("name", "")), str(content.get("language", "")), parameters))


def _wamid_of(message_id: Any) -> str | None:
    """Meta's id of a stored message: a received one's own id, or the wamid of one this app sent."""
    if not isinstance(message_id, str):
        return None
    target = Message.objects(pk=message_id).only("id", "wamid", "sent_by_app").first()
    if target is None:
        return None
    if target.sent_by_app is not None:
        return target.wamid
    return target.id


def tell_whatsapp_read(conversation_id: str, typing: bool = False) -> None:
    """The customer sees blue ticks on their latest message (and "typing…" with `typing`)."""
    conversation = Conversation.objects(pk=conversation_id).only("last_inbound").first()
    latest = (conversation.last_inbound or {}).get("id") if conversation is not None else None
    if not latest or token_problem():
        return
    try:
        graph.client().mark_read(latest, typing=typing)
    except GraphError as error:
        if error.token_invalid:
            if report_token_invalid(error.reason):
                bus.publish(TokenStatusChanged(problem=error.reason))
            return
        if error.retryable and not is_last_attempt():
            raise retry_later(error) from None
        log.warning("telling WhatsApp %s was read failed: %s", latest, error.message)

