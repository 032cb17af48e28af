"""After a durable write, tell every open browser: the one place Socket.IO events are emitted.

Each event carries the API's JSON shape of what changed, plus `html`: the same partial the page
renders for it (a bubble, a tick, a reaction badge, a list row), so a browser inserts exactly what a
reload would show. Events are emitted in the order a client needs: new messages, then status moves
(forward only: the write path reports a status only when it moved forward), reactions, rows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import has_app_context

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


def _html(render: Callable[..., str], *args: Any) -> str | None:
    """The rendered partial, or None (the JSON still goes out) when there is no app to render with."""
    if not has_app_context():
        return None
    try:
        return render(*args)
    except Exception:
        log.exception("could not render %s for a pushed event", render.__name__)
        return None


def notify(changes: Changes) -> None:
    """Emit `message:new`, `message:status`, `message:reactions` and `conversation:update`."""
    if not changes:
        return
    from .models import Conversation, Message  # models import nothing from here; avoid a cycle
    from .ui import views

    def by_id(document: type, ids: object) -> list:
        # One `_id` lookup each: the only filter FerretDB pushes down, and a handful per write.
        return [d for d in (document.objects(pk=i).first() for i in ids) if d is not None]

    try:
        conversations = {c.id: c for c in by_id(Conversation, changes.conversations | changes.read_conversations)}
        names = {cid: c.contact_name for cid, c in conversations.items()}
        for message in by_id(Message, changes.new_messages):
            name = names.get(message.conversation_id)
            socketio.emit("message:new", {**message.to_api(name), "html": _html(views.render_bubble, message, name)})
        for message in by_id(Message, changes.statuses - set(changes.new_messages)):
            socketio.emit(
                "message:status",
                {
                    "id": message.id,
                    "wa_id": message.wa_id,
                    "status": message.status,
                    "timestamp": message.to_api()["statusTimestamps"].get(message.status),
                    "error": message.shown_error,
                    "html": _html(views.render_tick, message),
                },
            )
        for message in by_id(Message, changes.reactions):
            socketio.emit(
                "message:reactions",
                {"id": message.id, "wa_id": message.wa_id, "reactions": message.visible_reactions(),
                 "html": _html(views.render_reactions, message)},
            )
        for conversation in conversations.values():
            row = _html(views.render_row, conversation)
            socketio.emit("conversation:update", {**conversation.to_api(), "html": row})
    except Exception:  # the write is durable; a failed push is caught up by the client on reconnect
        log.exception("could not notify clients")
