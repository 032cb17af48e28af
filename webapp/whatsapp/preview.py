"""One-line previews of a message, as a chat list shows them. Pure."""

from __future__ import annotations

from typing import Any

KNOWN_TYPES = frozenset(
    {"text", "image", "video", "audio", "document", "sticker", "location", "contacts",
     "interactive", "button", "reaction", "system", "order"}
)


def _get(content: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(content, dict):
            return None
        content = content.get(key)
    return content


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def interactive_title(content: Any) -> str:
    kind = _get(content, "type")
    reply = _get(content, kind) if isinstance(kind, str) else None
    return _text(_get(reply, "title")) or _text(_get(reply, "description"))


def preview(mtype: str, content: Any, limit: int = 120) -> str:
    text = _preview(mtype, content)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _preview(mtype: str, content: Any) -> str:
    caption = _text(_get(content, "caption"))
    match mtype:
        case "text":
            return _text(_get(content, "body"))
        case "image":
            return f"📷 {caption or 'Photo'}"
        case "video":
            return f"🎥 {caption or 'Video'}"
        case "audio":
            return "🎤 Voice message" if _get(content, "voice") else "🎵 Audio"
        case "document":
            return f"📄 {_text(_get(content, 'filename')) or caption or 'Document'}"
        case "sticker":
            return "Sticker"
        case "location":
            return f"📍 {_text(_get(content, 'name')) or _text(_get(content, 'address')) or 'Location'}"
        case "contacts":
            first = content[0] if isinstance(content, list) and content else None
            return f"👤 {_text(_get(first, 'name', 'formatted_name')) or 'Contact'}"
        case "interactive":
            return interactive_title(content) or "Interactive reply"
        case "button":
            return _text(_get(content, "text")) or _text(_get(content, "payload")) or "Button reply"
        case "reaction":
            return f"Reacted {_text(_get(content, 'emoji'))}".strip()
        case "system":
            return _text(_get(content, "body")) or "System message"
        case "order":
            return "🛒 Order"
        case _:
            return "Unsupported message"
