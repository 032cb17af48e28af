"""What the JSON API accepts and answers, declared once: spectree validates each request with these
models, the routes answer with them, and /openapi.json is generated from them (webapp/core/openapi.py).

The API's request models are strict: an unknown or repeated query parameter or body field is a 400
naming it (a typo such as `?limt=5` is not silently ignored)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import ConfigDict, Field, PlainValidator, ValidationInfo, WithJsonSchema, field_validator
from werkzeug.datastructures import FileStorage

from ..analytics.schemas import Analytics
from ..core.envelope import PageMeta, Success
from ..core.shapes import Shape
from ..core.validation import Lenient, Strict, problem, text, whole_number
from ..inbox.queries import DEFAULT_PAGE, MAX_PAGE
from ..inbox.schemas import (
    CONVERSATION_CURSOR,
    MESSAGE_CURSOR,
    RAVI,
    SEARCH,
    Conversation,
    ConversationStatus,
    IsoTime,
    Message,
    MessageCursor,
    OptionalWaId,
    SearchText,
)
from ..ocr import queries as ocr_queries
from ..ocr import schemas as ocr_schemas
from ..ocr.schemas import ContactFilter, DateFilter, FileCursor, HasTextFilter, KindFilter, ReceivedDocument, TextFilter
from ..whatsapp.numbers import WaId

PageSize = whole_number(1, MAX_PAGE)
ListFilter = Literal["mine", "unassigned", "all", "unread", "resolved"]
LIST_FILTER = ("`mine`: assigned to you and not resolved; `unassigned`: nobody's and not resolved; `all`: every "
               "conversation; `unread`: with unread messages; `resolved`: resolved.")
Digits = text(required=False, max_length=32, pattern="[0-9]+", pattern_problem="must be digits")
MessageText = text(max_length="MESSAGE_MAX_LENGTH", strip=False)
Emoji = text(required=False, max_length=32)
DocumentPageSize = whole_number(1, ocr_queries.MAX_PAGE)

# --- requests --------------------------------------------------------------------------------------------


class ConversationsQuery(Strict):
    what: ClassVar[str] = "query"
    location: ClassVar[str] = "query"

    limit: PageSize = Field(50, description="How many conversations, most recent first.")
    q: SearchText = Field(None, description=SEARCH)
    before: OptionalWaId = Field(None, description=CONVERSATION_CURSOR)
    filter: ListFilter = Field("all", description=LIST_FILTER)


class MessagesQuery(Strict):
    what: ClassVar[str] = "query"
    location: ClassVar[str] = "query"

    limit: PageSize = Field(DEFAULT_PAGE, description="How many messages: the latest, oldest first.")
    before: MessageCursor = Field(None, description=MESSAGE_CURSOR)
    phone_number_id: Digits = Field(
        None, description="The business number's id, when the contact wrote to more than one; default: the latest.")


class NoQuery(Strict):
    """No query parameters: any is refused (400 naming it)."""

    what: ClassVar[str] = "query"
    location: ClassVar[str] = "query"


class SendMessage(Strict):
    what: ClassVar[str] = "message"
    model_config = ConfigDict(json_schema_extra={"examples": [{"waId": RAVI, "messageBody": "Hello from the inbox"}]})

    wa_id: WaId = Field(alias="waId", description="The contact to send to.")
    message_body: MessageText = Field(
        alias="messageBody",
        description="The text, kept exactly as sent (at most MESSAGE_MAX_LENGTH characters, not blank).")
    sender: OptionalWaId = Field(None, alias="from", description="The sending number; default: the business's number.")
    to: OptionalWaId = Field(None, description="Must repeat waId when given.")
    reply_to: MessageCursor = Field(None, alias="replyTo",
                                    description="The id of a message of this conversation to reply to (quote).")

    @field_validator("to")
    @classmethod
    def _same_contact(cls, to: str | None, info: ValidationInfo) -> str | None:
        wa_id = info.data.get("wa_id")
        if to and wa_id and to != wa_id:
            raise problem("must be the same number as waId")
        return to


class SendReaction(Strict):
    what: ClassVar[str] = "reaction"
    model_config = ConfigDict(json_schema_extra={"examples": [{"emoji": "👍"}]})

    emoji: Emoji = Field(description="The emoji; empty removes the business's reaction.")


def _upload(raw: Any) -> FileStorage:
    if not isinstance(raw, FileStorage):
        raise problem("must be a file (multipart/form-data)")
    return raw


Upload = Annotated[Any, PlainValidator(_upload), WithJsonSchema({"type": "string", "format": "binary"})]
Caption = text(required=False, max_length=1024, strip=False)


class SendMedia(Strict):
    """multipart/form-data: the file and its fields."""

    what: ClassVar[str] = "file"
    location: ClassVar[str] = "form"

    wa_id: WaId = Field(alias="waId", description="The contact to send to.")
    file: Upload = Field(description=(
        "The file, with its type (Content-Type of the part, else guessed from its name). WhatsApp's limits: an "
        "image 5 MB (jpeg, png), a video 16 MB (mp4, 3gpp), an audio 16 MB (aac, amr, mpeg, mp4, ogg), a "
        "document 100 MB (any type)."))
    kind: Literal["image", "video", "audio", "document"] | None = Field(
        None, description="How to send it; default: image, video or audio when WhatsApp takes its type as one, "
                          "else document.")
    caption: Caption = Field(None, description="Shown under the file (not for an audio); at most 1024 characters.")
    reply_to: MessageCursor = Field(None, alias="replyTo",
                                    description="The id of a message of this conversation to reply to (quote).")


# --- answers ---------------------------------------------------------------------------------------------------


class ConversationPage(Success):
    data: list[Conversation]
    meta: PageMeta


class MessagePage(Success):
    data: list[Message]
    meta: PageMeta


class MessageSent(Success):
    data: Message


class ConversationRead(Success):
    data: Conversation



# --- message templates ------------------------------------------------------------------------------------------

TemplateName = text(max_length=512, pattern="[a-z0-9_]+", pattern_problem="must be a template name: a-z, 0-9 and _")
LanguageCode = text(max_length=16, pattern="[A-Za-z]{2,3}(_[A-Za-z0-9]{2,8})?",
                    pattern_problem="must be a language code such as en_US or pt_BR")
TemplateParameter = text(max_length=1024)


class SendTemplate(Strict):
    what: ClassVar[str] = "template message"
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"waId": RAVI, "name": "order_update", "language": "en_US", "parameters": ["Ravi", "#1042"]}]})

    wa_id: WaId = Field(alias="waId", description="The contact to send to.")
    name: TemplateName = Field(description="An approved template's name (GET /api/templates).")
    language: LanguageCode = Field(description="The template's language code, e.g. en_US.")
    parameters: list[TemplateParameter] = Field(
        default_factory=list, max_length=100,
        description="The body's parameters in order: the first fills {{1}}, the second {{2}}, …")


class TemplateInfo(Shape):
    name: str
    language: str
    body: str = Field(description="The body text, with {{1}}, {{2}}, … where the parameters go.")
    parameter_count: int = Field(alias="parameterCount", ge=0)
    category: str = Field(examples=["UTILITY", "MARKETING", "AUTHENTICATION"])
    status: str
    synced_at: IsoTime = Field(alias="syncedAt", description="When `flask templates sync` last fetched it.")


class TemplateList(Success):
    data: list[TemplateInfo]


# --- working together: a conversation's status and assignee, the list's counts, canned replies -------------------

AssigneeEmail = text(required=False, max_length=254)


class ChangeConversation(Strict):
    what: ClassVar[str] = "change"
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"status": "resolved", "assignee": "maria@example.com"}, {"assignee": None}]})

    status: ConversationStatus = Field(
        None, description="open, pending (the AI is handling it) or resolved; left out: unchanged.")
    assignee: AssigneeEmail = Field(
        None, description="An active agent's email; `null` (or empty) unassigns; left out: unchanged.")


class ConversationChanged(Success):
    data: Conversation


class FilterCounts(Shape):
    """How many conversations each list filter shows (`mine`: the caller's; 0 for an API token)."""

    mine: int = Field(ge=0)
    unassigned: int = Field(ge=0)
    all: int = Field(ge=0)
    unread: int = Field(ge=0)
    resolved: int = Field(ge=0)


class CountsAnswer(Success):
    data: FilterCounts


Shortcut = text(max_length=33, pattern="/?[a-z0-9][a-z0-9_-]{0,31}",
                pattern_problem="must be 1 to 32 lowercase letters, digits, - or _ (starting with a letter or digit)")
CannedText = text(max_length=4096, strip=False)


class CannedReplyShape(Shape):
    shortcut: str = Field(description="Typed after `/` in the composer.")
    text: str
    created_by: str | None = Field(alias="createdBy")
    updated_at: IsoTime | None = Field(alias="updatedAt")


class CannedReplyList(Success):
    data: list[CannedReplyShape]


class CannedReplySaved(Success):
    data: CannedReplyShape


class SaveCannedReply(Strict):
    what: ClassVar[str] = "canned reply"
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"shortcut": "thanks", "text": "Thank you for writing to us! We will get back to you shortly."}]})

    shortcut: Shortcut = Field(description="1 to 32 lowercase letters, digits, - or _.")
    text: CannedText = Field(description="The text inserted in the composer (at most 4096 characters).")


PathShortcut = text(max_length=32, pattern="[a-z0-9][a-z0-9_-]{0,31}",
                    pattern_problem="must be 1 to 32 lowercase letters, digits, - or _")


class ShortcutPath(Lenient):
    what: ClassVar[str] = "path"
    location: ClassVar[str] = "path"

    shortcut: PathShortcut = Field(description="The canned reply's shortcut, without the `/`.", examples=["thanks"])


# --- received documents (webapp.ocr) ----------------------------------------------------------------------------


class DocumentsQuery(Strict):
    what: ClassVar[str] = "query"
    location: ClassVar[str] = "query"

    limit: DocumentPageSize = Field(50, description="How many files, newest first.")
    type: KindFilter = Field(None, description=ocr_schemas.KIND)
    contact: ContactFilter = Field(None, description=ocr_schemas.CONTACT)
    has_text: HasTextFilter = Field(None, alias="hasText", description=ocr_schemas.HAS_TEXT)
    since: DateFilter = Field(None, description=ocr_schemas.SINCE)
    until: DateFilter = Field(None, description=ocr_schemas.UNTIL)
    q: TextFilter = Field(None, description=ocr_schemas.TEXT)
    before: FileCursor = Field(None, description=ocr_schemas.CURSOR)


class DocumentPage(Success):
    data: list[ReceivedDocument]
    meta: PageMeta
# --- analytics ------------------------------------------------------------------------------------------------


class AnalyticsFigures(Success):
    data: Analytics
