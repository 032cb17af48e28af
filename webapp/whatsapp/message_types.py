"""Every WhatsApp message type in one registry: its one-line preview (the chat list, the API's
`preview`) and what its bubble shows (a pure Display the UI lays out). Pure: no I/O, no Flask.

Adding a message type is one class here, registered with @registered; a type WhatsApp sends that
is not here is stored as sent and shown as unsupported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


def dig(content: Any, *keys: str | int) -> Any:
    """content[key][key]…, or None where WhatsApp's JSON has no such object, list item or key."""
    for key in keys:
        if isinstance(key, int):
            content = content[key] if isinstance(content, list) and len(content) > key else None
        elif isinstance(content, dict):
            content = content.get(key)
        else:
            return None
    return content


def stripped(value: Any) -> str:
    """A string value without surrounding space; "" for anything else."""
    return value.strip() if isinstance(value, str) else ""


def _coordinate(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) <= 180 else None  # not NaN, a coordinate


@dataclass(frozen=True)
class Card:
    """A contact card inside a `contacts` message."""

    name: str
    phones: list[str]
    org: str = ""


@dataclass(frozen=True)
class Display:
    """What a message's bubble shows, whatever its type."""

    kind: str  # text | media | location | contacts | reply | system | unsupported
    text: str = ""  # body, or caption
    title: str = ""
    subtitle: str = ""
    icon: str = ""  # a name in templates/partials/_icons.html
    map_url: str = ""
    cards: list[Card] = field(default_factory=list)


class MessageType:
    """One WhatsApp message type. `content` is the object under the type's key, as WhatsApp sent it."""

    name: ClassVar[str]

    def preview(self, content: Any) -> str:
        raise NotImplementedError

    def display(self, content: Any, errors: list[dict[str, Any]]) -> Display:
        raise NotImplementedError


REGISTRY: dict[str, MessageType] = {}


def registered(cls: type[MessageType]) -> type[MessageType]:
    REGISTRY[cls.name] = cls()
    return cls


@registered
class Text(MessageType):
    name = "text"

    def preview(self, content: Any) -> str:
        return stripped(dig(content, "body"))

    def display(self, content: Any, errors: list[dict[str, Any]]) -> Display:
        return Display("text", text=stripped(dig(content, "body")) or str(dig(content, "body") or ""))


MB = 1024 * 1024


class Media(MessageType):
    """A file WhatsApp holds for us: shown as a card with its caption (and the file, once fetched)."""

    emoji: ClassVar[str] = ""
    label: ClassVar[str]
    max_bytes: ClassVar[int]  # Meta's size limit for this kind of media

    def title(self, content: Any) -> str:
        return self.label

    def icon(self, content: Any) -> str:
        return self.name

    def preview(self, content: Any) -> str:
        return f"{self.emoji} {stripped(dig(content, 'caption')) or self.label}"

    def display(self, content: Any, errors: list[dict[str, Any]]) -> Display:
        return Display("media", icon=self.icon(content), title=self.title(content),
                       subtitle=stripped(dig(content, "mime_type")), text=stripped(dig(content, "caption")))


@registered
class Image(Media):
    name, emoji, label = "image", "📷", "Photo"
    max_bytes = 5 * MB


@registered
class Video(Media):
    name, emoji, label = "video", "🎥", "Video"
    max_bytes = 16 * MB


@registered
class Audio(Media):
    name, label = "audio", "Audio"
    max_bytes = 16 * MB

    def title(self, content: Any) -> str:
        return "Voice message" if dig(content, "voice") is True else "Audio"

    def icon(self, content: Any) -> str:
        return "voice" if dig(content, "voice") is True else "audio"

    def preview(self, content: Any) -> str:
        return "🎤 Voice message" if dig(content, "voice") else "🎵 Audio"


@registered
class Document(Media):
    name, label = "document", "Document"
    max_bytes = 100 * MB

    def title(self, content: Any) -> str:
        return stripped(dig(content, "filename")) or self.label

    def preview(self, content: Any) -> str:
        return f"📄 {stripped(dig(content, 'filename')) or stripped(dig(content, 'caption')) or 'Document'}"


@registered
class Sticker(Media):
    name, label = "sticker", "Sticker"
    max_bytes = 500 * 1024  # an animated sticker's limit (a static one's is 100 KB)

    def title(self, content: Any) -> str:
        return "Animated sticker" if dig(content, "animated") is True else self.label

    def preview(self, content: Any) -> str:
        return "Sticker"


@registered
class Location(MessageType):
    name = "location"

    def preview(self, content: Any) -> str:
        return f"📍 {stripped(dig(content, 'name')) or stripped(dig(content, 'address')) or 'Location'}"

    def display(self, content: Any, errors: list[dict[str, Any]]) -> Display:
        lat, lng = _coordinate(dig(content, "latitude")), _coordinate(dig(content, "longitude"))
        coords = f"{lat:.5f}, {lng:.5f}" if lat is not None and lng is not None else ""
        map_url = f"https://www.openstreetmap.org/?mlat={lat}&mlon={lng}#map=16/{lat}/{lng}" if coords else ""
        return Display("location", icon="location", title=stripped(dig(content, "name")) or "Location",
                       subtitle=stripped(dig(content, "address")) or coords, map_url=map_url)


@registered
class Contacts(MessageType):
    name = "contacts"

    def preview(self, content: Any) -> str:
        first = content[0] if isinstance(content, list) and content else None
        return f"👤 {stripped(dig(first, 'name', 'formatted_name')) or 'Contact'}"

    def display(self, content: Any, errors: list[dict[str, Any]]) -> Display:
        cards = []
        for item in content if isinstance(content, list) else []:
            name = stripped(dig(item, "name", "formatted_name")) or " ".join(
                filter(None, (stripped(dig(item, "name", "first_name")), stripped(dig(item, "name", "last_name"))))
            )
            phones = [stripped(dig(p, "phone")) for p in dig(item, "phones") or [] if stripped(dig(p, "phone"))]
            cards.append(Card(name or "Contact", phones, stripped(dig(item, "org", "company"))))
        return Display("contacts", icon="contact", cards=cards or [Card("Contact", [])])


@registered
class Interactive(MessageType):
    """A reply to buttons or a list the business sent."""

    name = "interactive"

    @staticmethod
    def title(content: Any) -> str:
        kind = dig(content, "type")
        reply = dig(content, kind) if isinstance(kind, str) else None
        return stripped(dig(reply, "title")) or stripped(dig(reply, "description"))

    def preview(self, content: Any) -> str:
        return self.title(content) or "Interactive reply"

    def display(self, content: Any, errors: list[dict[str, Any]]) -> Display:
        kind = dig(content, "type")
        reply = dig(content, kind) if isinstance(kind, str) else None
        label = {"button_reply": "Button reply", "list_reply": "List reply"}.get(kind, "Interactive reply")
        return Display("reply", title=self.title(content) or label, subtitle=stripped(dig(reply, "description")),
                       text=label)


@registered
class Button(MessageType):
    """A tap on a template's quick-reply button."""

    name = "button"

    def preview(self, content: Any) -> str:
        return stripped(dig(content, "text")) or stripped(dig(content, "payload")) or "Button reply"

    def display(self, content: Any, errors: list[dict[str, Any]]) -> Display:
        title = stripped(dig(content, "text")) or stripped(dig(content, "payload")) or "Button"
        return Display("reply", title=title, text="Button reply")


@registered
class Template(MessageType):
    """A template the business sent: this app stores its text with the parameters filled in."""

    name = "template"

    def preview(self, content: Any) -> str:
        return stripped(dig(content, "text")) or f"Template {stripped(dig(content, 'name'))}".strip()

    def display(self, content: Any, errors: list[dict[str, Any]]) -> Display:
        return Display("text", text=self.preview(content), subtitle=stripped(dig(content, "name")))


@registered
class Reaction(MessageType):
    """Stored, but not a bubble: it shows as a badge on the message it reacts to."""

    name = "reaction"

    def preview(self, content: Any) -> str:
        return f"Reacted {stripped(dig(content, 'emoji'))}".strip()

    def display(self, content: Any, errors: list[dict[str, Any]]) -> Display:
        return Display("system", text=self.preview(content))


@registered
class System(MessageType):
    name = "system"

    def preview(self, content: Any) -> str:
        return stripped(dig(content, "body")) or "System message"

    def display(self, content: Any, errors: list[dict[str, Any]]) -> Display:
        return Display("system", text=self.preview(content))


@registered
class Order(MessageType):
    name = "order"

    def preview(self, content: Any) -> str:
        return "🛒 Order"

    def display(self, content: Any, errors: list[dict[str, Any]]) -> Display:
        items = dig(content, "product_items")
        count = len(items) if isinstance(items, list) else 0
        return Display("media", icon="order", title="Order",
                       subtitle=f"{count} item{'s' if count != 1 else ''}" if count else "",
                       text=stripped(dig(content, "text")))


class Unsupported(MessageType):
    """Any type not registered above (WhatsApp's own `unsupported` included)."""

    name = "unsupported"

    def preview(self, content: Any) -> str:
        return "Unsupported message"

    def display(self, content: Any, errors: list[dict[str, Any]]) -> Display:
        first = errors[0] if errors else {}
        reason = stripped(first.get("title")) or stripped(dig(first, "error_data", "details"))
        return Display("unsupported", text="Unsupported message", subtitle=reason)


UNSUPPORTED = Unsupported()


def message_type(name: str) -> MessageType:
    return REGISTRY.get(name, UNSUPPORTED)


def media_type(name: str) -> Media | None:
    """The media kind (image, video, audio, document, sticker) of a message type; None for the others."""
    kind = REGISTRY.get(name)
    return kind if isinstance(kind, Media) else None


def preview(mtype: str, content: Any, limit: int = 120) -> str:
    """One line for the chat list: whitespace folded, cut at `limit` characters."""
    text = " ".join(message_type(mtype).preview(content).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def display(mtype: str, content: Any, errors: list[dict[str, Any]] | None = None) -> Display:
    return message_type(mtype).display(content, errors or [])
