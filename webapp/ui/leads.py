"""The Leads page (a filtered table with the stage changed in place, and the CSV export of the same
filter), a lead's page (proposals to confirm or discard, stage history, tags, owner, notes, the chat),
and "Make a lead" from a chat. Plain forms that post and come back (no script needed)."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from ..auth import guard, sent_by
from ..auth.accounts import all_agents
from ..auth.documents import Agent
from ..core.errors import Invalid, NotFound
from ..core.validation import parse
from ..inbox import queries as inbox
from ..inbox.documents import Conversation
from ..inbox.schemas import ContactPath
from ..leads import capture, queries
from ..leads.documents import STAGES, Lead
from ..leads.schemas import LeadsPageQuery

bp = Blueprint("leads_ui", __name__)

PAGE_SIZE = 50


@bp.app_template_global()
def lead_for(wa_id: str) -> Lead | None:
    """The contact's lead, for the chat header (one `_id` lookup)."""
    return Lead.objects(pk=wa_id).first()


def _lead(lead_id: str) -> Lead:
    wa_id = parse(ContactPath, {"wa_id": lead_id}).wa_id
    lead = Lead.objects(pk=wa_id).first()
    if lead is None:
        raise NotFound(f"There is no lead for {wa_id}.")
    return lead


def _back(default: str) -> str:
    return guard.safe_next(request.form.get("next")) or default


@bp.get("/leads")
def leads() -> ResponseReturnValue:
    try:
        query = parse(LeadsPageQuery, request.args)
        problems: dict[str, str] = {}
    except Invalid as exc:
        query, problems = LeadsPageQuery(), exc.errors or {}
    found, total = queries.page(query.filter(), limit=PAGE_SIZE, offset=(query.page - 1) * PAGE_SIZE)
    filters = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "leads.html", page_title="Leads", leads=found, total=total, query=query, problems=problems, stages=STAGES,
        tags=queries.tags_in_use(), agents=[a for a in all_agents() if a.active], filters=filters,
        export_url=url_for("api.export_leads") + ("?" + urlencode(filters) if filters else ""),
        here=request.full_path.rstrip("?"),
        next_page=url_for("leads_ui.leads", **filters, page=query.page + 1) if query.page * PAGE_SIZE < total else None,
        previous_page=url_for("leads_ui.leads", **filters, page=query.page - 1) if query.page > 1 else None,
    )


@bp.get("/leads/<lead_id>")
def lead(lead_id: str) -> ResponseReturnValue:
    found = _lead(lead_id)
    agents = {a.email: a.name for a in all_agents()}
    return render_template("lead.html", page_title=found.name or found.phone, lead=found, stages=STAGES,
                           agents=[a for a in all_agents() if a.active], agent_names=agents,
                           has_chat=Conversation.for_wa_id(found.id) is not None)


@bp.post("/leads/<lead_id>/stage")
def change_stage(lead_id: str) -> ResponseReturnValue:
    found = _lead(lead_id)
    capture.update(found.id, by=sent_by(), stage=request.form.get("stage", "")[:20])
    flash(f"{found.name or found.phone}: stage saved.")
    return redirect(_back(url_for("leads_ui.leads")), 303)


@bp.post("/leads/<lead_id>")
def edit(lead_id: str) -> ResponseReturnValue:
    found = _lead(lead_id)
    owner = request.form.get("owner", "")[:254].strip().lower() or None
    if owner is not None and (Agent.by_email(owner) is None):
        raise Invalid("Invalid lead: check owner.", {"owner": "must be an agent's email"})
    tags = [t for t in request.form.get("tags", "")[:1000].split(",")]
    name = request.form.get("name", "")[:100].strip() or None
    capture.update(found.id, by=sent_by(), tags=tags, owner=owner, name=name)
    flash("Lead saved.")
    return redirect(url_for("leads_ui.lead", lead_id=found.id), 303)


@bp.post("/leads/<lead_id>/notes")
def add_note(lead_id: str) -> ResponseReturnValue:
    found = _lead(lead_id)
    text = request.form.get("text", "")[:4000].strip()
    if not text:
        raise Invalid("Invalid note: check text.", {"text": "must not be empty"})
    capture.add_note(found.id, text, author=sent_by())
    return redirect(url_for("leads_ui.lead", lead_id=found.id) + "#notes", 303)


@bp.post("/leads/<lead_id>/proposals/<proposal_id>")
def decide(lead_id: str, proposal_id: str) -> ResponseReturnValue:
    found = _lead(lead_id)
    capture.decide(found.id, proposal_id[:32], request.form.get("action", "")[:10], by=sent_by())
    return redirect(_back(url_for("leads_ui.lead", lead_id=found.id)), 303)


@bp.post("/c/<wa_id>/lead")
def make_lead(wa_id: str) -> ResponseReturnValue:
    conversation = inbox.get_conversation(parse(ContactPath, {"wa_id": wa_id}).wa_id)
    made, _ = capture.ensure(conversation.wa_id, name=conversation.contact_name, source="agent")
    return redirect(url_for("leads_ui.lead", lead_id=made.id), 303)
