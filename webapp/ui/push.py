"""The realtime push: the event bus's subscriber that tells every open browser what changed; the
one place Socket.IO events are emitted.

Each event carries the API's JSON shape of what changed, plus `html`: the same partial the page
renders for it (a bubble, a tick, a reaction badge, a list row), so a browser inserts exactly what a
reload would show. The write path publishes in the order a client needs (new messages, then status
moves, reactions, rows), and each handler reads the current state with one `_id` lookup.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, current_app
from redis import RedisError

from .. import team
from ..core.bus import EventBus
from ..core.clock import iso
from ..core.db import DB_UNAVAILABLE
from ..core.extensions import socketio
from ..core.jobs import redis_connection
from ..graph.events import TokenStatusChanged
from ..inbox import documents
from ..inbox.events import (
    ConversationChanged,
    ConversationStateChanged,
    MessageMediaChanged,
    MessageStatusChanged,
    MessageStored,
    ReactionsChanged,
)
from ..inbox.schemas import Conversation, Message
from ..ocr.events import MessageTextExtracted
from . import views

log = logging.getLogger(__name__)


# A push reads what changed from the database; if it is away just then (a blip after the write),
# the push is tried again after these many seconds, in the background; after the last, every page
# is told to fetch its list and open chat again (`inbox:resync`) instead.
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)


# What a page shows changed: counted so that a page can tell, when its socket first connects, whether
# something changed between its HTML being made and the connection (it then fetches its list and chat
# again). Shared through Redis (REDIS_URL), else counted in this process (the only one).
CHANGES_KEY = "inbox:changes"
SHOWN_CHANGES = (MessageStored, MessageStatusChanged, ReactionsChanged, MessageMediaChanged, ConversationChanged,
                 ConversationStateChanged)
_changes_here = {"n": 0}
_changes_lock = threading.Lock()


def note_change(_event: object) -> None:
    redis = redis_connection()
    if redis is None:
        with _changes_lock:
            _changes_here["n"] += 1
        return
    try:
        redis.incr(CHANGES_KEY)
    except RedisError:
        log.warning("could not count a change for pages about to connect", exc_info=True)


def change_marker() -> int | None:
    """How many changes pages have been told of so far; None when it cannot be known (Redis away)."""
    redis = redis_connection()
    if redis is None:
        return _changes_here["n"]
    try:
        return int(redis.get(CHANGES_KEY) or 0)
    except RedisError:
        return None


def subscribe(bus: EventBus) -> None:
    for event_type in SHOWN_CHANGES:
        bus.subscribe(event_type, note_change)
    bus.subscribe(MessageStored, resilient(push_new_message))
    bus.subscribe(MessageStatusChanged, resilient(push_status))
    bus.subscribe(ReactionsChanged, resilient(push_reactions))
    bus.subscribe(MessageMediaChanged, resilient(push_media))
    bus.subscribe(ConversationChanged, resilient(push_conversation))
    bus.subscribe(TokenStatusChanged, push_whatsapp_status)
    bus.subscribe(ConversationStateChanged, push_state)
    bus.subscribe(team.CountsChanged, push_counts)
    bus.subscribe(team.NoteAdded, push_note)
    bus.subscribe(MessageTextExtracted, push_extracted_text)


def resilient(push: Callable[[Any], None]) -> Callable[[Any], None]:
    """`push`, tried again in the background while the database is away (see RETRY_DELAYS)."""

    @wraps(push)
    def run(event: Any) -> None:
        try:
            push(event)
        except DB_UNAVAILABLE:
            log.warning("the database is away: %s will be pushed again shortly", type(event).__name__)
            socketio.start_background_task(_retry, current_app._get_current_object(), push, event)  # type: ignore[attr-defined]

    return run


def _retry(app: Flask, push: Callable[[Any], None], event: Any) -> None:
    for delay in RETRY_DELAYS:
        socketio.sleep(delay)
        try:
            with app.app_context():
                push(event)
            return
        except DB_UNAVAILABLE:
            continue
        except Exception:
            log.exception("could not push %s", type(event).__name__)
            break
    socketio.emit("inbox:resync", {})  # the pages fetch what they show again


def _html(render: Callable[..., str], *args: Any) -> str | None:
    """The rendered partial, or None (the JSON still goes out) when it cannot be rendered."""
    try:
        return render(*args)
    except Exception:
        log.exception("could not render %s for a pushed event", render.__name__)
        return None


def _contact_name(conversation_id: str) -> str | None:
    conversation = documents.Conversation.objects(pk=conversation_id).only("contact_name").first()
    return conversation.contact_name if conversation else None


def push_new_message(event: MessageStored) -> None:
    message = documents.Message.objects(pk=event.message_id).first()
    if message is None:
        return
    name = _contact_name(event.conversation_id)
    shape = Message.of(message, name).model_dump(mode="json")
    socketio.emit("message:new", {**shape, "html": _html(views.render_bubble, message, name)})


def push_status(event: MessageStatusChanged) -> None:
    message = documents.Message.objects(pk=event.message_id).first()
    if message is None:
        return
    socketio.emit("message:status", {
        "id": message.id,
        "wa_id": message.wa_id,
        "status": message.status,
        "timestamp": iso((message.status_times or {}).get(message.status or "")),
        "error": message.shown_error,
        "html": _html(views.render_tick, message),
    })


def push_reactions(event: ReactionsChanged) -> None:
    message = documents.Message.objects(pk=event.message_id).first()
    if message is None:
        return
    socketio.emit("message:reactions", {"id": message.id, "wa_id": message.wa_id,
                                        "reactions": message.visible_reactions(),
                                        "html": _html(views.render_reactions, message)})


def push_media(event: MessageMediaChanged) -> None:
    """A received file is being fetched, stored, or failed: the whole bubble again (its file shows in it)."""
    message = documents.Message.objects(pk=event.message_id).first()
    if message is None:
        return
    name = _contact_name(message.conversation_id)
    media = Message.of(message, name).media
    socketio.emit("message:media", {"id": message.id, "wa_id": message.wa_id,
                                    "media": media.model_dump(mode="json") if media else None,
                                    "html": _html(views.render_bubble, message, name)})


def push_conversation(event: ConversationChanged) -> None:
    conversation = documents.Conversation.objects(pk=event.conversation_id).first()
    if conversation is None:
        return
    shape = Conversation.of(conversation).model_dump(mode="json")
    socketio.emit("conversation:update", {**shape, "html": _html(views.render_row, conversation)})


def push_whatsapp_status(event: TokenStatusChanged) -> None:
    """WhatsApp refused the access token (or takes it again): every open page's banner says so."""
    socketio.emit("whatsapp:status", {"problem": event.problem, "html": _html(views.render_whatsapp_banner)})



def push_state(event: ConversationStateChanged) -> None:
    """A conversation was resolved, reopened or (un)assigned: the open chat's header changes on every page
    (the list row comes with the ConversationChanged published beside it)."""
    conversation = documents.Conversation.objects(pk=event.conversation_id).first()
    if conversation is None:
        return
    socketio.emit("conversation:state", {
        "wa_id": conversation.wa_id, "conversationStatus": conversation.status or documents.OPEN,
        "assignee": conversation.assignee, "by": event.by,
        "html": _html(views.render_chat_state, conversation)})


def push_counts(event: team.CountsChanged) -> None:
    """The list filters' counts: the shared ones, and Mine per assignee (each page picks its agent's)."""
    found = team.counts.all_counts()
    socketio.emit("team:counts", {"counts": team.counts.for_agent(None, found),
                                  "mine": team.counts.by_assignee(found)})


def push_note(event: team.NoteAdded) -> None:
    note = team.notes.get(event.note_id)
    if note is None:
        return
    socketio.emit("note:new", {"id": note.id, "wa_id": note.wa_id, "author": note.author,
                               "authorName": note.author_name, "text": note.text,
                               "timestamp": iso(note.created_at), "html": _html(views.render_note, note)})


def push_extracted_text(event: MessageTextExtracted) -> None:
    """The text of a received image or PDF was read (or could not be): the whole bubble again (it shows the text)."""
    message = documents.Message.objects(pk=event.message_id).first()
    if message is None:
        return
    name = _contact_name(message.conversation_id)
    shape = Message.of(message, name)
    socketio.emit("message:text", {"id": message.id, "wa_id": message.wa_id, "extractedText": shape.extracted_text,
                                   "html": _html(views.render_bubble, message, name)})
