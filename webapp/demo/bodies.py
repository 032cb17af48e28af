"""A small, realistic demo inbox, built as the webhook bodies Meta would have sent.

Several conversations covering every message type and every delivery status, dated relative
to now so that "today", "Yesterday" and older dates all show. Loaded by `flask seed-demo`
through the same receive_webhook() path as a real delivery.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from ..inbox.business import default_business

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR


class _Builder:
    def __init__(self, now: float) -> None:
        self.now = int(now)
        self.business = default_business()
        self.bodies: list[dict[str, Any]] = []
        self.count = 0

    def _id(self) -> str:
        self.count += 1
        return f"wamid.DEMO{self.count:04d}"

    def _body(self, value: dict[str, Any]) -> dict[str, Any]:
        value = {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": self.business.display_number,
                         "phone_number_id": self.business.phone_number_id},
            **value,
        }
        return {"object": "whatsapp_business_account",
                "entry": [{"id": "DEMO_WABA", "changes": [{"field": "messages", "value": value}]}]}

    def inbound(self, wa_id: str, name: str, ago: int, mtype: str, content: Any, **extra: Any) -> str:
        wamid = self._id()
        message = {"from": wa_id, "id": wamid, "timestamp": str(self.now - ago), "type": mtype, **extra}
        if content is not None:
            message[mtype] = content
        self.bodies.append(self._body({"contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
                                       "messages": [message]}))
        return wamid

    def outbound(self, wa_id: str, name: str, ago: int, body: str, *statuses: str, error: dict | None = None) -> str:
        wamid = self._id()
        message = {"from": self.business.display_number, "id": wamid, "timestamp": str(self.now - ago),
                   "type": "text", "text": {"body": body}}
        self.bodies.append(self._body({"contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
                                       "messages": [message]}))
        for step, status in enumerate(statuses, start=1):
            item: dict[str, Any] = {"id": wamid, "status": status, "timestamp": str(self.now - ago + step * 20),
                                    "recipient_id": wa_id}
            if status == "failed" and error:
                item["errors"] = [error]
            self.bodies.append(self._body({"statuses": [item]}))
        return wamid


def demo_bodies(now: float | None = None) -> Iterator[bytes]:
    b = _Builder(time.time() if now is None else now)

    ravi, ravi_name = "919937320320", "Ravi Kumar"
    b.inbound(ravi, ravi_name, 2 * DAY + 3 * HOUR, "text", {"body": "Hi, I'd like to know more about your services."})
    b.outbound(ravi, ravi_name, 2 * DAY + 3 * HOUR - 2 * MINUTE,
               "Hi Ravi! Sure, I'd be happy to help you with that. What are you looking for?", "sent", "delivered",
               "read")
    b.inbound(ravi, ravi_name, DAY + 2 * HOUR, "image",
                      {"id": "1479537139650973", "mime_type": "image/jpeg", "sha256": "demo",
                       "caption": "Is this model still available in blue?"})
    answer = b.outbound(ravi, ravi_name, DAY + HOUR, "Yes, in stock! It ships within 2 days.", "sent",
                        "delivered", "read")
    b.inbound(ravi, ravi_name, DAY + HOUR - 5 * MINUTE, "reaction", {"message_id": answer, "emoji": "👍"})
    b.inbound(ravi, ravi_name, DAY + 50 * MINUTE, "document",
              {"id": "1479537139650974", "mime_type": "application/pdf", "sha256": "demo",
               "filename": "purchase_order_0425.pdf", "caption": "Here is our PO"})
    b.outbound(ravi, ravi_name, DAY + 40 * MINUTE, "Thanks, received. I'll send the invoice today.", "sent",
               "delivered")

    neha, neha_name = "929967673820", "Neha Joshi"
    b.inbound(neha, neha_name, 3 * HOUR, "text", {"body": "Hello! Is the store on MG Road open on Sundays?"})
    b.outbound(neha, neha_name, 3 * HOUR - 4 * MINUTE, "Hi Neha, yes: 10am to 8pm every day.", "sent", "delivered",
               "read")
    b.inbound(neha, neha_name, 2 * HOUR, "location",
              {"latitude": 12.9756, "longitude": 77.6050, "name": "MG Road Metro",
               "address": "Mahatma Gandhi Rd, Bengaluru, Karnataka 560001"})
    b.inbound(neha, neha_name, 25 * MINUTE, "interactive",
              {"type": "button_reply", "button_reply": {"id": "confirm-visit", "title": "Confirm visit"}})
    b.inbound(neha, neha_name, 12 * MINUTE, "audio",
              {"id": "1479537139650975", "mime_type": "audio/ogg; codecs=opus", "sha256": "demo", "voice": True})

    kerry, kerry_name = "16315551234", "Kerry Fisher"
    b.inbound(kerry, kerry_name, 6 * DAY, "contacts",
              [{"name": {"formatted_name": "Sam Ortiz", "first_name": "Sam", "last_name": "Ortiz"},
                "phones": [{"phone": "+1 (631) 555-9876", "type": "CELL", "wa_id": "16315559876"}],
                "org": {"company": "Ortiz Logistics"}}])
    b.outbound(kerry, kerry_name, 5 * DAY, "Thanks Kerry, we'll reach out to Sam.", "sent", "failed",
               error={"code": 131047, "title": "Re-engagement message",
                      "message": "Re-engagement message",
                      "error_data": {"details": "Message failed to send because more than 24 hours have passed "
                                                "since the customer last replied to this number."}})
    b.inbound(kerry, kerry_name, 5 * HOUR, "button", {"payload": "TALK_TO_AGENT", "text": "Talk to an agent"})
    b.inbound(kerry, kerry_name, 5 * HOUR - 3 * MINUTE, "interactive",
              {"type": "list_reply",
               "list_reply": {"id": "billing", "title": "Billing question", "description": "Invoices and refunds"}})

    ahmed, ahmed_name = "971501234567", "Ahmed Hassan"
    b.inbound(ahmed, ahmed_name, 4 * DAY, "video",
              {"id": "1479537139650976", "mime_type": "video/mp4", "sha256": "demo", "caption": "Unboxing it now"})
    b.inbound(ahmed, ahmed_name, 4 * DAY - MINUTE, "sticker",
              {"id": "1479537139650977", "mime_type": "image/webp", "sha256": "demo", "animated": False})
    b.inbound(ahmed, ahmed_name, 4 * DAY - 2 * MINUTE, "unsupported", None,
              errors=[{"code": 131051, "title": "Message type unknown", "message": "Message type unknown",
                       "error_data": {"details": "Message type is currently not supported."}}])
    b.outbound(ahmed, ahmed_name, 4 * DAY - 10 * MINUTE, "Looks great! Enjoy it 🎉", "sent")

    maria, maria_name = "34612345678", "María García"
    question = b.inbound(maria, maria_name, 50 * MINUTE, "text", {"body": "¿Hacéis envíos a Canarias?"})
    b.outbound(maria, maria_name, 45 * MINUTE, "Sí, en 3-5 días laborables.", "sent", "delivered")
    b.inbound(maria, maria_name, 5 * MINUTE, "text", {"body": "Perfecto, ¡gracias!"},
              context={"from": maria, "id": question})
    b.inbound(maria, maria_name, 4 * MINUTE, "image",
              {"id": "1479537139650978", "mime_type": "image/jpeg", "sha256": "demo"},
              context={"forwarded": True})

    chen, chen_name = "8613800138000", "Chen Wei"
    b.inbound(chen, chen_name, 9 * DAY, "order",
              {"catalog_id": "demo", "product_items": [{"product_retailer_id": "SKU-1", "quantity": "2",
                                                         "item_price": "19.90", "currency": "EUR"}]})
    b.outbound(chen, chen_name, 9 * DAY - HOUR, "Order received, thank you!", "sent", "delivered", "read")

    for body in b.bodies:
        yield json.dumps(body).encode()
