"""What the webhook's routes accept and answer, declared once (validation and /openapi.json)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from ..core.envelope import Success
from ..core.shapes import Shape
from ..core.validation import Lenient, text

Mode = text(required=False, max_length=32)
Token = text(required=False, max_length=256, strip=False)


class HandshakeQuery(Lenient):
    """Meta's handshake. Unknown parameters are ignored: Meta may add some."""

    what: ClassVar[str] = "query"
    location: ClassVar[str] = "query"

    mode: Mode = Field(None, alias="hub.mode", description="`subscribe`.", examples=["subscribe"])
    verify_token: Token = Field(None, alias="hub.verify_token", description="Must equal WHATSAPP_VERIFY_TOKEN.")
    challenge: Token = Field(None, alias="hub.challenge", description="Echoed back when the token matches.",
                             examples=["1158201444"])


class SignatureHeaders(Lenient):
    """Checked by webapp/whatsapp/signature.py on the raw body, before anything is read."""

    location: ClassVar[str] = "header"

    signature: str | None = Field(
        None, alias="X-Hub-Signature-256", pattern="^sha256=[0-9a-f]{64}$",
        description="`sha256=` and the HMAC-SHA256 of the raw body with WHATSAPP_APP_SECRET. Required when that "
                    "setting is set (then a missing or wrong one is a 401).")


class EventFailureShape(Shape):
    """An event of the delivery that could not be applied (the others were): kept for a replay."""

    index: int = Field(ge=0, description="Its place among the delivery's messages and statuses, in order.")
    id: str = Field(description="The message's, reaction's or status's wamid.")
    kind: Literal["message", "reaction", "status"]
    error: str = Field(description="Why it could not be applied.")


class WebhookResult(Shape):
    """The delivery is stored (`eventId`); what processing it did. `failed`: stored, and the events in
    `failures` (only those) will be applied again by the worker's sweep or `flask webhooks replay --failed`.
    `queued` (WEBHOOK_APPLY=queued): stored, and a worker applies it; the counts are then 0."""

    event_id: str = Field(alias="eventId")
    outcome: Literal["processed", "failed", "queued"]
    stored: int = Field(ge=0, description="Messages (and reactions) stored.")
    duplicates: int = Field(ge=0, description="Messages already stored (WhatsApp delivers again).")
    statuses_applied: int = Field(alias="statusesApplied", ge=0)
    statuses_stale: int = Field(alias="statusesStale", ge=0, description="Statuses older than the one shown.")
    statuses_deferred: int = Field(alias="statusesDeferred", ge=0,
                                   description="Statuses for a message not stored yet; applied when it comes.")
    reactions_applied: int = Field(alias="reactionsApplied", ge=0)
    reactions_deferred: int = Field(alias="reactionsDeferred", ge=0)
    ignored: list[str] = Field(description="Change fields and statuses kept in the raw log only.")
    failures: list[EventFailureShape] = Field(default_factory=list,
                                              description="The events not applied (the others were), and why.")


class WebhookReceipt(Success):
    data: WebhookResult
