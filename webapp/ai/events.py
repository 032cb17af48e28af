"""What webapp.ai tells the event bus (webapp.core.bus)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class LeadFieldsNoticed:
    """The model noticed lead fields (name, email, company, interest, ...) in a conversation it answered.
    `message_id` is the customer's message it was answering. The leads package subscribes to it."""

    conversation_id: str
    fields: dict[str, Any] = field(hash=False)
    message_id: str
