"""Demo mode's jobs (RQ tasks; see webapp.core.jobs): the statuses WhatsApp would send back."""

from __future__ import annotations

import json
from datetime import datetime

from ..core.clock import utcnow
from ..inbox.business import default_business
from ..webhooks.receive import receive_webhook
from ..whatsapp.signature import SignatureVerdict


class SimulationFailed(RuntimeError):
    """The simulated webhook was stored but not applied: raised so the job is retried."""


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


def deliver_status(wamid: str, wa_id: str, status: str) -> None:
    """Receive the `status` webhook for a message the app sent, through the same path as Meta's
    (kept in the raw log, source `simulation`). Idempotent: a status only moves a tick forward, so a
    retry, a requeue or a status arriving after a later one changes nothing more."""
    business = default_business()
    body = status_webhook_body(wamid, wa_id, status, utcnow(), business.phone_number_id, business.display_number)
    receipt = receive_webhook(body, signature=SignatureVerdict.NOT_CHECKED, source="simulation")
    if receipt.outcome != "processed":
        raise SimulationFailed(f"simulated {status} for {wamid}: {receipt.error}")
