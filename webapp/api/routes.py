from __future__ import annotations

from flask import Blueprint, current_app, request

from .. import inbox
from ..errors import APIError, envelope
from ..outbound import send_text
from ..validation import Int, Text, json_object, validate

bp = Blueprint("api", __name__, url_prefix="/api")

WA_ID = Text("wa_id", phone=True, max_length=16)


def _wa_id(raw: str) -> str:
    return validate({"wa_id": raw}, [WA_ID], what="wa_id")["wa_id"]


@bp.get("/conversations")
def list_conversations():
    args = validate(
        request.args,
        [Int("limit", 50, 1, inbox.MAX_PAGE), Text("q", required=False, max_length=100),
         Text("before", required=False, phone=True)],
        what="query",
    )
    rows, has_more = inbox.conversations(limit=args["limit"], query=args["q"] or "", before_wa_id=args["before"])
    meta = {"hasMore": has_more, "before": rows[-1].wa_id if has_more and rows else None, "count": len(rows)}
    return envelope([c.to_api() for c in rows], f"{len(rows)} conversation(s)", meta=meta)


@bp.get("/messages/<wa_id>")
def list_messages(wa_id: str):
    wa_id = _wa_id(wa_id)
    args = validate(
        request.args,
        [Int("limit", inbox.DEFAULT_PAGE, 1, inbox.MAX_PAGE), Text("before", required=False, max_length=256),
         Text("phone_number_id", required=False, max_length=32)],
        what="query",
    )
    conversation = inbox.get_conversation(wa_id, args["phone_number_id"])
    page = inbox.message_page(conversation, limit=args["limit"], before_id=args["before"])
    data = [m.to_api(conversation.contact_name) for m in page.messages]
    return envelope(data, f"{len(data)} message(s)", meta=page.meta)


@bp.post("/messages")
def create_message():
    body = json_object(request)
    values = validate(
        body,
        [
            Text("waId", phone=True, max_length=16),
            Text("messageBody", max_length=current_app.config["MESSAGE_MAX_LENGTH"], strip=False),
            Text("from", required=False, phone=True, max_length=16),
            Text("to", required=False, phone=True, max_length=16),
        ],
        what="message",
    )
    if values["to"] and values["to"] != values["waId"]:
        raise APIError(400, "Invalid message: check to.", {"to": "must be the same number as waId"})
    message = send_text(values["waId"], values["messageBody"], sender=values["from"])
    conversation = inbox.get_conversation(values["waId"], message.phone_number_id)
    return envelope(message.to_api(conversation.contact_name), "Message sent", 201)


@bp.post("/conversations/<wa_id>/read")
def mark_read(wa_id: str):
    conversation = inbox.get_conversation(_wa_id(wa_id))
    inbox.mark_read(conversation)
    return envelope(conversation.to_api(), "Conversation marked read")

