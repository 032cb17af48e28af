"""The bus subscribers that keep the rollups up to date (registered in create_app)."""

from __future__ import annotations

from ..core.bus import EventBus
from ..inbox.documents import Message
from ..inbox.events import MessageStored
from .rollups import fold_message


def on_message_stored(event: MessageStored) -> None:
    message = Message.objects(pk=event.message_id).first()
    if message is not None:
        fold_message(message)


def subscribe(bus: EventBus) -> None:
    bus.subscribe(MessageStored, on_message_stored)
