"""Messages the business sends from this app: stored through the one write path, then published.

No real WhatsApp message is sent yet. In demo mode (SIMULATE_DELIVERY) the `delivered` and `read`
statuses come back a moment later as Meta-shaped webhook bodies (webapp.demo.delivery).
"""

from __future__ import annotations

import uuid

from ..core.clock import utcnow
from ..whatsapp.events import MessageEvent
from .business import default_business
from .documents import Message
from .writes import apply_events, publish


def send_text(wa_id: str, body: str, *, sender: str | None = None, sent_by: str = "api") -> Message:
    """Store an outbound text message (status `sent`) and tell the event bus."""
    business = default_business()
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
        timestamp=utcnow(),
        sent_by=sent_by,
    )
    report = apply_events([event])
    publish(report)
    return Message.objects.get(pk=wamid)
