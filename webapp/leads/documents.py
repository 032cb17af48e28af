"""Leads: one per contact who shows intent (`_id` is the contact's WhatsApp id). What the customer's
words or the AI suggest is kept as proposals until an agent confirms or discards each one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mongoengine import DateTimeField, DictField, Document, IntField, ListField, StringField

from ..core.clock import utcnow

STAGES = ("new", "contacted", "qualified", "proposal", "won", "lost")
STAGE_SCORE = {"new": 10, "contacted": 20, "qualified": 40, "proposal": 60, "won": 100, "lost": 0}
CONTACT_FIELDS = ("email", "phone")  # proposals of these add to the lead's lists when confirmed


class Lead(Document):
    id = StringField(primary_key=True)  # the contact's wa_id
    phone = StringField(required=True)  # E.164, from the WhatsApp id
    name = StringField(null=True)  # the WhatsApp profile name, or what an agent typed
    emails = ListField(StringField())  # confirmed
    phones = ListField(StringField())  # confirmed, besides `phone`
    fields = DictField()  # confirmed details the AI noticed: company, need, budget, ...
    proposals = ListField(DictField())  # {id, field, value, source, message_id, at, status}
    stage = StringField(default="new", choices=STAGES)
    stage_history = ListField(DictField())  # {stage, from, by, at}
    tags = ListField(StringField())
    notes = ListField(DictField())  # {id, author, text, at}
    owner = StringField(null=True)  # an agent's email
    score = IntField(default=STAGE_SCORE["new"])
    source = StringField(default="customer")  # what made it: customer (their words), ai, agent
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    last_message_at = DateTimeField(null=True)
    version = IntField(default=0)  # every change is a compare-and-set on it (webapp.leads.capture)

    meta = {"collection": "leads", "indexes": [{"fields": ["-updated_at"], "name": "recent_first"}]}

    def compute_score(self) -> int:
        """The stage's weight, plus 10 for each confirmed way to reach them and 5 for each confirmed
        detail; 0 when lost, 100 at most."""
        if self.stage == "lost":
            return 0
        reach = len(self.emails) + len(self.phones)
        return min(100, STAGE_SCORE[self.stage] + 10 * reach + 5 * len(self.fields))

    @property
    def open_proposals(self) -> list[dict[str, Any]]:
        return [p for p in self.proposals if p.get("status") == "proposed"]

    @property
    def email(self) -> str | None:
        return self.emails[0] if self.emails else None

    def touched(self, at: datetime | None = None) -> None:
        self.updated_at = at or utcnow()
        self.score = self.compute_score()


DOCUMENTS = (Lead,)
