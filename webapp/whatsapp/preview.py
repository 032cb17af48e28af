"""One-line previews of a message, as a chat list shows them. Pure."""

from __future__ import annotations

from typing import Any

KNOWN_TYPES = frozenset(
    {"text", "image", "video", "audio", "document", "sticker", "location", "contacts",
     "interactive", "button", "reaction", "system", "order"}
)


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


def interactive_title(content: Any) -> str:
    kind = dig(content, "type")
    reply = dig(content, kind) if isinstance(kind, str) else None
    return stripped(dig(reply, "title")) or stripped(dig(reply, "description"))


def preview(mtype: str, content: Any, limit: int = 120) -> str:
    text = _preview(mtype, content)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _preview(mtype: str, content: Any) -> str:
    caption = stripped(dig(content, "caption"))
    match mtype:
        case "text":
            return stripped(dig(content, "body"))
        case "image":
            return f"📷 {caption or 'Photo'}"
        case "video":
            return f"🎥 {caption or 'Video'}"
        case "audio":
            return "🎤 Voice message" if dig(content, "voice") else "🎵 Audio"
        case "document":
            return f"📄 {stripped(dig(content, 'filename')) or caption or 'Document'}"
        case "sticker":
            return "Sticker"
        case "location":
            return f"📍 {stripped(dig(content, 'name')) or stripped(dig(content, 'address')) or 'Location'}"
        case "contacts":
            first = content[0] if isinstance(content, list) and content else None
            return f"👤 {stripped(dig(first, 'name', 'formatted_name')) or 'Contact'}"
        case "interactive":
            return interactive_title(content) or "Interactive reply"
        case "button":
            return stripped(dig(content, "text")) or stripped(dig(content, "payload")) or "Button reply"
        case "reaction":
            return f"Reacted {stripped(dig(content, 'emoji'))}".strip()
        case "system":
            return stripped(dig(content, "body")) or "System message"
        case "order":
            return "🛒 Order"
        case _:
            return "Unsupported message"
