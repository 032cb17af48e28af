"""What the Documents page and GET /api/documents accept (their filters' field types) and the JSON
shape of a received file with its text."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from ..core.clock import iso
from ..core.shapes import Shape
from ..core.validation import problem, text
from ..inbox.schemas import IsoTime, media_url
from .documents import ReceivedFile


def _a_date(value: str) -> str:
    try:
        date.fromisoformat(value)
    except ValueError:
        raise problem("must be a date: YYYY-MM-DD") from None
    return value


KindFilter = text(required=False, max_length=5, pattern="image|pdf", pattern_problem="must be image or pdf")
ContactFilter = text(required=False, max_length=100)
TextFilter = text(required=False, max_length=100)
HasTextFilter = text(required=False, max_length=5, pattern="true|false", pattern_problem="must be true or false")
DateFilter = text(required=False, max_length=10, pattern="[0-9]{4}-[0-9]{2}-[0-9]{2}",
                  pattern_problem="must be a date: YYYY-MM-DD", normalize=_a_date)
FileCursor = text(required=False, max_length=256)

KIND = "Only pictures (`image`) or PDFs (`pdf`)."
CONTACT = "Only files from contacts whose name (any case) or number contains this."
HAS_TEXT = "`true`: only files with text read from them; `false`: only those without (yet)."
SINCE = "Only files received on or after this day (UTC)."
UNTIL = "Only files received on or before this day (UTC)."
TEXT = "Only files whose text contains this (any case)."
CURSOR = "Paging cursor: the `meta.before` of the previous page (a file's id)."


def as_date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def as_flag(value: str | None) -> bool | None:
    return None if value is None else value == "true"


class ReceivedDocument(Shape):
    """An image or PDF a customer sent, with the text read from it."""

    id: str = Field(description="The message's id (wamid).")
    wa_id: str = Field(alias="waId", description="The contact's number.")
    contact_name: str | None = Field(alias="contactName")
    kind: str = Field(description="`image` or `pdf`.", examples=["pdf"])
    mime_type: str | None = Field(alias="mimeType")
    filename: str | None
    caption: str | None
    size: int | None = Field(description="Bytes.")
    url: str = Field(description="This app's address for the file (`/media/<message id>`).")
    timestamp: IsoTime
    text_status: str = Field(alias="textStatus", description="`pending` (being read), `done` or `failed`.")
    text: str = Field(description="The text read from it (a PDF's text layer, or OCR); empty when none.")
    pages: int | None = Field(description="A PDF's pages (1 for a picture), once read.")

    @classmethod
    def of(cls, received: ReceivedFile, contact_name: str | None = None) -> ReceivedDocument:
        return cls(id=received.id, wa_id=received.wa_id, contact_name=contact_name or received.contact_name,
                   kind=received.kind, mime_type=received.mime_type, filename=received.filename,
                   caption=received.caption, size=received.size, url=media_url(received.id),
                   timestamp=iso(received.timestamp) or "", text_status=received.text_status or "pending",
                   text=received.text or "", pages=received.pages)
