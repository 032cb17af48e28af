"""What the pages accept: their query strings and the composer's form. Lenient: names a browser or
htmx adds (`_`, a CSRF token) are ignored, never read."""

from __future__ import annotations

from typing import ClassVar

from ..core.validation import Lenient, text
from ..inbox.schemas import MessageCursor, OptionalWaId, SearchText
from ..ocr.schemas import ContactFilter, DateFilter, FileCursor, HasTextFilter, KindFilter, TextFilter

MessageText = text(max_length="MESSAGE_MAX_LENGTH", strip=False)
FilterName = text(required=False, max_length=20)
NoteText = text(max_length=4096, strip=False)
DraftText = text(required=False, max_length="MESSAGE_MAX_LENGTH", strip=False)
OptionalText = text(required=False, max_length=254)
Caption = text(required=False, max_length=1024, strip=False)
Emoji = text(required=False, max_length=32)
TemplateKey = text(required=False, max_length=600)
ParameterText = text(max_length=1024)


class PageQuery(Lenient):
    what: ClassVar[str] = "query"
    location: ClassVar[str] = "query"

    q: SearchText = None
    filter: FilterName = None  # one of inbox.documents.LIST_FILTERS; anything else shows all


class SearchQuery(PageQuery):
    before: OptionalWaId = None


class MessagePageQuery(Lenient):
    what: ClassVar[str] = "query"
    location: ClassVar[str] = "query"

    before: MessageCursor = None


class ComposerForm(Lenient):
    what: ClassVar[str] = "message"
    location: ClassVar[str] = "form"

    body: MessageText
    reply_to: MessageCursor = None  # the message quoted ("Reply" on a bubble)


class AttachmentForm(Lenient):
    """The composer's file (read from request.files) and its text, sent as the caption."""

    what: ClassVar[str] = "file"
    location: ClassVar[str] = "form"

    body: Caption = None
    reply_to: MessageCursor = None


class ReactionForm(Lenient):
    """A bubble's reaction picker: the emoji, or empty to take the business's reaction back."""

    what: ClassVar[str] = "reaction"
    location: ClassVar[str] = "form"

    emoji: Emoji = ""


class TemplateChoice(Lenient):
    """The picker's query: which stored template (`name:language`) is chosen."""

    what: ClassVar[str] = "query"
    location: ClassVar[str] = "query"

    template: TemplateKey = None


class TemplateParameter(Lenient):
    """One {{n}} of a template, as typed in the picker."""

    what: ClassVar[str] = "parameter"
    location: ClassVar[str] = "form"

    value: ParameterText


class StateForm(Lenient):
    """The chat header's Resolve/Reopen button and assignee menu (a field left out stays as it is)."""

    what: ClassVar[str] = "change"
    location: ClassVar[str] = "form"

    status: OptionalText = None
    assignee: OptionalText = None


class NoteForm(Lenient):
    what: ClassVar[str] = "note"
    location: ClassVar[str] = "form"

    text: NoteText


class DraftForm(Lenient):
    what: ClassVar[str] = "draft"
    location: ClassVar[str] = "form"

    text: DraftText = None


class CannedForm(Lenient):
    what: ClassVar[str] = "canned reply"
    location: ClassVar[str] = "form"

    shortcut: OptionalText = None
    text: DraftText = None


class DocumentsPageQuery(Lenient):
    """The Documents page's filters (webapp.ocr): the same as GET /api/documents, from its form."""

    what: ClassVar[str] = "filter"
    location: ClassVar[str] = "query"

    type: KindFilter = None
    contact: ContactFilter = None
    text: HasTextFilter = None
    since: DateFilter = None
    until: DateFilter = None
    q: TextFilter = None
    before: FileCursor = None
