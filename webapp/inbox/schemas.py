"""What the inbox shows, declared once: the JSON shapes of a message and a conversation (the API
answers with them, the realtime push emits them, /openapi.json describes them), and the request
fields the API and the pages share (a contact's number, a search, a message cursor)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import quote

from pydantic import ConfigDict, Field, WithJsonSchema

from ..core.clock import iso
from ..core.shapes import Shape
from ..core.validation import Lenient, text
from ..whatsapp.events import STATUS_RANK
from ..whatsapp.message_types import dig, media_type, preview, stripped
from ..whatsapp.numbers import OptionalWaId, WaId
from . import documents

RAVI = "919937320320"  # the example contact in the README and the demo inbox

Status = Literal[tuple(STATUS_RANK)]  # type: ignore[valid-type]  # pending, sent, failed, delivered, read
Direction = Literal["inbound", "outbound"]
ConversationStatus = Literal["open", "pending", "resolved"]
IsoTime = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time",
                                         "description": "ISO-8601, UTC (`Z`)."})]
TICK = ("The delivery tick of a message the business sent; `null` for a message received without a status.")

# --- the shapes the inbox shows --------------------------------------------------------------------------


class TextContent(Shape):
    model_config = ConfigDict(extra="allow")

    body: str


class MessageError(Shape):
    """Why WhatsApp could not deliver the message (shown while `status` is `failed`)."""

    code: int | str | None
    title: str
    details: str | None


class Reaction(Shape):
    emoji: str
    sender: str = Field(alias="from")
    timestamp: IsoTime | None


MediaStatus = Literal["pending", "ready", "failed", "unavailable"]
MEDIA_PATH = "/media/"  # + the message id: this app's copy of a received file (webapp.media)


def media_url(message_id: str) -> str:
    return MEDIA_PATH + quote(message_id, safe="")


class MessageMedia(Shape):
    """The file of an image, video, audio, document or sticker message, as this app keeps it."""

    url: str = Field(description="This app's address for the file (`/media/<message id>`, signed in or with an "
                                 "API token); it serves the file once `status` is `ready`, 404 before.")
    mime_type: str | None = Field(alias="mimeType")
    size: int | None = Field(description="Bytes, once stored.")
    sha256: str | None = Field(description="Hex SHA-256 of the file, as WhatsApp gave it and as stored.")
    filename: str | None = Field(description="A document's file name, as the customer sent it.")
    status: MediaStatus = Field(description=(
        "`pending`: being fetched from WhatsApp (failed tries are retried); `ready`: stored, served at `url`; "
        "`failed`: every try failed (the inbox offers a retry); `unavailable`: not fetched (demo mode, or a "
        "message the business sent)."))

    @classmethod
    def of(cls, message: documents.Message | Mapping[str, Any]) -> MessageMedia | None:
        """The file of a message (see `Message.of`)."""
        if isinstance(message, documents.Message):  # converted only when it has a file (the pages ask for every bubble)
            if media_type(message.type) is None:
                return None
            message = message.to_mongo()
        if media_type(message["type"]) is None:
            return None
        record = message.get("media") or {}
        status = record.get("status") if record.get("status") in ("pending", "ready", "failed") else "unavailable"
        content = message.get("content")
        return cls(url=media_url(message["_id"]),
                   mime_type=record.get("mime_type") or stripped(dig(content, "mime_type")) or None,
                   size=record.get("size"), sha256=record.get("sha256") or stripped(dig(content, "sha256")) or None,
                   filename=record.get("filename") or stripped(dig(content, "filename")) or None, status=status)


class Message(Shape):
    """A message. Its content is under its type's name (`text.body`, `image.caption`, `location.name`, …)
    as WhatsApp sent it, or under `content` when that name is not a plain identifier or is taken."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(description="The message's id, stable from the moment it is stored: WhatsApp's wamid for a "
                                "message received; for one sent from this app, the id it was stored under "
                                "(`wamid` holds WhatsApp's once it is accepted).")
    wa_id: str = Field(description="The contact's number.")
    contact_name: str | None = Field(alias="contactName")
    sender: str = Field(alias="from")
    recipient: str = Field(alias="to")
    direction: Direction
    type: str = Field(examples=["text", "image", "location", "reaction", "unsupported"])
    preview: str = Field(description="One line for the conversation list.")
    timestamp: IsoTime
    status: Status | None = Field(description=TICK)
    status_timestamps: dict[Status, IsoTime] = Field(alias="statusTimestamps",
                                                     description="When each status was first reached.")
    error: MessageError | None
    reactions: list[Reaction]
    context: dict[str, Any] | None = Field(description="The message this one replies to or forwards.")
    sent_by: str | None = Field(alias="sentBy",
                                description="Who sent it from this app: an agent's email or `token:<name>`.")
    wamid: str | None = Field(description="WhatsApp's id for a message this app sent, once WhatsApp accepted it "
                                          "(`id` stays the same from the moment it is stored).")
    media: MessageMedia | None = Field(description="The file of a media message; `null` for other types.")
    text: TextContent | None = Field(None, exclude_if=lambda value: value is None)
    content: Any = Field(None, exclude_if=lambda value: value is None,
                         description="The content, when it is not under the type's name.")
    errors: list[dict[str, Any]] | None = Field(None, exclude_if=lambda value: value is None,
                                                description="WhatsApp's errors on a received message.")
    extracted_text: str | None = Field(None, alias="extractedText", exclude_if=lambda value: value is None,
                                       description="The text read from a received image or PDF (its text layer, "
                                                   "or OCR), once read; absent before, or when there is none.")

    FIXED: ClassVar[frozenset[str]] = frozenset()  # the keys every message has (set below)

    @classmethod
    def of(cls, message: documents.Message | Mapping[str, Any], contact_name: str | None = None) -> Message:
        """A message document, or a message as stored (its fields by their stored names, as a page of the
        timeline gives them: absent fields are their defaults)."""
        stored = message.to_mongo() if isinstance(message, documents.Message) else message
        mtype, content, direction = stored["type"], stored.get("content"), stored["direction"]
        rank = stored.get("status_rank") or 0
        sent_by = stored.get("sent_by_app")
        item: dict[str, Any] = {
            "id": stored["_id"],
            "wa_id": stored["wa_id"],
            "contactName": contact_name,
            "from": stored["from"],
            "to": stored["to"],
            "direction": direction,
            "type": mtype,
            "preview": preview(mtype, content),
            "timestamp": iso(stored["timestamp"]),
            "status": documents.status_name(rank, direction),
            "statusTimestamps": {name: iso(at) for name, at in (stored.get("status_times") or {}).items()},
            "error": documents.shown_error(rank, direction, stored.get("error")),
            "reactions": documents.visible_reactions(stored.get("reactions")),
            "context": stored.get("context") or None,
            "sentBy": sent_by,
            "wamid": stored.get("wamid") if sent_by else stored["_id"],
            "media": MessageMedia.of(stored),
        }
        if content is not None:
            # Under the type's name (`text`, `image`, …) unless that name is taken by a field above.
            named = mtype.isidentifier() and mtype not in cls.FIXED and mtype != "errors"
            item[mtype if named else "content"] = content
        if stored.get("errors"):
            item["errors"] = stored["errors"]
        extract = stored.get("text_extract") or {}
        if extract.get("status") == "done" and str(extract.get("text") or "").strip():
            item["extractedText"] = extract["text"]
        return cls.model_validate(item)


Message.FIXED = frozenset(field.alias or name for name, field in Message.model_fields.items()
                          if field.is_required())


class Conversation(Shape):
    """A conversation with a contact, summarised by its latest message (`id` … `direction`)."""

    id: str | None = Field(description="The latest message's id (wamid).")
    wa_id: str = Field(description="The contact's WhatsApp number, digits only.")
    contact_name: str | None = Field(alias="contactName")
    sender: str | None = Field(alias="from")
    recipient: str | None = Field(alias="to")
    type: str | None
    text: TextContent | None = Field(description="The latest message's preview as `text.body`.")
    preview: str
    timestamp: IsoTime | None
    status: Status | None = Field(description=TICK)
    direction: Direction | None
    unread_count: int = Field(alias="unreadCount", ge=0)
    last_message_at: IsoTime | None = Field(alias="lastMessageAt")
    phone_number_id: str = Field(alias="phoneNumberId", description="The business number's id the contact wrote to.")
    conversation_status: ConversationStatus = Field(
        alias="conversationStatus",
        description="open, pending (the AI is handling it) or resolved; `status` is the latest message's tick.")
    assignee: str | None = Field(description="The email of the agent it is assigned to.")

    @classmethod
    def of(cls, conversation: documents.Conversation) -> Conversation:
        last = conversation.last_message
        return cls(
            id=last.id if last else None,
            wa_id=conversation.wa_id,
            contact_name=conversation.contact_name or None,
            sender=last.sender if last else None,
            recipient=last.recipient if last else None,
            type=last.type if last else None,
            text=TextContent(body=last.preview) if last else None,
            preview=last.preview if last else "",
            timestamp=iso(last.timestamp) if last else None,
            status=documents.status_name(last.status_rank, last.direction) if last else None,
            direction=last.direction if last else None,
            unread_count=conversation.unread_count,
            last_message_at=iso(conversation.last_message_at),
            phone_number_id=conversation.phone_number_id,
            conversation_status=conversation.status or documents.OPEN,
            assignee=conversation.assignee,
        )


# --- what the API and the pages both accept ----------------------------------------------------------------

SearchText = text(required=False, max_length=100)
MessageCursor = text(required=False, max_length=256)
SEARCH = ("Only conversations whose contact name (any case or accents), number (digits, also typed with + or "
          "spaces) or a message's text contains this text.")
MESSAGE_CURSOR = "Paging cursor: the `meta.before` of the previous page (a message id)."
CONVERSATION_CURSOR = "Paging cursor: the `meta.before` of the previous page (a contact's wa_id)."


class MessagePath(Lenient):
    """A message in a URL: /api/messages/<message_id>/reaction."""

    what: ClassVar[str] = "message id"
    location: ClassVar[str] = "path"

    message_id: MessageCursor = Field(description="The message's id, as the API gives it.")


class ContactPath(Lenient):
    """The contact in a URL: /c/<wa_id>, /api/messages/<wa_id>."""

    what: ClassVar[str] = "wa_id"
    location: ClassVar[str] = "path"

    wa_id: WaId = Field(description="The contact's WhatsApp number: 5 to 20 digits, optionally after a +.",
                        examples=[RAVI])


__all__ = ["CONVERSATION_CURSOR", "ContactPath", "Conversation", "Message", "MessageCursor", "MessagePath",
           "OptionalWaId",
           "SearchText"]
