"""The one write path for leads. A lead is made when a customer shows intent (contact details or
buying words in their message), when the AI notices lead details, or when an agent makes one; what the
customer's words or the AI suggest becomes a proposal an agent confirms or discards.

Every change is a compare-and-set on the lead's `version` (atomic on MongoDB; FerretDB's
read-modify-write is covered by the app's write lock as well), then LeadChanged is published."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from typing import Any

from mongoengine import NotUniqueError

from ..core import bus
from ..core.clock import utcnow
from ..core.db import write_lock
from ..core.errors import Invalid, NotFound
from ..core.jobs import enqueue
from ..inbox.documents import Conversation, Message
from ..inbox.events import MessageStored
from . import extract
from .documents import CONTACT_FIELDS, STAGES, Lead
from .events import LeadChanged

MAX_PROPOSALS = 200  # the oldest decided ones go first
MAX_NOTES = 500
MAX_TAGS = 20
TAG_LENGTH = 40


class Conflict(RuntimeError):
    """The lead kept changing under us (should not happen under the write lock)."""


def text_of(message: Message) -> str | None:
    """What the customer wrote: a text's body, a caption, or the text read from their file."""
    content = message.content if isinstance(message.content, dict) else {}
    body = content.get("body") or content.get("caption")
    extracted = getattr(message, "text_extract", None)
    if isinstance(extracted, dict) and extracted.get("text"):
        body = f"{body or ''}\n{extracted['text']}".strip()
    return body if isinstance(body, str) and body.strip() else None


# --- from the customer's words ------------------------------------------------------------------------------


def details_in(message: Message) -> list[tuple[str, str]] | None:
    """The contact details in a customer's message ([] when none), or None when it says nothing of
    interest to a lead (no details, no buying words)."""
    body = text_of(message) if message.direction == "inbound" else None
    if body is None:
        return None
    found = [("email", e) for e in extract.emails(body)] + \
            [("phone", p) for p in extract.phone_numbers(body, message.wa_id)]
    return found if found or extract.shows_intent(body) else None


def notice_message(message_id: str) -> None:
    """The job a customer's message starts: make or update the lead, with proposals for its details."""
    message = Message.objects(pk=message_id).first()
    if message is None:
        return
    found = details_in(message)
    if found is None and Lead.objects(pk=message.wa_id).only("id").first() is None:
        return
    contact = Conversation.objects(pk=message.conversation_id).only("contact_name").first()
    ensure(message.wa_id, name=contact.contact_name if contact else None, source="customer")
    propose(message.wa_id, found or [], source="customer", message_id=message.id, at_message=message.timestamp)


def on_message_stored(event: MessageStored) -> None:
    """A bus subscriber: a job only for messages of interest (details, intent, or a lead already there)."""
    message = event.fixed()
    if message is None or message.direction != "inbound":
        return
    if details_in(message) is not None or Lead.objects(pk=message.wa_id).only("id").first() is not None:
        enqueue(notice_message, event.message_id)


# --- the write path -----------------------------------------------------------------------------------------


def ensure(wa_id: str, *, name: str | None, source: str) -> tuple[Lead, bool]:
    """The contact's lead, made now when missing."""
    lead = Lead.objects(pk=wa_id).first()
    if lead is not None:
        return lead, False
    now = utcnow()
    lead = Lead(id=wa_id, phone=extract.e164(wa_id), name=name, source=source, created_at=now, updated_at=now,
                stage_history=[{"stage": "new", "from": None, "by": source, "at": now}])
    lead.score = lead.compute_score()
    try:
        lead.save(force_insert=True)
    except NotUniqueError:
        return Lead.objects(pk=wa_id).get(), False
    bus.publish(LeadChanged(wa_id, created=True))
    return lead, True


def change(wa_id: str, mutate: Callable[[Lead], bool]) -> Lead:
    """Apply `mutate` (True when it changed something) to the lead, atomically; publishes LeadChanged."""
    with write_lock():
        for _ in range(5):
            lead = Lead.objects(pk=wa_id).first()
            if lead is None:
                raise NotFound(f"There is no lead for {wa_id}.")
            version = lead.version
            if not mutate(lead):
                return lead
            lead.touched()
            stored = lead.to_mongo().to_dict()
            stored.pop("_id", None)
            stored["version"] = version + 1
            result = Lead._get_collection().update_one({"_id": wa_id, "version": version}, {"$set": stored})
            if result.matched_count == 1:
                lead.version = version + 1
                bus.publish(LeadChanged(wa_id))
                return lead
    raise Conflict(f"the lead {wa_id} kept changing")


def propose(wa_id: str, fields: Iterable[tuple[str, Any]], *, source: str, message_id: str | None = None,
            at_message: Any = None) -> Lead:
    """Proposals for the lead, once per (field, value): what was confirmed or discarded is not proposed again."""
    wanted = [(str(field)[:40], str(value).strip()[:300]) for field, value in fields
              if value is not None and str(value).strip()]

    def add(lead: Lead) -> bool:
        known = {(p["field"], p["value"].casefold()) for p in lead.proposals}
        known |= {("email", e.casefold()) for e in lead.emails} | {("phone", p) for p in lead.phones}
        known.add(("phone", lead.phone))
        changed = False
        if at_message is not None and (lead.last_message_at is None or at_message > lead.last_message_at):
            lead.last_message_at = at_message
            changed = True
        for field, value in wanted:
            if (field, value.casefold()) in known:
                continue
            known.add((field, value.casefold()))
            lead.proposals.append({"id": secrets.token_hex(6), "field": field, "value": value, "source": source,
                                   "message_id": message_id, "at": utcnow(), "status": "proposed"})
            changed = True
        if len(lead.proposals) > MAX_PROPOSALS:
            decided = [p for p in lead.proposals if p["status"] != "proposed"]
            drop = {p["id"] for p in decided[: len(lead.proposals) - MAX_PROPOSALS]}
            lead.proposals = [p for p in lead.proposals if p["id"] not in drop]
        return changed

    return change(wa_id, add)


def decide(wa_id: str, proposal_id: str, action: str, *, by: str) -> Lead:
    """Confirm (the value joins the lead) or discard a proposal."""
    if action not in ("confirm", "discard"):
        raise Invalid("Invalid decision: check action.", {"action": "must be confirm or discard"})

    def apply(lead: Lead) -> bool:
        proposal = next((p for p in lead.proposals if p["id"] == proposal_id), None)
        if proposal is None:
            raise NotFound(f"There is no proposal {proposal_id} on this lead.")
        if proposal["status"] != "proposed":
            return False
        proposal.update(status="confirmed" if action == "confirm" else "discarded", decided_by=by,
                        decided_at=utcnow())
        if action == "confirm":
            field, value = proposal["field"], proposal["value"]
            if field == "email" and value not in lead.emails:
                lead.emails.append(value)
            elif field == "phone" and value not in lead.phones:
                lead.phones.append(value)
            elif field == "name":
                lead.name = value
            elif field not in CONTACT_FIELDS:
                lead.fields[field] = value
        return True

    return change(wa_id, apply)


def update(wa_id: str, *, by: str, stage: str | None = None, tags: list[str] | None = None,
           owner: str | Any | None = ..., name: str | Any | None = ...) -> Lead:
    """An agent's edit: stage (recorded in the history), tags, owner (an email or None), name."""
    if stage is not None and stage not in STAGES:
        raise Invalid("Invalid lead: check stage.", {"stage": f"must be one of {', '.join(STAGES)}"})
    clean_tags = None if tags is None else normalize_tags(tags)

    def apply(lead: Lead) -> bool:
        changed = False
        if stage is not None and stage != lead.stage:
            lead.stage_history.append({"stage": stage, "from": lead.stage, "by": by, "at": utcnow()})
            lead.stage = stage
            changed = True
        if clean_tags is not None and clean_tags != list(lead.tags):
            lead.tags = clean_tags
            changed = True
        if owner is not ... and owner != lead.owner:
            lead.owner = owner
            changed = True
        if name is not ... and name != lead.name:
            lead.name = name
            changed = True
        return changed

    return change(wa_id, apply)


def normalize_tags(tags: list[str]) -> list[str]:
    clean: list[str] = []
    for tag in tags:
        tag = " ".join(str(tag).split()).lower()[:TAG_LENGTH]
        if tag and tag not in clean:
            clean.append(tag)
    if len(clean) > MAX_TAGS:
        raise Invalid("Invalid lead: check tags.", {"tags": f"at most {MAX_TAGS} tags"})
    return clean


def add_note(wa_id: str, text: str, *, author: str) -> dict[str, Any]:
    note = {"id": secrets.token_hex(6), "author": author, "text": text, "at": utcnow()}

    def apply(lead: Lead) -> bool:
        if len(lead.notes) >= MAX_NOTES:
            raise Invalid("Invalid note: this lead has too many notes.", {"text": f"at most {MAX_NOTES} notes"})
        lead.notes.append(note)
        return True

    change(wa_id, apply)
    return note
