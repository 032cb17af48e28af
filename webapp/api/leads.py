"""The leads API: the list (search, filters, pages), one lead, edits, notes, proposals decided, and the
CSV export of the current filter. Routes on the API blueprint (webapp/api/routes.py)."""

from __future__ import annotations

from typing import ClassVar, Literal

from flask import Response, stream_with_context
from pydantic import Field, field_validator

from ..auth import sent_by
from ..auth.documents import Agent
from ..core.clock import iso
from ..core.envelope import Success
from ..core.errors import NotFound
from ..core.openapi import answers, operation
from ..core.shapes import Shape
from ..core.validation import Lenient, Strict, problem
from ..leads import capture, export, queries
from ..leads.documents import Lead
from ..leads.schemas import Email, LeadName, LeadNote, LeadShape, LeadsQuery, NoteText, ProposalId, Stage, Tag
from ..whatsapp.numbers import WaId
from .models import NoQuery
from .routes import bp


class ExportQuery(LeadsQuery):
    """The list's filters (its paging is ignored: every matching lead is exported)."""


class LeadPath(Lenient):
    what: ClassVar[str] = "lead id"
    location: ClassVar[str] = "path"

    lead_id: WaId = Field(description="The lead's id: the contact's WhatsApp number.")


class ProposalPath(LeadPath):
    proposal_id: ProposalId = Field(description="The proposal's id.")


class NewLead(Strict):
    what: ClassVar[str] = "lead"
    wa_id: WaId = Field(alias="waId", description="A contact with a conversation.")


class LeadChanges(Strict):
    what: ClassVar[str] = "lead"

    stage: Stage | None = Field(None, description="The new stage (recorded in stageHistory).")
    tags: list[Tag] | None = Field(None, max_length=20, description="The tags, replacing them all.")
    owner: Email = Field(None, description="An active agent's email; null for nobody.")
    name: LeadName = Field(None, description="The lead's name.")

    @field_validator("owner")
    @classmethod
    def active_agent(cls, value: str | None) -> str | None:
        if value is not None:
            agent = Agent.by_email(value)
            if agent is None or not agent.active:
                raise problem("must be the email of an active agent, or null")
        return value


class NoteBody(Strict):
    what: ClassVar[str] = "note"
    text: NoteText = Field(description="The note (only agents see it).")


class Decision(Strict):
    what: ClassVar[str] = "decision"
    action: Literal["confirm", "discard"] = Field(
        description="confirm: the value joins the lead; discard: it does not.")


class LeadListMeta(Shape):
    total: int = Field(ge=0)
    page: int = Field(ge=1)
    count: int = Field(ge=0)
    has_more: bool = Field(alias="hasMore")


class LeadList(Success):
    data: list[LeadShape]
    meta: LeadListMeta


class LeadAnswer(Success):
    data: LeadShape


class NoteAnswer(Success):
    data: LeadNote


def _lead(lead_id: str) -> Lead:
    lead = Lead.objects(pk=lead_id).first()
    if lead is None:
        raise NotFound(f"There is no lead for {lead_id}.")
    return lead


@bp.get("/leads")
@operation("listLeads", tag="leads", resp=answers(
    HTTP_200=(LeadList, "A page of leads, most recently changed first."), HTTP_400=None, HTTP_401=None,
    HTTP_429=None, HTTP_503=None))
def list_leads(query: LeadsQuery) -> LeadList:
    """Leads, with search and filters"""
    leads, total = queries.page(query.filter(), limit=query.limit, offset=(query.page - 1) * query.limit)
    meta = LeadListMeta(total=total, page=query.page, count=len(leads),
                        has_more=(query.page - 1) * query.limit + len(leads) < total)
    return LeadList(message=f"{len(leads)} of {total} lead(s)", data=[LeadShape.of(lead) for lead in leads], meta=meta)


@bp.post("/leads")
@operation("createLead", tag="leads", resp=answers(
    HTTP_201=(LeadAnswer, "The contact's lead (made now, or the one there was)."), HTTP_400=None, HTTP_401=None,
    HTTP_403=None, HTTP_404="There is no conversation with this contact.", HTTP_415=None, HTTP_429=None,
    HTTP_503=None))
def create_lead(json: NewLead) -> tuple[LeadAnswer, int]:
    """Make a contact a lead"""
    conversation = capture.Conversation.for_wa_id(json.wa_id)
    if conversation is None:
        raise NotFound(f"There is no conversation with {json.wa_id}.")
    lead, created = capture.ensure(json.wa_id, name=conversation.contact_name, source="agent")
    return LeadAnswer(message="Lead made" if created else "Already a lead", data=LeadShape.of(lead)), 201


@bp.get("/leads/export")
@operation("exportLeads", tag="leads", resp=answers(
    HTTP_200=(None, "CSV (RFC 4180, UTF-8 with a byte-order mark): every lead the filters match."), HTTP_400=None,
    HTTP_401=None, HTTP_429=None, HTTP_503=None))
def export_leads(query: ExportQuery) -> Response:
    """Export leads as CSV

    Times are ISO-8601 UTC; a cell starting with =, +, -, @, tab or carriage return gets a leading apostrophe so
    spreadsheets never run it as a formula."""
    lines = export.lines(queries.every(query.filter()))
    response = Response(stream_with_context(lines), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = 'attachment; filename="leads.csv"'
    return response


@bp.get("/leads/<lead_id>")
@operation("getLead", tag="leads", resp=answers(
    HTTP_200=(LeadAnswer, "The lead."), HTTP_400=None, HTTP_401=None, HTTP_404="There is no such lead.",
    HTTP_429=None, HTTP_503=None))
def get_lead(path: LeadPath, query: NoQuery) -> LeadAnswer:
    """One lead, with its proposals, stage history and notes"""
    return LeadAnswer(message="Lead", data=LeadShape.of(_lead(path.lead_id)))


@bp.patch("/leads/<lead_id>")
@operation("updateLead", tag="leads", resp=answers(
    HTTP_200=(LeadAnswer, "The lead, changed."), HTTP_400=None, HTTP_401=None, HTTP_403=None,
    HTTP_404="There is no such lead.", HTTP_415=None, HTTP_429=None, HTTP_503=None))
def update_lead(path: LeadPath, query: NoQuery, json: LeadChanges) -> LeadAnswer:
    """Change a lead's stage, tags, owner or name

    Only the fields sent change; `owner: null` leaves it to nobody."""
    _lead(path.lead_id)
    given = json.model_fields_set
    lead = capture.update(path.lead_id, by=sent_by(), stage=json.stage, tags=json.tags,
                          owner=json.owner if "owner" in given else ..., name=json.name if "name" in given else ...)
    return LeadAnswer(message="Lead saved", data=LeadShape.of(lead))


@bp.post("/leads/<lead_id>/notes")
@operation("addLeadNote", tag="leads", resp=answers(
    HTTP_201=(NoteAnswer, "The note, with its author and time."), HTTP_400=None, HTTP_401=None, HTTP_403=None,
    HTTP_404="There is no such lead.", HTTP_415=None, HTTP_429=None, HTTP_503=None))
def add_lead_note(path: LeadPath, query: NoQuery, json: NoteBody) -> tuple[NoteAnswer, int]:
    """Add a note to a lead"""
    _lead(path.lead_id)
    note = capture.add_note(path.lead_id, json.text, author=sent_by())
    return NoteAnswer(message="Note added", data=LeadNote(id=note["id"], author=note["author"], text=note["text"],
                                                          at=iso(note["at"]))), 201


@bp.post("/leads/<lead_id>/proposals/<proposal_id>")
@operation("decideLeadProposal", tag="leads", resp=answers(
    HTTP_200=(LeadAnswer, "The lead, the proposal decided."), HTTP_400=None, HTTP_401=None, HTTP_403=None,
    HTTP_404="There is no such lead or proposal.", HTTP_415=None, HTTP_429=None, HTTP_503=None))
def decide_proposal(path: ProposalPath, query: NoQuery, json: Decision) -> LeadAnswer:
    """Confirm or discard a proposed detail"""
    _lead(path.lead_id)
    lead = capture.decide(path.lead_id, path.proposal_id, json.action, by=sent_by())
    return LeadAnswer(message="Confirmed" if json.action == "confirm" else "Discarded", data=LeadShape.of(lead))
