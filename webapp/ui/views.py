"""What the pages show, built from the documents, and the partials rendered from it.

The view models here turn stored WhatsApp content (any JSON WhatsApp sent) into plain fields the
templates print; the templates only lay them out. The render_* functions are the one way a bubble,
a tick, a reaction badge or a list row becomes HTML: the pages, the HTMX responses and the pushed
Socket.IO events (webapp/ui/push.py) all call them. What each message type shows comes from the
registry in webapp/whatsapp/message_types.py.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app, g, has_request_context, render_template, url_for

from .. import graph, team, templates_catalog
from ..auth.documents import Agent
from ..core.clock import as_utc, iso, utcnow
from ..graph.health import token_problem
from ..inbox import queries
from ..inbox.documents import Conversation, Message, status_name
from ..inbox.schemas import MessageMedia, media_url
from ..inbox.sending import window_closes_at, window_open
from ..leads.documents import Lead
from ..ocr import ReceivedFile
from ..templates_catalog import MessageTemplate
from ..templates_catalog import render as render_template_text
from ..whatsapp.events import STATUS_RANK
from ..whatsapp.message_types import REGISTRY, Card, dig, display, media_type, stripped

AVATAR_TONES = 8


def display_number(wa_id: str) -> str:
    return f"+{wa_id}" if wa_id and wa_id.isdigit() else wa_id


def initials(name: str | None) -> str:
    """Up to two letters from the first and last words of a name ("Ravi Kumar" → "RK")."""
    words = [w for w in (name or "").split() if any(c.isalnum() for c in w)]
    if not words:
        return ""
    picked = words if len(words) < 2 else [words[0], words[-1]]
    return "".join(next(c for c in w if c.isalnum()) for w in picked).upper()


def avatar_tone(wa_id: str) -> int:
    """A stable colour (one of AVATAR_TONES CSS classes) per contact."""
    return zlib.crc32(wa_id.encode()) % AVATAR_TONES


# --- ticks -------------------------------------------------------------------------------------

TICK_LABELS = {"pending": "Pending", "sent": "Sent", "delivered": "Delivered", "read": "Read", "failed": "Failed"}


@dataclass(frozen=True)
class Tick:
    """An outbound message's status mark; `error` only when failed."""

    status: str
    error_title: str = ""
    error_details: str = ""
    anchor: str = ""  # makes the error's id unique on the page
    retry_url: str = ""  # where the "Retry" button posts, for a failed message this app can send again

    @property
    def label(self) -> str:
        return TICK_LABELS[self.status]

    @property
    def rank(self) -> int:
        return STATUS_RANK[self.status]


def tick_for(status: str | None, error: dict[str, Any] | None = None, anchor: str = "",
             retry_url: str = "") -> Tick | None:
    if status not in TICK_LABELS:
        return None
    if status != "failed":
        return Tick(status)
    error = error or {}
    code = error.get("code")
    title = stripped(error.get("title")) or "Message failed to send"
    if code not in (None, ""):
        title = f"{title} ({code})"
    return Tick("failed", title, stripped(error.get("details")), anchor, retry_url)


def message_tick(message: Message) -> Tick | None:
    """A message's tick; a failed one this app sent to WhatsApp offers to try again."""
    retry_url = ""
    if message.status == "failed" and message.sent_by_app and graph.is_live():
        retry_url = url_for("ui.retry", wa_id=message.wa_id, message_id=message.id)
    return tick_for(message.status, message.error, message.id, retry_url)


# --- received files ----------------------------------------------------------------------------


def size_label(size: int | None) -> str:
    if size is None:
        return ""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


@dataclass(frozen=True)
class MediaFile:
    """A media message's file in its bubble: the file itself once stored, else where fetching it is."""

    kind: str  # image | sticker | video | audio | document
    state: str  # ready | pending | failed | unavailable (see inbox.schemas.MessageMedia)
    url: str
    filename: str = ""
    size: str = ""  # for a person: "120 KB"
    retry_url: str = ""  # set when fetching again can help (a received file, with WhatsApp to fetch from)
    demo: bool = False  # demo mode: there is no WhatsApp to fetch from

    @property
    def shown(self) -> bool:
        return self.state == "ready"


def media_file(message: Message) -> MediaFile | None:
    media = MessageMedia.of(message)
    if media is None:
        return None
    live = graph.is_live()
    inbound = message.direction == "inbound"
    retry = live and inbound and media.status in ("failed", "unavailable")
    return MediaFile(kind=message.type, state=media.status, url=media.url, filename=media.filename or "",
                     size=size_label(media.size), retry_url=media_url(message.id) + "/retry" if retry else "",
                     demo=inbound and not live)


@dataclass(frozen=True)
class ExtractedText:
    """The text read from a received image or PDF (webapp.ocr), under its card: being read, read (collapsed,
    with a copy button), nothing found, or why it could not be read."""

    state: str  # pending | done | empty | failed
    text: str = ""
    error: str = ""
    note: str = ""  # "3 pages", "2 of 40 pages read"

    @property
    def words(self) -> int:
        return len(self.text.split())


def extracted_text(message: Message) -> ExtractedText | None:
    record = message.text_extract or {}
    status = record.get("status")
    if status == "pending":
        return ExtractedText("pending")
    if status == "failed":
        return ExtractedText("failed", error=stripped(record.get("error")) or "unknown error")
    if status != "done":
        return None
    text = str(record.get("text") or "")
    pages, read = record.get("pages") or 0, record.get("pages_read") or 0
    note = ""
    if isinstance(pages, int) and pages > 1:
        note = f"{read} of {pages} pages read" if isinstance(read, int) and read < pages else f"{pages} pages"
    return ExtractedText("done" if text.strip() else "empty", text=text, note=note)


# --- bubbles -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quote:
    author: str
    text: str
    outbound: bool
    found: bool


@dataclass(frozen=True)
class Bubble:
    id: str
    wa_id: str
    direction: str
    type: str
    timestamp: datetime
    kind: str  # text | media | location | contacts | reply | system | unsupported
    text: str = ""  # body, or caption
    title: str = ""
    subtitle: str = ""
    icon: str = ""  # a name in templates/partials/_icon.html
    map_url: str = ""
    cards: list[Card] = field(default_factory=list)
    quote: Quote | None = None
    forwarded: bool = False
    reactions: list[str] = field(default_factory=list)
    tick: Tick | None = None
    media: MediaFile | None = None
    extract: ExtractedText | None = None
    sent_by: str | None = None  # who sent it from this app ("ai": the AI's badge)

    @property
    def outbound(self) -> bool:
        return self.direction == "outbound"

    @property
    def iso(self) -> str:
        return iso(self.timestamp) or ""

    @property
    def meta_below(self) -> bool:
        """The time and tick share the last line of text; under a card they take a line of their own."""
        if self.kind in ("text", "system"):
            return False
        if self.kind == "media":
            return not self.text
        return self.kind != "unsupported" or bool(self.subtitle)

    @property
    def fallback_time(self) -> str:
        """Shown until the page's script writes the viewer's local time (UTC here)."""
        return as_utc(self.timestamp).strftime("%H:%M")  # type: ignore[union-attr]


def _quote(message: Message, quoted: dict[str, Message], contact_name: str | None) -> Quote | None:
    quoted_id = dig(message.context, "id")
    if not isinstance(quoted_id, str) or not quoted_id:
        return None
    original = quoted.get(quoted_id)
    if original is None:
        return Quote(author="", text="Original message not available", outbound=False, found=False)
    outbound = original.direction == "outbound"
    author = "You" if outbound else (contact_name or display_number(original.wa_id))
    return Quote(author=author, text=original.preview or original.type, outbound=outbound, found=True)


def reaction_emojis(message: Message) -> list[str]:
    return [r["emoji"] for r in message.visible_reactions()]


def bubble(message: Message, *, quoted: dict[str, Message] | None = None, contact_name: str | None = None) -> Bubble:
    if quoted is None:
        quoted = queries.quoted_messages([message])
    return Bubble(
        id=message.id,
        wa_id=message.wa_id,
        direction=message.direction,
        type=message.type,
        timestamp=message.timestamp,
        quote=_quote(message, quoted, contact_name),
        forwarded=bool(dig(message.context, "forwarded")),
        reactions=reaction_emojis(message),
        tick=message_tick(message) if message.direction == "outbound" else None,
        media=media_file(message),
        extract=extracted_text(message),
        sent_by=message.sent_by_app,
        **vars(display(message.type, message.content, message.errors)),
    )


def bubbles(messages: list[Message], contact_name: str | None) -> list[Bubble]:
    quoted = queries.quoted_messages(messages)
    return [bubble(m, quoted=quoted, contact_name=contact_name) for m in messages]


# --- conversation rows -------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    wa_id: str
    name: str
    number: str
    initials: str
    tone: int
    preview: str
    outbound: bool
    tick: Tick | None
    last_at: datetime | None
    unread: int
    handled_by_ai: bool = False  # status pending: the AI is handling it
    status: str = "open"  # open | pending (the AI is handling it) | resolved
    assignee: str | None = None  # the agent's email
    rev: int = 0  # the conversation's count of writes: of two renderings of a row, the higher is newer

    @property
    def iso(self) -> str:
        return iso(self.last_at) or ""

    @property
    def fallback_time(self) -> str:
        return as_utc(self.last_at).strftime("%Y-%m-%d") if self.last_at else ""  # type: ignore[union-attr]


def row(conversation: Conversation) -> Row:
    last = conversation.last_message
    outbound = bool(last and last.direction == "outbound")
    return Row(
        wa_id=conversation.wa_id,
        name=conversation.contact_name or display_number(conversation.wa_id),
        number=display_number(conversation.wa_id),
        initials=initials(conversation.contact_name),
        tone=avatar_tone(conversation.wa_id),
        preview=last.preview if last else "",
        outbound=outbound,
        tick=tick_for(status_name(last.status_rank, "outbound")) if last and outbound else None,
        last_at=conversation.last_message_at,
        unread=conversation.unread_count or 0,
        handled_by_ai=conversation.status == "pending",
        status=conversation.status or "open",
        assignee=conversation.assignee,
        rev=conversation.rev or 0,
    )


@dataclass(frozen=True)
class WhatsAppStatus:
    """Where replies go: to WhatsApp (live), or nowhere (demo mode); and why sending stopped, if it did."""

    live: bool
    problem: str | None


def whatsapp_status() -> WhatsAppStatus:
    return WhatsAppStatus(graph.is_live(), token_problem())


@dataclass(frozen=True)
class Window:
    """The 24-hour customer-service window of a chat, sending to WhatsApp."""

    closes_at: datetime | None

    @property
    def open(self) -> bool:
        return self.closes_at is not None and utcnow() < self.closes_at

    @property
    def left(self) -> str:
        """ "23 h 5 min" while open."""
        if not self.open or self.closes_at is None:
            return ""
        minutes = int((self.closes_at - utcnow()).total_seconds() // 60)
        return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{max(minutes, 1)} min"

    @property
    def iso(self) -> str:
        return iso(self.closes_at) or ""


@dataclass(frozen=True)
class Chat:
    """The open conversation: its header, a page of bubbles, and where older ones start."""

    row: Row
    bubbles: list[Bubble]
    older_before: str | None  # the `before` cursor of the next older page, when there is one
    window: Window | None = None  # sending to WhatsApp only: demo mode has no window
    state: ChatState | None = None  # status and assignee, in the header
    draft: str = ""  # what the signed-in agent typed here and did not send

    @property
    def pending(self) -> Bubble:
        """The bubble the composer shows at once while the server stores the message (script fills it)."""
        return Bubble(id="", wa_id=self.row.wa_id, direction="outbound", type="text", timestamp=utcnow(),
                      kind="text", tick=Tick("pending"))


def chat(conversation: Conversation, page: queries.MessagePage, *, until: datetime | None = None) -> Chat:
    """The chat's view: a page of bubbles with the internal notes written in its time span (an older
    page's span ends at `until`, where the newer page starts)."""
    window = Window(window_closes_at(conversation)) if graph.is_live() else None
    shown: list[Any] = bubbles(page.messages, conversation.contact_name)
    start = page.messages[0].timestamp if page.has_more and page.messages else None
    written = team.notes.between(conversation.id, start, until)
    if written:
        shown = sorted([*shown, *(note_view(n) for n in written)], key=lambda b: as_utc(b.timestamp))
    who = g.get("principal") if has_request_context() else None
    draft = team.drafts.get(who.sent_by, conversation.id) if who is not None else ""
    return Chat(row(conversation), shown, page.meta["before"], window, chat_state(conversation), draft)


# --- working together: notes, the chat's status and assignee, drafts, the contact panel ---------


@dataclass(frozen=True)
class NoteView:
    """An internal note in the chat's timeline (agents only; never sent)."""

    id: str
    author: str
    text: str
    timestamp: datetime
    is_note: bool = True

    @property
    def iso(self) -> str:
        return iso(self.timestamp) or ""

    @property
    def fallback_time(self) -> str:
        return as_utc(self.timestamp).strftime("%H:%M")  # type: ignore[union-attr]


def note_view(note: team.documents.Note) -> NoteView:
    return NoteView(id=note.id, author=note.author_name, text=note.text, timestamp=note.created_at)


def render_note(note: team.documents.Note) -> str:
    return render("partials/_note.html", n=lambda: note_view(note))


STATUS_LABELS = {"open": "Open", "pending": "Pending: the AI is handling it", "resolved": "Resolved"}


@dataclass(frozen=True)
class ChatState:
    """The chat header's status and assignee, with the agents it can be assigned to."""

    wa_id: str
    status: str
    assignee: str | None
    agents: list[tuple[str, str]]  # (email, name) of the active agents

    @property
    def label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def assignee_name(self) -> str:
        return next((name for email, name in self.agents if email == self.assignee), self.assignee or "")


def chat_state(conversation: Conversation) -> ChatState:
    agents = [(a.email, a.name) for a in Agent.objects(active=True).only("email", "name").order_by("name")]
    return ChatState(conversation.wa_id, conversation.status or "open", conversation.assignee, agents)


def render_chat_state(conversation: Conversation) -> str:
    return render("partials/_chat_state.html", state=lambda: chat_state(conversation))


@dataclass(frozen=True)
class ContactPanel:
    row: Row
    state: ChatState
    files: list[Bubble]  # the media shared in the chat, newest first
    lead: str = ""  # what is known of the contact as a lead, when anything is
    labels: list[str] = field(default_factory=list)


def contact_panel(conversation: Conversation) -> ContactPanel:
    shared = queries.shared_files(conversation, MEDIA_KINDS)
    lead = Lead.objects(pk=conversation.wa_id).first()  # webapp.leads: one per interested contact
    about = ""
    if lead is not None:
        about = " · ".join(part for part in (f"stage {lead.stage}", f"score {lead.score}", *lead.emails) if part)
    return ContactPanel(row(conversation), chat_state(conversation),
                        [bubble(m, quoted={}, contact_name=conversation.contact_name) for m in shared],
                        lead=about, labels=list(lead.tags) if lead is not None else [])


MEDIA_KINDS = frozenset(kind for kind in REGISTRY if media_type(kind) is not None)


def counts_view(email: str | None) -> dict[str, int]:
    return team.counts.for_agent(email)


FILTER_LABELS = (("mine", "Mine"), ("unassigned", "Unassigned"), ("all", "All"), ("unread", "Unread"),
                 ("resolved", "Resolved"))


# --- the Documents page: what customers sent, with the text read from it (webapp.ocr) -----------


@dataclass(frozen=True)
class DocumentItem:
    id: str
    wa_id: str
    contact: str
    kind: str  # image | pdf
    title: str  # the file name, or what the file is
    caption: str
    size: str
    url: str
    received_at: datetime
    extract: ExtractedText

    @property
    def iso(self) -> str:
        return iso(self.received_at) or ""

    @property
    def fallback_time(self) -> str:
        return as_utc(self.received_at).strftime("%Y-%m-%d %H:%M")  # type: ignore[union-attr]


def document_item(received: ReceivedFile, contact_name: str | None) -> DocumentItem:
    status = received.text_status or "pending"
    text = received.text or ""
    if status == "done":
        extract = ExtractedText("done" if text.strip() else "empty", text=text,
                                note=f"{received.pages} pages" if (received.pages or 0) > 1 else "")
    elif status == "failed":
        extract = ExtractedText("failed", error=received.error or "unknown error")
    else:
        extract = ExtractedText("pending")
    name = contact_name or received.contact_name
    return DocumentItem(
        id=received.id, wa_id=received.wa_id,
        contact=f"{name} ({display_number(received.wa_id)})" if name else display_number(received.wa_id),
        kind=received.kind, title=received.filename or ("PDF" if received.kind == "pdf" else "Photo"),
        caption=received.caption or "", size=size_label(received.size), url=media_url(received.id),
        received_at=received.timestamp, extract=extract)


@dataclass(frozen=True)
class DocumentsPage:
    items: list[DocumentItem]
    filters: dict[str, str]  # the form's values, as given
    older: str | None  # the `before` of the next page


def documents_page(files: list[ReceivedFile], names: dict[str, str | None], filters: dict[str, str],
                   older: str | None) -> DocumentsPage:
    return DocumentsPage([document_item(f, names.get(f.conversation_id)) for f in files], filters, older)


# --- rendering: the partials, for pages, HTMX responses and pushed events alike ----------------


def render(template: str, **context: Callable[[], Any]) -> str:
    """Render a partial, also outside a request (a background task's push): each context value is
    built inside the request context made for it, so view models may use url_for. URLs are relative."""
    if has_request_context():
        return render_template(template, **{name: build() for name, build in context.items()})
    with current_app.test_request_context("/"):
        return render_template(template, **{name: build() for name, build in context.items()})


def render_bubble(message: Message, contact_name: str | None = None) -> str:
    return render("partials/_message.html", b=lambda: bubble(message, contact_name=contact_name))


def render_tick(message: Message) -> str:
    return render("partials/_tick.html", tick=lambda: message_tick(message))


def render_whatsapp_banner() -> str:
    return render("partials/_whatsapp_banner.html", whatsapp=whatsapp_status)


def render_reactions(message: Message) -> str:
    return render("partials/_reactions.html", emojis=lambda: reaction_emojis(message))


def render_row(conversation: Conversation) -> str:
    return render("partials/_conversation_row.html", r=lambda: row(conversation))


# --- the template picker ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplatePicker:
    """The stored templates to choose from, the chosen one with the values typed so far, and its preview."""

    wa_id: str
    templates: list[MessageTemplate]
    chosen: MessageTemplate | None
    values: list[str]
    window_open: bool
    notice: str = ""

    @property
    def preview(self) -> str:
        return render_template_text(self.chosen.body, self.values) if self.chosen else ""

    @property
    def parameters(self) -> list[tuple[int, str]]:
        """(n, value) for each {{n}} of the chosen template."""
        count = self.chosen.parameter_count if self.chosen else 0
        return [(n, self.values[n - 1] if n <= len(self.values) else "") for n in range(1, count + 1)]


def template_picker(wa_id: str, chosen_key: str | None = None, values: list[str] | None = None,
                    notice: str = "") -> TemplatePicker:
    found = templates_catalog.stored()
    chosen = next((t for t in found if t.id == chosen_key), None) if chosen_key else None
    live_and_closed = graph.is_live() and not window_open(Conversation.for_wa_id(wa_id))
    return TemplatePicker(wa_id=wa_id, templates=found, chosen=chosen, values=values or [],
                          window_open=not live_and_closed, notice=notice)


def render_template_picker(picker: TemplatePicker) -> str:
    return render_template("partials/_template_picker.html", picker=picker)
