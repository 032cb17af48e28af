"""The webhook bodies WhatsApp (Meta) delivers, as pydantic models: what /openapi.json publishes for
POST /webhook. They describe; webapp/whatsapp/parse.py validates (it names the JSON path of each
problem), and tests/api/test_openapi.py checks that this description accepts what the parser accepts."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, RootModel, WithJsonSchema

from ..core.shapes import Described, Shape
from .numbers import WaId

UnixTime = Annotated[str | int, WithJsonSchema({
    "description": "Unix seconds, as a string (WhatsApp's way) or a number.",
    "anyOf": [{"type": "string", "pattern": "^[0-9]{1,10}$"}, {"type": "integer", "minimum": 0, "maximum": 9999999999}],
})]
WamId = Annotated[str, WithJsonSchema({"type": "string", "minLength": 1, "maxLength": 512, "pattern": r"\S"})]
KEPT_OBJECT = "Kept as sent; no key may start with `$` or contain `.` (400 naming its path)."


class Open(Shape):
    """WhatsApp adds fields over time: the ones not named here are kept in the raw log."""

    model_config = ConfigDict(extra="allow")


class WebhookText(Open):
    body: str


class WebhookReaction(Open):
    message_id: WamId
    emoji: str | None = Field(None, max_length=32, description="Empty removes the reaction.")


class WebhookMessage(Open):
    """A message a contact sent (or the business sent from another device: `from` is the business's
    number, and `to` or the change's first contact says to whom). Its content is under its type's name.
    Kept as sent; no key may start with `$` or contain `.` (400 naming its path)."""

    id: WamId = Field(description="wamid")
    sender: WaId = Field(alias="from")
    to: WaId | None = None
    timestamp: UnixTime
    type: str | None = Field(None, min_length=1, max_length=64, examples=["text"],
                             description="Any type is stored; unknown ones show as unsupported. "
                                         "Default: `unsupported`.")
    text: WebhookText | None = None
    reaction: WebhookReaction | None = None
    context: dict[str, Any] | None = Field(None, description="The message replied to or forwarded.")
    errors: list[dict[str, Any]] | None = None


class WebhookErrorData(Open):
    details: str | None = None


class WebhookError(Open):
    code: int | None = None
    title: str | None = None
    message: str | None = None
    error_data: WebhookErrorData | None = None


class WebhookStatus(Open):
    """A delivery status of a message the business sent. Other status names are ignored."""

    id: WamId = Field(description="The wamid of the message.")
    status: str = Field(min_length=1, examples=["sent", "delivered", "read", "failed"])
    timestamp: UnixTime
    recipient_id: WaId | None = None
    errors: list[WebhookError] | None = Field(None, description="Why it failed. " + KEPT_OBJECT)


class WebhookMetadata(Open):
    """The business number written to; default: BUSINESS_DISPLAY_NUMBER and PHONE_NUMBER_ID."""

    display_phone_number: WaId | None = None
    phone_number_id: str | None = Field(None, pattern="^[0-9]{1,32}$")


class WebhookProfile(Open):
    name: str | None = None


class WebhookContact(Open):
    wa_id: WaId | None = None
    profile: WebhookProfile | None = None


class WebhookValue(Open):
    messaging_product: Literal["whatsapp"] | None = None
    metadata: WebhookMetadata | None = None
    contacts: list[WebhookContact] | None = None
    messages: list[WebhookMessage] | None = None
    statuses: list[WebhookStatus] | None = None


class WebhookChange(Open):
    field: str = Field("messages", description="Only `messages` is processed; other fields are kept in the raw log.")
    value: WebhookValue


class WebhookEntry(Open):
    id: str | None = Field(None, description="The WhatsApp Business Account id.")
    changes: list[WebhookChange]


class MetaWebhookBody(Open):
    """Meta's body."""

    object: Literal["whatsapp_business_account"]
    entry: list[WebhookEntry]


class WrapperMetaData(Open):
    entry: list[WebhookEntry]
    gs_app_id: str | None = None
    object: Literal["whatsapp_business_account"] | None = None


class WrapperWebhookBody(Open):
    """The assignment's wrapper: Meta's entries under `metaData`; the other fields are kept in the raw log only."""

    payload_type: Literal["whatsapp_webhook"]
    id: str | None = Field(None, alias="_id")
    meta_data: WrapperMetaData = Field(alias="metaData")
    executed: bool | None = None


_ENTRY = {
    "id": "WABA_ID",
    "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "918329446654", "phone_number_id": "629305560276479"},
        "contacts": [{"profile": {"name": "Ravi Kumar"}, "wa_id": "919937320320"}],
        "messages": [{"from": "919937320320", "id": "wamid.EXAMPLE1", "timestamp": "1754400000", "type": "text",
                      "text": {"body": "Hi, I'd like to know more about your services."}}],
    }}],
}
META_EXAMPLE: dict[str, Any] = {"object": "whatsapp_business_account", "entry": [_ENTRY]}
WRAPPER_EXAMPLE: dict[str, Any] = {
    "payload_type": "whatsapp_webhook", "_id": "conv1-msg1-user",
    "metaData": {"entry": [_ENTRY], "gs_app_id": "conv1-app", "object": "whatsapp_business_account"},
    "executed": True,
}


class WebhookBody(RootModel[MetaWebhookBody | WrapperWebhookBody]):
    """Meta's webhook body, or the same entries in the assignment's wrapper. A body with any malformed part is
    refused whole (400 naming the JSON path of each problem)."""

    model_config = ConfigDict(json_schema_extra={"examples": [META_EXAMPLE, WRAPPER_EXAMPLE]})

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("schema_generator", Described)
        return super().model_json_schema(*args, **kwargs)
