from __future__ import annotations

from flask import Blueprint, request

from ..auth import sent_by
from ..core.errors import APIError, envelope
from ..inbox import queries as inbox
from ..inbox.sending import send_text
from ..schemas import CONTACT_PATH, CONVERSATIONS_QUERY, MESSAGES_QUERY, NO_QUERY, SEND_MESSAGE

bp = Blueprint("api", __name__, url_prefix="/api")


def _wa_id() -> str:
    return CONTACT_PATH.validate(request)["wa_id"]


@bp.get("/conversations")
def list_conversations():
    args = CONVERSATIONS_QUERY.validate(request)
    rows, has_more = inbox.conversations(limit=args["limit"], query=args["q"] or "", before_wa_id=args["before"])
    meta = {"hasMore": has_more, "before": rows[-1].wa_id if has_more and rows else None, "count": len(rows)}
    return envelope([c.to_api() for c in rows], f"{len(rows)} conversation(s)", meta=meta)


@bp.get("/messages/<wa_id>")
def list_messages(wa_id: str):
    wa_id = _wa_id()
    args = MESSAGES_QUERY.validate(request)
    conversation = inbox.get_conversation(wa_id, args["phone_number_id"])
    page = inbox.message_page(conversation, limit=args["limit"], before_id=args["before"])
    data = [m.to_api(conversation.contact_name) for m in page.messages]
    return envelope(data, f"{len(data)} message(s)", meta=page.meta)


@bp.post("/messages")
def create_message():
    NO_QUERY.validate(request)
    values = SEND_MESSAGE.validate(request)
    if values["to"] and values["to"] != values["waId"]:
        raise APIError(400, "Invalid message: check to.", {"to": "must be the same number as waId"})
    message = send_text(values["waId"], values["messageBody"], sender=values["from"], sent_by=sent_by())
    conversation = inbox.get_conversation(values["waId"], message.phone_number_id)
    return envelope(message.to_api(conversation.contact_name), "Message sent", 201)


@bp.post("/conversations/<wa_id>/read")
def mark_read(wa_id: str):
    NO_QUERY.validate(request)
    conversation = inbox.get_conversation(_wa_id())
    inbox.mark_read(conversation)
    return envelope(conversation.to_api(), "Conversation marked read")

