"""Builders for webhook bodies in Meta's real shapes (see Meta's webhook reference)."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from tests.helpers.app import BUSINESS_NUMBER, PHONE_NUMBER_ID

RAVI = "919937320320"
NEHA = "929967673820"
_ids = itertools.count(1)


def wamid(label: str = "") -> str:
    return f"wamid.TEST{label}{next(_ids):06d}"


def value(
    *,
    messages: list[dict[str, Any]] | None = None,
    statuses: list[dict[str, Any]] | None = None,
    contacts: list[tuple[str, str]] | None = None,
    display_number: str = BUSINESS_NUMBER,
    phone_number_id: str = PHONE_NUMBER_ID,
) -> dict[str, Any]:
    v: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": display_number, "phone_number_id": phone_number_id},
    }
    if contacts:
        v["contacts"] = [{"profile": {"name": name}, "wa_id": wa_id} for wa_id, name in contacts]
    if messages is not None:
        v["messages"] = messages
    if statuses is not None:
        v["statuses"] = statuses
    return v


def meta_body(*values: dict[str, Any], entries: int = 1, field: str = "messages") -> dict[str, Any]:
    """Meta's native body; with entries > 1 the changes are spread over that many entries."""
    changes = [{"field": field, "value": v} for v in values]
    per_entry = max(1, -(-len(changes) // entries))
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {"id": "102290129340398", "changes": changes[i : i + per_entry]}
            for i in range(0, len(changes), per_entry)
        ],
    }


def wrapper_body(*values: dict[str, Any], payload_id: str = "conv1-msg1-user") -> dict[str, Any]:
    """The original assignment's wrapper, as in its sample files and Postman collection."""
    return {
        "payload_type": "whatsapp_webhook",
        "_id": payload_id,
        "metaData": {
            "entry": [
                {"changes": [{"field": "messages", "value": v} for v in values], "id": "30164062719905277"}
            ],
            "gs_app_id": "conv1-app",
            "object": "whatsapp_business_account",
        },
        "createdAt": "2025-08-06 12:00:00",
        "startedAt": "2025-08-06 12:00:00",
        "completedAt": "2025-08-06 12:00:01",
        "executed": True,
    }


def message(
    mtype: str,
    content: Any,
    *,
    sender: str = RAVI,
    id: str | None = None,
    timestamp: int = 1754400000,
    context: dict[str, Any] | None = None,
    to: str | None = None,
) -> dict[str, Any]:
    m: dict[str, Any] = {"from": sender, "id": id or wamid(), "timestamp": str(timestamp), "type": mtype}
    if content is not None:
        m[mtype] = content
    if context is not None:
        m["context"] = context
    if to is not None:
        m["to"] = to
    return m


def text(body: str, **kwargs: Any) -> dict[str, Any]:
    return message("text", {"body": body}, **kwargs)


def status(
    id: str,
    name: str,
    *,
    timestamp: int = 1754400100,
    recipient: str = RAVI,
    errors: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    s: dict[str, Any] = {
        "id": id,
        "status": name,
        "timestamp": str(timestamp),
        "recipient_id": recipient,
        "conversation": {"id": "CONVERSATION_ID", "origin": {"type": "service"}},
        "pricing": {"billable": True, "pricing_model": "PMP", "category": "service"},
    }
    if errors is not None:
        s["errors"] = errors
    return s


def inbound(*messages: dict[str, Any], name: str = "Ravi Kumar", wa_id: str = RAVI) -> dict[str, Any]:
    return meta_body(value(messages=list(messages), contacts=[(wa_id, name)]))


def statuses(*items: dict[str, Any]) -> dict[str, Any]:
    return meta_body(value(statuses=list(items)))


def raw(body: Any) -> bytes:
    return json.dumps(body).encode()


# --- builders added for the webhook pipeline's test suite ----------------------------------------


def outbound(body: str, *, to: str = RAVI, **kwargs: Any) -> dict[str, Any]:
    """A text message the business sent, as the wrapper's samples show it (`from` = the business)."""
    return text(body, sender=BUSINESS_NUMBER, to=to, **kwargs)


def reaction(target: str, emoji: str, **kwargs: Any) -> dict[str, Any]:
    return message("reaction", {"message_id": target, "emoji": emoji}, **kwargs)


def failure(code: int = 131047, title: str = "Re-engagement message",
            details: str = "More than 24 hours have passed since the customer last replied.") -> dict[str, Any]:
    """One entry of a failed status's `errors`, as Meta sends it."""
    return {"code": code, "title": title, "message": title, "error_data": {"details": details}}


# One sample of every message type, keyed by type: (content, expected preview).
SAMPLE_CONTENT: dict[str, tuple[Any, str]] = {
    "text": ({"body": "Hello there"}, "Hello there"),
    "image": ({"id": "MEDIA1", "mime_type": "image/jpeg", "sha256": "abc", "caption": "Our shop"}, "📷 Our shop"),
    "video": ({"id": "MEDIA2", "mime_type": "video/mp4", "sha256": "abc"}, "🎥 Video"),
    "audio": ({"id": "MEDIA3", "mime_type": "audio/ogg; codecs=opus", "sha256": "abc", "voice": True},
              "🎤 Voice message"),
    "document": ({"id": "MEDIA4", "mime_type": "application/pdf", "sha256": "abc", "filename": "invoice.pdf",
                  "caption": "Invoice"}, "📄 invoice.pdf"),
    "sticker": ({"id": "MEDIA5", "mime_type": "image/webp", "sha256": "abc", "animated": False}, "Sticker"),
    "location": ({"latitude": 12.97, "longitude": 77.59, "name": "MG Road Metro", "address": "Bengaluru"},
                 "📍 MG Road Metro"),
    "contacts": ([{"name": {"formatted_name": "Asha Rao", "first_name": "Asha"},
                   "phones": [{"phone": "+91 99000 11111", "type": "CELL", "wa_id": "919900011111"}]}],
                 "👤 Asha Rao"),
    "interactive": ({"type": "button_reply", "button_reply": {"id": "yes-1", "title": "Yes, book it"}},
                    "Yes, book it"),
    "button": ({"payload": "STOP_PROMOS", "text": "Stop promotions"}, "Stop promotions"),
    "system": ({"body": "Ravi changed their phone number", "type": "user_changed_number"},
               "Ravi changed their phone number"),
    "order": ({"catalog_id": "CAT1", "product_items": [{"product_retailer_id": "SKU1", "quantity": "2",
                                                         "item_price": "10", "currency": "INR"}]}, "🛒 Order"),
    "ephemeral": ({"future": "field"}, "Unsupported message"),
}


def now(offset: int = 0) -> int:
    """Unix seconds two minutes ago (plus `offset`): a recent WhatsApp timestamp."""
    return int(time.time()) - 120 + offset
