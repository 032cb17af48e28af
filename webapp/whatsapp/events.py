"""Typed events parsed out of a webhook body: what the write path applies."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Direction = Literal["inbound", "outbound"]

# Order of meaning. `failed` ranks above `sent` (a failure after sending shows) and below
# `delivered` (a message the phone received is not shown as failed).
STATUS_RANK: dict[str, int] = {"pending": 0, "sent": 1, "failed": 2, "delivered": 3, "read": 4}
STATUS_BY_RANK: dict[int, str] = {rank: name for name, rank in STATUS_RANK.items()}


@dataclass(frozen=True)
class Business:
    """The business number a change was addressed to."""

    phone_number_id: str
    display_number: str


@dataclass(frozen=True)
class MessageEvent:
    wamid: str
    business: Business
    contact_wa_id: str
    contact_name: str | None
    direction: Direction
    sender: str
    recipient: str
    type: str
    content: Any  # the object under the message's type key, as WhatsApp sent it
    timestamp: datetime
    context: dict[str, Any] | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    sent_by: str | None = None  # set when sent from this app: the agent's email or "token:<name>"
    awaiting_send: bool = False  # stored before the Cloud API is called: its first tick is `pending`
    media: dict[str, Any] | None = None  # a file this app sends: its record, stored with the message

    @property
    def conversation_id(self) -> str:
        return conversation_id(self.business.phone_number_id, self.contact_wa_id)


@dataclass(frozen=True)
class ReactionEvent:
    """A reaction: attaches to `target_wamid`; an empty emoji removes the sender's reaction."""

    wamid: str
    business: Business
    contact_wa_id: str
    contact_name: str | None
    direction: Direction
    sender: str
    target_wamid: str
    emoji: str
    timestamp: datetime

    @property
    def conversation_id(self) -> str:
        return conversation_id(self.business.phone_number_id, self.contact_wa_id)


@dataclass(frozen=True)
class StatusEvent:
    wamid: str
    status: str
    timestamp: datetime
    business: Business
    recipient_id: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rank(self) -> int:
        return STATUS_RANK[self.status]


Event = MessageEvent | ReactionEvent | StatusEvent


@dataclass(frozen=True)
class WebhookBatch:
    shape: Literal["meta", "wrapper"]
    events: list[Event]
    ignored: list[str]  # changes of other fields, and statuses we do not know, by name


def conversation_id(phone_number_id: str, wa_id: str) -> str:
    """Deterministic id of the conversation between a business number and a contact."""
    return f"{phone_number_id}:{wa_id}"
