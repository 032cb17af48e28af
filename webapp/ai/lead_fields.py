"""The lead details the model noticed become proposals on the contact's lead (webapp.leads), for an agent
to confirm or discard: the AI never writes a lead's confirmed details itself."""

from __future__ import annotations

from typing import Any

from ..core.bus import EventBus
from ..inbox.documents import Conversation
from ..leads import capture
from .events import LeadFieldsNoticed

FIELD_NAMES = {"full_name": "name", "fullname": "name", "e-mail": "email", "mail": "email", "telephone": "phone",
               "phone_number": "phone", "mobile": "phone"}


def propose(event: LeadFieldsNoticed) -> None:
    conversation = Conversation.objects(pk=event.conversation_id).only("wa_id", "contact_name").first()
    if conversation is None:
        return
    fields: list[tuple[str, Any]] = []
    for name, value in (event.fields or {}).items():
        if isinstance(value, (str, int, float)) and not isinstance(value, bool) and str(value).strip():
            key = str(name).strip().lower().replace(" ", "_")
            fields.append((FIELD_NAMES.get(key, key), value))
    if not fields:
        return
    capture.ensure(conversation.wa_id, name=conversation.contact_name, source="ai")
    capture.propose(conversation.wa_id, fields, source="ai", message_id=event.message_id)


def subscribe(bus: EventBus) -> None:
    bus.subscribe(LeadFieldsNoticed, propose)
