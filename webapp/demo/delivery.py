"""Demo mode's delivery: with SIMULATE_DELIVERY on, a message sent from the app gets `delivered`
and then `read` a moment later, as the status webhooks Meta would send, through the same
receive path as real ones (so they are in the raw log, source `simulation`)."""

from __future__ import annotations

import json
import logging
from datetime import datetime

from flask import Flask, current_app

from ..core.bus import EventBus
from ..core.clock import utcnow
from ..core.extensions import socketio
from ..inbox.business import default_business
from ..inbox.documents import Message
from ..inbox.events import MessageStored
from ..webhooks.receive import receive_webhook
from ..whatsapp.signature import SignatureVerdict

log = logging.getLogger(__name__)


def status_webhook_body(wamid: str, wa_id: str, status: str, at: datetime, phone_number_id: str,
                        display_number: str) -> bytes:
    """A status webhook exactly as Meta would send it."""
    status_item = {"id": wamid, "status": status, "timestamp": str(int(at.timestamp())), "recipient_id": wa_id}
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": display_number, "phone_number_id": phone_number_id},
        "statuses": [status_item],
    }
    body = {"object": "whatsapp_business_account",
            "entry": [{"id": "SIMULATED_WABA", "changes": [{"field": "messages", "value": value}]}]}
    return json.dumps(body).encode()


def subscribe(bus: EventBus) -> None:
    bus.subscribe(MessageStored, _on_message_stored)


def _on_message_stored(event: MessageStored) -> None:
    message = Message.objects(pk=event.message_id).only("id", "wa_id", "direction", "sent_by_app").first()
    if message is None or message.direction != "outbound" or not message.sent_by_app:
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    socketio.start_background_task(simulate_delivery, app, message.id, message.wa_id)


def simulate_delivery(app: Flask, wamid: str, wa_id: str) -> None:
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
