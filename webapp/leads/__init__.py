"""Leads captured from conversations: extraction (pure), the lead document, the one write path
(capture), the list and CSV export (queries, export)."""

from ..core.bus import EventBus
from ..inbox.events import MessageStored
from . import capture
from .documents import DOCUMENTS


def subscribe(bus: EventBus) -> None:
    bus.subscribe(MessageStored, capture.on_message_stored)


__all__ = ["DOCUMENTS", "subscribe"]
