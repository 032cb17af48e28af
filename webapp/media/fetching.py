"""When a file arrives, fetch it: the bus subscriber that starts a media job for every received
image, video, audio, voice note, document and sticker, and the retry an agent asks for.

Only with the Graph API configured (graph.is_live()): in demo mode there is nothing to fetch from."""

from __future__ import annotations

from flask import current_app

from .. import graph
from ..core.bus import EventBus
from ..core.jobs import enqueue
from ..inbox.documents import Message
from ..inbox.events import MessageStored
from ..whatsapp.message_types import media_type
from . import records
from .tasks import fetch_media


def subscribe(bus: EventBus) -> None:
    bus.subscribe(MessageStored, _on_message_stored)


def fetchable(message: Message) -> bool:
    return message.direction == "inbound" and media_type(message.type) is not None and graph.is_live()


def request_fetch(message: Message) -> None:
    """Mark the media pending and start the job (it retries on its own with the queue's backoff)."""
    records.pending(message)
    enqueue(fetch_media, message.id, retry_intervals=current_app.config["MEDIA_RETRY_DELAYS"])


def _on_message_stored(event: MessageStored) -> None:
    message = event.fixed()  # direction, type and content: what deciding and describing the fetch needs
    if message is not None and fetchable(message):
        request_fetch(message)
