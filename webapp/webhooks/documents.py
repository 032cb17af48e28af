"""The raw log: every accepted webhook body, stored before it is processed."""

from __future__ import annotations

from typing import Any

from mongoengine import BinaryField, DateTimeField, DictField, Document, IntField, StringField

from ..core.clock import utcnow


class WebhookEvent(Document):
    """Every accepted webhook body, exactly as received, stored before it is processed."""

    received_at = DateTimeField(default=utcnow, required=True)
    raw_body = BinaryField(required=True)
    source = StringField(default="webhook")  # webhook | simulation | replay
    signature = StringField(required=True)  # valid | not_checked
    outcome = StringField(default="received", choices=("received", "processed", "failed"))
    error = StringField(null=True)
    result = DictField()
    processed_at = DateTimeField(null=True)
    attempts = IntField(default=0)

    meta = {
        "collection": "webhook_events",
        "indexes": [{"fields": ["outcome", "received_at"], "name": "outcome_received"}],
    }

    def record_outcome(self, outcome: str, *, result: dict[str, Any] | None = None, error: str | None = None) -> None:
        self.outcome = outcome
        self.result = result or {}
        self.error = error
        self.processed_at = utcnow()
        self.attempts = (self.attempts or 0) + 1
        self.save()


DOCUMENTS: tuple[type[Document], ...] = (WebhookEvent,)
