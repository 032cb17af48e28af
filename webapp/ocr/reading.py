"""When a customer's image or PDF is stored, read its text: the bus subscriber that starts the job."""

from __future__ import annotations

from ..core.bus import EventBus
from ..core.jobs import enqueue
from ..inbox.documents import Message
from ..inbox.events import MessageMediaChanged
from . import records
from .tasks import read_text


def subscribe(bus: EventBus) -> None:
    bus.subscribe(MessageMediaChanged, _on_media_changed)


def request_reading(message: Message, *, again: bool = False) -> bool:
    """Summarise the stored file and start reading it, unless it is read (or being read) already; `again`:
    read it anyway (other languages, a job lost)."""
    source = records.source_of(message)
    if source is None or (records.is_read(message, source) and not again):
        return False
    records.summarise(message, source)
    records.pending(message, source)
    enqueue(read_text, message.id)
    return True


def _on_media_changed(event: MessageMediaChanged) -> None:
    message = Message.objects(pk=event.message_id).first()
    if message is not None:
        request_reading(message)
