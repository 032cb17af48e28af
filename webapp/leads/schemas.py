"""A lead as the API answers it (declared once: the routes build it, /openapi.json describes it)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..core.clock import iso
from ..core.shapes import Shape
from .documents import Lead

Stage = Literal["new", "contacted", "qualified", "proposal", "won", "lost"]


class Proposal(Shape):
    """A detail the customer's words or the AI suggested, waiting for an agent (or decided)."""

    id: str
    field: str = Field(description="email, phone, name, or a detail the AI noticed (company, need, budget, …).")
    value: str
    source: str = Field(description="customer (found in their message) or ai.")
    message_id: str | None = Field(alias="messageId")
    at: str | None
    status: Literal["proposed", "confirmed", "discarded"]


class StageChange(Shape):
    stage: Stage
    previous: Stage | None = Field(alias="from")
    by: str
    at: str | None


class LeadNote(Shape):
    id: str
    author: str
    text: str
    at: str | None


class LeadShape(Shape):
    id: str = Field(description="The contact's WhatsApp number (the lead's id).")
    wa_id: str
    phone: str = Field(description="The WhatsApp number in E.164.")
    name: str | None
    emails: list[str] = Field(description="Confirmed email addresses.")
    phones: list[str] = Field(description="Confirmed other phone numbers (E.164).")
    details: dict[str, str] = Field(description="Confirmed details the AI noticed.")
    proposals: list[Proposal]
    stage: Stage
    stage_history: list[StageChange] = Field(alias="stageHistory")
    tags: list[str]
    notes: list[LeadNote]
    owner: str | None = Field(description="The email of the agent who owns it.")
    score: int = Field(ge=0, le=100, description="Stage weight + 10 per confirmed contact + 5 per detail.")
    source: str
    created_at: str | None = Field(alias="createdAt")
    updated_at: str | None = Field(alias="updatedAt")
    last_message_at: str | None = Field(alias="lastMessageAt")

    @classmethod
    def of(cls, lead: Lead) -> LeadShape:
        return cls(
            id=lead.id, wa_id=lead.id, phone=lead.phone, name=lead.name, emails=list(lead.emails),
            phones=list(lead.phones), details={str(k): str(v) for k, v in lead.fields.items()},
            proposals=[Proposal(id=p["id"], field=p["field"], value=p["value"], source=p.get("source") or "customer",
                                message_id=p.get("message_id"), at=iso(p.get("at")), status=p["status"])
                       for p in lead.proposals],
            stage=lead.stage,
            stage_history=[StageChange(stage=h["stage"], previous=h.get("from"), by=h.get("by") or "",
                                       at=iso(h.get("at"))) for h in lead.stage_history],
            tags=list(lead.tags),
            notes=[LeadNote(id=n["id"], author=n["author"], text=n["text"], at=iso(n.get("at"))) for n in lead.notes],
            owner=lead.owner, score=lead.score, source=lead.source or "customer", created_at=iso(lead.created_at),
            updated_at=iso(lead.updated_at), last_message_at=iso(lead.last_message_at),
        )
