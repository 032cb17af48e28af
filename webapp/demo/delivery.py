"""Demo mode's delivery: with SIMULATE_DELIVERY on, a message sent from the app gets `delivered`
and then `read` a moment later, as the status webhooks Meta would send.

One delayed job per status (webapp.demo.tasks.deliver_status), not one job that sleeps between
them: a worker runs one job at a time, so a sleeping job would hold up every other; and each status
is retried on its own. Delayed jobs need the worker's scheduler, which `flask worker` always runs.
"""

from __future__ import annotations

from flask import current_app

from ..core.bus import EventBus
from ..core.jobs import enqueue
from ..inbox.events import MessageStored
from .tasks import deliver_status


def subscribe(bus: EventBus) -> None:
    bus.subscribe(MessageStored, _on_message_stored)


def _on_message_stored(event: MessageStored) -> None:
    message = event.fixed()
    if message is None or message.direction != "outbound" or not message.sent_by_app:
        return
    delivered_after = current_app.config["SIMULATE_DELIVERED_AFTER"]
    read_after = max(current_app.config["SIMULATE_READ_AFTER"], delivered_after)
    enqueue(deliver_status, message.id, message.wa_id, "delivered", delay=delivered_after)
    enqueue(deliver_status, message.id, message.wa_id, "read", delay=read_after)
