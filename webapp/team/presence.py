"""Presence over Socket.IO: who else has a chat open, and who is typing in it.

A page says which chat it shows (`presence:join` with `{"wa_id": ...}`, or `null` for none) and that
its agent types (`presence:typing`, at most every couple of seconds). Each chat is a Socket.IO room;
everyone in it gets `presence:update` (`wa_id`, `viewers`: `[{name, email}]`) when someone comes or
goes, and `presence:typing` (`wa_id`, `name`, `email`) while someone types: the page shows
"Maria is typing…" and lets it expire a few seconds after the last one.

Each process keeps its own connections in memory. With REDIS_URL the viewers of a chat are shared by
every web process: a Redis hash per chat (`presence:chat:<wa_id>`, a field per connection,
`<process>:<sid>`), and a key per process that lives while the process does (`presence:process:<id>`,
refreshed every PROCESS_REFRESH seconds, gone PROCESS_TTL seconds after the process): a viewer whose
process died is left out (and removed) the next time the chat's viewers are read. Without Redis, or while
it is away, a process shows the viewers it knows."""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from flask import Flask, request
from flask_socketio import join_room, leave_room
from redis import Redis, RedisError

from ..auth import accounts, sockets
from ..core.extensions import socketio
from ..core.jobs import redis_connection
from ..whatsapp.numbers import digits, is_wa_id

NAMESPACE = "/"
PROCESS_TTL = 30  # seconds
PROCESS_REFRESH = 10

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Viewer:
    name: str
    email: str


class Presence:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rooms: dict[str, dict[str, Viewer]] = {}  # wa_id -> sid -> who
        self.where: dict[str, str] = {}  # sid -> wa_id
        self.process = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.shared: dict[int, Redis] = {}  # the Redis servers this process's viewers are in (kept alive there)

    def join(self, sid: str, wa_id: str | None, viewer: Viewer) -> str | None:
        """Move `sid` to `wa_id`'s room; the room it left, if any."""
        with self.lock:
            left = self._leave(sid)
            if wa_id:
                self.rooms.setdefault(wa_id, {})[sid] = viewer
                self.where[sid] = wa_id
        self._share(sid, left, wa_id, viewer)
        return left if left != wa_id else None

    def leave(self, sid: str) -> str | None:
        with self.lock:
            left = self._leave(sid)
        self._share(sid, left, None, None)
        return left

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
            here = list(self.rooms.get(wa_id, {}).values())
        seen: dict[str, str] = {}
        for viewer in [*here, *self._shared_viewers(wa_id)]:
            seen.setdefault(viewer.email, viewer.name)
        return [{"name": name, "email": email} for email, name in sorted(seen.items(), key=lambda kv: kv[1])]

    # --- across web processes (REDIS_URL) ---------------------------------------------------------------

    def _share(self, sid: str, left: str | None, joined: str | None, viewer: Viewer | None) -> None:
        redis = redis_connection()
        if redis is None:
            return
        field = f"{self.process}:{sid}"
        try:
            pipe = redis.pipeline(transaction=False)
            if left and left != joined:
                pipe.hdel(_chat_key(left), field)
            if joined and viewer is not None:
                pipe.hset(_chat_key(joined), field, json.dumps([viewer.name, viewer.email]))
                pipe.set(_process_key(self.process), "1", ex=PROCESS_TTL)
            pipe.execute()
        except RedisError:
            log.warning("presence: Redis unavailable; other web processes do not see this change", exc_info=True)
            return
        if joined and id(redis) not in self.shared:
            self.shared[id(redis)] = redis
            if len(self.shared) == 1:
                socketio.start_background_task(self._keep_alive)

    def _shared_viewers(self, wa_id: str) -> list[Viewer]:
        """The chat's viewers on other web processes that are alive (those of dead ones are removed)."""
        redis = redis_connection()
        if redis is None:
            return []
        try:
            entries = {k.decode(): v for k, v in redis.hgetall(_chat_key(wa_id)).items()}
            processes = sorted({field.rsplit(":", 1)[0] for field in entries})
            keys = [_process_key(process) for process in processes]
            alive = dict(zip(processes, redis.mget(keys), strict=True)) if processes else {}
            dead = [field for field in entries if alive.get(field.rsplit(":", 1)[0]) is None]
            if dead:
                redis.hdel(_chat_key(wa_id), *dead)
        except RedisError:
            log.warning("presence: Redis unavailable; showing this process's viewers only", exc_info=True)
            return []
        found = []
        for field, value in entries.items():
            if field not in dead and not field.startswith(f"{self.process}:"):
                name, email = json.loads(value)
                found.append(Viewer(str(name), str(email)))
        return found

    def _keep_alive(self) -> None:
        """Refresh this process's key in each Redis its viewers are in, while it runs."""
        while True:
            socketio.sleep(PROCESS_REFRESH)
            for redis in list(self.shared.values()):
                try:
                    redis.set(_process_key(self.process), "1", ex=PROCESS_TTL)
                except RedisError:
                    log.warning("presence: could not refresh this process in Redis", exc_info=True)

    def at(self, sid: str) -> tuple[str, Viewer] | None:
        with self.lock:
            wa_id = self.where.get(sid)
            viewer = self.rooms.get(wa_id, {}).get(sid) if wa_id else None
        return (wa_id, viewer) if wa_id and viewer else None


PRESENCE = Presence()


def _chat_key(wa_id: str) -> str:
    return f"presence:chat:{wa_id}"


def _process_key(process: str) -> str:
    return f"presence:process:{process}"


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


def init_sockets(app: Flask) -> None:
    """Register the handlers on the Socket.IO server socketio.init_app() made for this app (the disconnect
    through webapp.auth.sockets, which owns Socket.IO's one disconnect handler)."""
    socketio.on_event("presence:join", on_join)
    socketio.on_event("presence:typing", on_typing)
    sockets.on_disconnect(app, on_disconnect)
