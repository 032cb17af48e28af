"""Webhook jobs (RQ tasks; see webapp.core.jobs)."""

from __future__ import annotations

from .documents import WebhookEvent
from .receive import replay_event


class DeliveryFailed(RuntimeError):
    """Processing a stored delivery failed again: raised so the job is retried."""


def process_delivery(event_id: str) -> None:
    """Process a stored delivery that failed (`flask webhooks replay --failed --queue`). Idempotent:
    applying a delivery again stores nothing twice, and one already processed is left alone."""
    event = WebhookEvent.objects(pk=event_id).first()
    if event is None or event.outcome == "processed":
        return
    receipt = replay_event(event)
    if receipt.outcome != "processed":
        raise DeliveryFailed(f"delivery {event_id} failed again: {receipt.error}")
