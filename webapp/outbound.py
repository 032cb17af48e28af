"""Messages the business sends from this app, and their simulated delivery.

No real WhatsApp message is sent yet: a sent message goes through the same write path as a
webhook's, and when SIMULATE_DELIVERY is on, its `delivered` and `read` statuses come back a
moment later as Meta-shaped webhook bodies through receive_webhook(), like real ones would.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime

from flask import Flask, current_app

from .extensions import socketio
from .ingest import apply_events, default_business, receive_webhook
from .models import Message, utcnow
from .notify import notify
from .whatsapp.events import MessageEvent
from .whatsapp.signature import SignatureVerdict

log = logging.getLogger(__name__)


def send_text(wa_id: str, body: str, *, sender: str | None = None, sent_by: str = "api") -> Message:
    """Store an outbound text message (status `sent`) and, when simulating, schedule its ticks."""
    business = default_business()
    now = utcnow()
    wamid = f"wamid.APP_SIMULATION.{uuid.uuid4()}"
    event = MessageEvent(
        wamid=wamid,
        business=business,
        contact_wa_id=wa_id,
        contact_name=None,
        direction="outbound",
        sender=sender or business.display_number,
        recipient=wa_id,
        type="text",
        content={"body": body},
        timestamp=now,
        sent_by=sent_by,
    )
    report = apply_events([event])
    notify(report.changes)
    if current_app.config["SIMULATE_DELIVERY"]:
        socketio.start_background_task(_simulate_delivery, current_app._get_current_object(), wamid, wa_id)  # type: ignore[attr-defined]
    return Message.objects.get(pk=wamid)


def status_webhook_body(wamid: str, wa_id: str, status: str, at: datetime, phone_number_id: str,
                        display_number: str) -> bytes:
    """A status webhook exactly as Meta would send it."""
    return json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "SIMULATED_WABA",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {"display_phone_number": display_number,
                                             "phone_number_id": phone_number_id},
                                "statuses": [
                                    {
                                        "id": wamid,
                                        "status": status,
                                        "timestamp": str(int(at.timestamp())),
                                        "recipient_id": wa_id,
                                    }
                                ],
                            },
                        }
                    ],
                }
            ],
        }
    ).encode()


def _simulate_delivery(app: Flask, wamid: str, wa_id: str) -> None:
    delivered_after = app.config["SIMULATE_DELIVERED_AFTER"]
    read_after = app.config["SIMULATE_READ_AFTER"]
    steps = [("delivered", delivered_after), ("read", max(read_after - delivered_after, 0))]
    with app.app_context():
        business = default_business()
        for status, delay in steps:
            socketio.sleep(delay)
            body = status_webhook_body(wamid, wa_id, status, utcnow(), business.phone_number_id,
                                       business.display_number)
            try:
                receive_webhook(body, signature=SignatureVerdict.NOT_CHECKED, source="simulation")
            except Exception:
                log.exception("simulated %s status for %s failed", status, wamid)
                return
