"""The bus subscribers that keep the rollups up to date (registered in create_app)."""

from __future__ import annotations

from ..core.bus import EventBus
from ..inbox.events import ConversationStateChanged, MessageStored
from .rollups import StateChange, fold_message, fold_state_change


def on_message_stored(event: MessageStored) -> None:
    message = event.fixed()
    if message is not None:
        fold_message(message)


def on_state_changed(event: ConversationStateChanged) -> None:
    fold_state_change(StateChange(event.conversation_id, event.status, event.previous_status, event.assignee,
                                  event.by, event.at))


def subscribe(bus: EventBus) -> None:
    bus.subscribe(MessageStored, on_message_stored)
    bus.subscribe(ConversationStateChanged, on_state_changed)
