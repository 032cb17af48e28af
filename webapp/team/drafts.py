"""Drafts: what an agent typed in a chat's composer, kept on the server per (agent, chat), so it is
there after switching chats, reloading, or signing in on another browser."""

from __future__ import annotations

from ..core.clock import utcnow
from .documents import Draft

DRAFT_MAX_LENGTH = 4096


def _key(agent: str, conversation_id: str) -> str:
    return f"{agent} {conversation_id}"


def get(agent: str, conversation_id: str) -> str:
    found = Draft._get_collection().find_one({"_id": _key(agent, conversation_id)})
    return str((found or {}).get("text") or "")


def save(agent: str, conversation_id: str, text: str) -> None:
    """Keep `text` (an empty one removes the draft)."""
    collection = Draft._get_collection()
    if not text.strip():
        collection.delete_one({"_id": _key(agent, conversation_id)})
        return
    collection.update_one({"_id": _key(agent, conversation_id)}, {"$set": {"text": text, "updated_at": utcnow()}},
                          upsert=True)


def clear(agent: str, conversation_id: str) -> None:
    Draft._get_collection().delete_one({"_id": _key(agent, conversation_id)})
