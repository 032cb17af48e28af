"""The event bus: a write publishes what changed, after it is durable; subscribers react.

Subscribers are registered in create_app() (the realtime push, analytics rollups, the list's
counters, AI replies, leads, media downloads, OCR, demo delivery), per app, so every process that
builds the app (web or worker) has the same ones. Publishing is synchronous and in order; a
subscriber that fails is logged and the others still run: the write already happened, and a failed
side effect must not undo it.
A subscriber that has slow work to do enqueues a job (webapp.core.jobs) instead of doing it here.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from flask import Flask, current_app, has_app_context

log = logging.getLogger(__name__)

E = TypeVar("E")
Handler = Callable[[Any], None]


class EventBus:
    def __init__(self) -> None:
        self._handlers: dict[type, list[Handler]] = defaultdict(list)

    def subscribe(self, event_type: type[E], handler: Callable[[E], None]) -> None:
        self._handlers[event_type].append(handler)

    def publish(self, event: object) -> None:
        for handler in self._handlers.get(type(event), ()):
            try:
                handler(event)
            except Exception:
                log.exception("subscriber %s failed on %s", getattr(handler, "__qualname__", handler),
                              type(event).__name__)

    def publish_all(self, events: Iterable[object]) -> None:
        for event in events:
            self.publish(event)


def init_app(app: Flask) -> EventBus:
    bus = EventBus()
    app.extensions["bus"] = bus
    return bus


def bus() -> EventBus:
    return current_app.extensions["bus"]


def publish(*events: object) -> None:
    """Publish on the current app's bus; without an app (a bare script) there is nobody to tell."""
    if has_app_context():
        bus().publish_all(events)
