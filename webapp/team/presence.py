"""Presence over Socket.IO: who else has a chat open, and who is typing in it.

A page says which chat it shows (`presence:join` with `{"wa_id": ...}`, or `null` for none) and that
its agent types (`presence:typing`, at most every couple of seconds). Each chat is a Socket.IO room;
everyone in it gets `presence:update` (`wa_id`, `viewers`: `[{name, email}]`) when someone comes or
goes, and `presence:typing` (`wa_id`, `name`, `email`) while someone types: the page shows
"Maria is typing…" and lets it expire a few seconds after the last one.

Who is where is kept in this process's memory (the Procfile runs one web process; with several,
each knows its own connections)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from flask import request
from flask_socketio import join_room, leave_room

from ..auth import accounts
from ..core.extensions import socketio
from ..whatsapp.numbers import digits, is_wa_id

NAMESPACE = "/"


@dataclass(frozen=True)
class Viewer:
    name: str
    email: str


class Presence:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rooms: dict[str, dict[str, Viewer]] = {}  # wa_id -> sid -> who
        self.where: dict[str, str] = {}  # sid -> wa_id

    def join(self, sid: str, wa_id: str | None, viewer: Viewer) -> str | None:
        """Move `sid` to `wa_id`'s room; the room it left, if any."""
        with self.lock:
            left = self._leave(sid)
            if wa_id:
                self.rooms.setdefault(wa_id, {})[sid] = viewer
                self.where[sid] = wa_id
        return left if left != wa_id else None

    def leave(self, sid: str) -> str | None:
        with self.lock:
            return self._leave(sid)

    def _leave(self, sid: str) -> str | None:
        wa_id = self.where.pop(sid, None)
        if wa_id is not None:
            room = self.rooms.get(wa_id, {})
            room.pop(sid, None)
            if not room:
                self.rooms.pop(wa_id, None)
        return wa_id

    def viewers(self, wa_id: str) -> list[dict[str, str]]:
        with self.lock:
            seen: dict[str, str] = {}
            for viewer in self.rooms.get(wa_id, {}).values():
                seen.setdefault(viewer.email, viewer.name)
        return [{"name": name, "email": email} for email, name in sorted(seen.items(), key=lambda kv: kv[1])]

    def at(self, sid: str) -> tuple[str, Viewer] | None:
        with self.lock:
            wa_id = self.where.get(sid)
            viewer = self.rooms.get(wa_id, {}).get(sid) if wa_id else None
        return (wa_id, viewer) if wa_id and viewer else None


PRESENCE = Presence()


def room(wa_id: str) -> str:
    return f"chat:{wa_id}"


def _announce(wa_id: str) -> None:
    socketio.emit("presence:update", {"wa_id": wa_id, "viewers": PRESENCE.viewers(wa_id)}, to=room(wa_id))


def _wa_id(data: Any) -> str | None:
    wa_id = data.get("wa_id") if isinstance(data, dict) else None
    return digits(wa_id) if isinstance(wa_id, str) and is_wa_id(wa_id) else None


def on_join(data: Any = None) -> None:
    sid = request.sid  # type: ignore[attr-defined]  # Flask-SocketIO sets it
    who = accounts.from_session()
    if who is None or not who.email:  # programs with a token are not "viewing" a chat
        return
    wa_id = _wa_id(data)
    left = PRESENCE.join(sid, wa_id, Viewer(who.name, who.email))
    if left:
        leave_room(room(left))
        _announce(left)
    if wa_id:
        join_room(room(wa_id))
        _announce(wa_id)


def on_typing(data: Any = None) -> None:
    found = PRESENCE.at(request.sid)  # type: ignore[attr-defined]
    if found is None or found[0] != _wa_id(data):
        return
    wa_id, viewer = found
    socketio.emit("presence:typing", {"wa_id": wa_id, "name": viewer.name, "email": viewer.email}, to=room(wa_id),
                  skip_sid=request.sid)  # type: ignore[attr-defined]


def on_disconnect(reason: Any = None) -> None:
    left = PRESENCE.leave(request.sid)  # type: ignore[attr-defined]
    if left:
        _announce(left)


def init_sockets() -> None:
    """Register the handlers on the Socket.IO server socketio.init_app() made for this app."""
    socketio.on_event("presence:join", on_join)
    socketio.on_event("presence:typing", on_typing)
    socketio.on_event("disconnect", on_disconnect)
