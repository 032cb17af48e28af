"""A lead as the API answers it, and the filters the API and the Leads page read (declared once: the routes build
them, /openapi.json describes them)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import ClassVar, Literal

from pydantic import ConfigDict, Field, field_validator

from ..core.clock import as_utc, iso
from ..core.shapes import Shape
from ..core.validation import Strict, problem, text, whole_number
from .documents import Lead
from .queries import LeadFilter

Stage = Literal["new", "contacted", "qualified", "proposal", "won", "lost"]

DAY = text(required=False, max_length=10, pattern=r"\d{4}-\d{2}-\d{2}", pattern_problem="must be a date: YYYY-MM-DD")
Email = text(required=False, max_length=254, normalize=str.lower)
SearchText = text(required=False, max_length=100)
NoteText = text(max_length=4000)
Tag = text(max_length=40)
LeadName = text(required=False, max_length=100)
ProposalId = text(max_length=32, pattern="[0-9a-f]+", pattern_problem="must be a proposal id")
PageSize = whole_number(1, 200)
PageNumber = whole_number(1, 100000)


class LeadsQuery(Strict):
    what: ClassVar[str] = "query"
    location: ClassVar[str] = "query"

    q: SearchText = Field(None, description="Part of the name, number or email.")
    stage: Stage | None = Field(None, description="Only leads at this stage.")
    tag: SearchText = Field(None, description="Only leads with this tag.")
    owner: Email = Field(None, description='Only leads this agent owns (their email), or "none": nobody\'s.')
    from_: DAY = Field(None, alias="from", description="Made on or after this day (UTC).")
    to: DAY = Field(None, description="Made on or before this day (UTC).")
    limit: PageSize = Field(50, description="Leads per page.")
    page: PageNumber = Field(1, description="Which page, from 1.")

    @field_validator("stage", mode="before")
    @classmethod
    def any_stage(cls, value: object) -> object:
        return None if value == "" else value  # the page's "Any"

    @field_validator("from_", "to")
    @classmethod
    def real_day(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                date.fromisoformat(value)
            except ValueError:
                raise problem("must be a date: YYYY-MM-DD") from None
        return value

    def filter(self) -> LeadFilter:
        def day(value: str | None) -> datetime | None:
            return as_utc(datetime.combine(datetime.strptime(value, "%Y-%m-%d").date(), time())) if value else None

        until = day(self.to)
        return LeadFilter(q=self.q, stage=self.stage, tag=self.tag, owner=self.owner, since=day(self.from_),
                          until=until + timedelta(days=1) if until else None)



class LeadsPageQuery(LeadsQuery):
    """The Leads page's filters: as the API's, but a name the page does not know is ignored."""

    model_config = ConfigDict(extra="ignore")



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
