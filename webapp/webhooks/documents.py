"""The raw log: every accepted webhook body, stored before it is processed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import Binary, ObjectId
from mongoengine import BinaryField, DateTimeField, DictField, Document, IntField, ListField, StringField
from pymongo import WriteConcern

from ..core.clock import utcnow
from ..core.group_insert import GroupInsert

JOURNALED = WriteConcern(w=1, j=True)
_stored_together = GroupInsert()


class WebhookEvent(Document):
    """Every accepted webhook body, exactly as received, stored before it is processed.

    `outcome`: `received` until every event is applied (a process that dies, or a database that goes
    away, leaves it so: the worker's sweep and `flask webhooks replay --failed` apply it again once it
    is older than WEBHOOK_STUCK_AFTER), `processed`, or `failed` when some events could not be applied:
    `failures` names each (its index in the batch, its id, the reason), and a replay applies just those."""

    received_at = DateTimeField(default=utcnow, required=True)
    raw_body = BinaryField(required=True)
    source = StringField(default="webhook")  # webhook | simulation | replay
    signature = StringField(required=True)  # valid | not_checked
    outcome = StringField(default="received", choices=("received", "processed", "failed"))
    error = StringField(null=True)
    result = DictField()
    processed_at = DateTimeField(null=True)
    attempts = IntField(default=0)
    failures = ListField(DictField())  # [{index, id, kind, error}] of the events not applied

    meta = {
        "collection": "webhook_events",
        "indexes": [{"fields": ["outcome", "received_at"], "name": "outcome_received"}],
    }

    @classmethod
    def store(cls, raw: bytes, *, source: str, signature: str) -> dict[str, Any]:
        """Store a delivery as received (journaled), and return what was stored (`from_stored` makes it a document).

        The webhook's fast path: the fields are written as `to_mongo()` would (MongoEngine's validation and
        change tracking cost as much as the insert), and deliveries that arrive together in this process
        are committed together (core.group_insert)."""
        fields = {"_id": ObjectId(), "received_at": utcnow(), "raw_body": Binary(raw), "source": source,
                  "signature": signature, "outcome": "received", "error": None, "result": {}, "processed_at": None,
                  "attempts": 0, "failures": []}
        _stored_together.insert(cls._get_collection().with_options(write_concern=JOURNALED), fields)
        return fields

    @classmethod
    def from_stored(cls, fields: dict[str, Any]) -> WebhookEvent:
        return cls._from_son(fields)

    @classmethod
    def prune(cls, before: datetime) -> int:
        """Delete the processed deliveries received before `before`; how many."""
        return cls._get_collection().delete_many({"outcome": "processed", "received_at": {"$lt": before}}).deleted_count

    def record_outcome(self, outcome: str, *, result: dict[str, Any] | None = None, error: str | None = None,
                       failures: list[dict[str, Any]] | None = None) -> None:
        self.outcome = outcome
        self.result = result or {}
        self.error = error
        self.failures = failures or []
        self.processed_at = utcnow()
        self.attempts = (self.attempts or 0) + 1
        self.save()


DOCUMENTS: tuple[type[Document], ...] = (WebhookEvent,)
