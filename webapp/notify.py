"""After a durable write, tell every open browser: the one place Socket.IO events are emitted."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from .extensions import socketio

log = logging.getLogger(__name__)


@dataclass
class Changes:
    """What a write changed, by id; notify() reads the current state and emits it."""

    new_messages: list[str] = field(default_factory=list)
    statuses: set[str] = field(default_factory=set)
    reactions: set[str] = field(default_factory=set)
    conversations: set[str] = field(default_factory=set)
    read_conversations: set[str] = field(default_factory=set)

    def merge(self, other: Changes) -> None:
        self.new_messages.extend(m for m in other.new_messages if m not in self.new_messages)
        self.statuses |= other.statuses
        self.reactions |= other.reactions
        self.conversations |= other.conversations
        self.read_conversations |= other.read_conversations

    def __bool__(self) -> bool:
        return bool(self.new_messages or self.statuses or self.reactions or self.conversations
                    or self.read_conversations)


def notify(changes: Changes) -> None:
    """Emit `message:new`, `message:status`, `message:reactions` and `conversation:update`."""
    if not changes:
        return
    from .models import Conversation, Message  # models import nothing from here; avoid a cycle

    def by_id(document: type, ids: object) -> list:
        # One `_id` lookup each: the only filter FerretDB pushes down, and a handful per write.
        return [d for d in (document.objects(pk=i).first() for i in ids) if d is not None]

    try:
        conversations = {c.id: c for c in by_id(Conversation, changes.conversations | changes.read_conversations)}
        names = {cid: c.contact_name for cid, c in conversations.items()}
        for message in by_id(Message, changes.new_messages):
            socketio.emit("message:new", message.to_api(names.get(message.conversation_id)))
        for message in by_id(Message, changes.statuses - set(changes.new_messages)):
            socketio.emit(
                "message:status",
                {
                    "id": message.id,
                    "wa_id": message.wa_id,
                    "status": message.status,
                    "timestamp": message.to_api()["statusTimestamps"].get(message.status),
                    "error": message.error or None,
                },
            )
        for message in by_id(Message, changes.reactions):
            socketio.emit(
                "message:reactions",
                {"id": message.id, "wa_id": message.wa_id, "reactions": message.visible_reactions()},
            )
        for conversation in conversations.values():
            socketio.emit("conversation:update", conversation.to_api())
    except Exception:  # the write is durable; a failed push is caught up by the client on reconnect
        log.exception("could not notify clients")
