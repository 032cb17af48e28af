"""Socket.IO connections need a signed-in agent (the handshake's session cookie) or an API token
(`auth={"token": ...}` in the client, or an `Authorization: Bearer` header on the handshake).

Access ends at once. Each connection joins rooms naming what let it in (`session:<key>`,
`agent:<id>`, `token:<name>`), and close_session_sockets / close_agent_sockets / close_token_sockets
disconnect a room's sockets in this process and, with REDIS_URL set, in every web process (a message
on CLOSE_CHANNEL, which each serving process listens to). Signing out, `flask agents deactivate`,
`flask agents set-password` and `flask tokens revoke` call them (so does the admin page). Besides,
each serving process sweeps its own connections every SWEEP_SECONDS: a session past its expiry is
closed there and then, and every SOCKET_RECHECK_SECONDS each connection's access is asked again
(the safety net for a close message lost while Redis was away). An event a client sends is refused,
and its connection closed, once its access has ended. At most MAX_CONNECTIONS_PER_CLIENT sockets
per client address."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import redis
from flask import Flask, current_app, has_app_context, request
from flask_socketio import ConnectionRefusedError, join_room  # python-socketio's: it carries our message

from ..core.clock import utcnow
from ..core.db import DB_UNAVAILABLE
from ..core.extensions import socketio
from . import accounts
from .tokens import TokenError

log = logging.getLogger(__name__)

NAMESPACE = "/"
CLOSE_CHANNEL = "inbox:sockets:close"  # {"room": ...}: every web process closes that room's sockets
SWEEP_SECONDS = 1.0  # how often a serving process looks at its connections (expiry is exact to this)
TOO_MANY = "Too many connections from this address; close some tabs or programs and try again."
ACCESS_ENDED = "Access ended (signed out, switched off, new password or revoked token); connect again."


def session_room(session_key: str) -> str:
    return f"session:{session_key}"


def agent_room(agent_id: Any) -> str:
    return f"agent:{agent_id}"


def token_room(name: str) -> str:
    return f"token:{name}"


def principal_for_handshake(auth: Any) -> accounts.Principal:
    """Who this connection acts as, or ConnectionRefusedError with the reason."""
    token = auth.get("token") if isinstance(auth, dict) else None
    header = request.headers.get("Authorization")
    try:
        if token is not None:
            if not isinstance(token, str):
                raise TokenError("auth.token must be a string.")
            return accounts.from_token(token)
        if header is not None:
            return accounts.from_token(accounts.bearer_token(header))
    except TokenError as exc:
        raise ConnectionRefusedError(exc.message) from None
    principal = accounts.from_session()
    if principal is None:
        raise ConnectionRefusedError("Sign in first, or connect with auth={\"token\": \"<API token>\"}.")
    return principal


# --- this process's connections ----------------------------------------------------------------------


@dataclass
class Connection:
    principal: accounts.Principal
    address: str
    checked_at: float = field(default_factory=time.monotonic)


@dataclass
class _Local:
    """The connections this process serves, and its two background loops (started on the first
    connection, so processes that never serve one run neither)."""

    connections: dict[str, Connection] = field(default_factory=dict)
    per_address: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    generation: int = 0  # a new app (tests build many) stops the previous app's loops
    started: int = -1


_local = _Local()


def refuse_the_anonymous(auth: Any = None) -> None:
    """The connect handler: refuse, or record the connection and join its rooms."""
    principal = principal_for_handshake(auth)
    address = request.remote_addr or "?"
    cap = current_app.config.get("MAX_CONNECTIONS_PER_CLIENT", 100)
    with _local.lock:
        if _local.per_address[address] >= cap:
            raise ConnectionRefusedError(TOO_MANY)
        _local.per_address[address] += 1
        _local.connections[request.sid] = Connection(principal, address)
    if principal.session_key:
        join_room(session_room(principal.session_key))
    if principal.agent_id:
        join_room(agent_room(principal.agent_id))
    if principal.kind == "token":
        join_room(token_room(principal.name))
    _start_loops(current_app._get_current_object())  # type: ignore[attr-defined]


def forget(reason: Any = None) -> None:
    """The disconnect handler."""
    _drop(request.sid)


def _drop(sid: str) -> None:
    with _local.lock:
        connection = _local.connections.pop(sid, None)
        if connection is not None:
            _local.per_address[connection.address] -= 1
            if _local.per_address[connection.address] <= 0:
                del _local.per_address[connection.address]


def refuse_if_ended(event: str, *args: Any) -> dict[str, Any]:
    """Any event a client sends (the inbox has none it takes yet): refused, and the connection
    closed, when the access behind it has ended; else an unknown event."""
    connection = _local.connections.get(request.sid)
    if connection is None or not accounts.still_allowed(connection.principal):
        socketio.start_background_task(_disconnect_soon, request.sid)  # after the answer has gone out
        return {"status": "error", "message": ACCESS_ENDED}
    return {"status": "error", "message": f"Unknown event {event!r}."}


def _disconnect_soon(sid: str) -> None:
    socketio.sleep(0.2)
    _disconnect(sid)


def connection_count() -> int:
    return len(_local.connections)


def init_app(app: Flask) -> None:
    """Check every connection of the Socket.IO server socketio.init_app() just made for this app.
    (Per app: a handler registered once, at import, would stay with the first app's server.)"""
    if socketio.server is None:
        raise RuntimeError("call socketio.init_app(app) before webapp.auth.init_app(app)")
    socketio.on_event("connect", refuse_the_anonymous)
    socketio.on_event("disconnect", forget)
    socketio.on_event("*", refuse_if_ended)
    with _local.lock:
        _local.generation += 1


# --- closing: here, and in every web process -----------------------------------------------------------


def close_session_sockets(session_key: str) -> None:
    """Disconnect every socket a session opened (signing out), in every web process."""
    _close(session_room(session_key))


def close_agent_sockets(agent_id: Any) -> None:
    """Disconnect every socket of an agent (switched off, new password), in every web process."""
    _close(agent_room(agent_id))


def close_token_sockets(name: str) -> None:
    """Disconnect every socket an API token opened (revoked), in every web process."""
    _close(token_room(name))


_publishers: dict[str, redis.Redis] = {}


def _close(room: str) -> None:
    close_here(room)
    url = current_app.config.get("REDIS_URL", "") if has_app_context() else ""
    if not url:
        return
    try:
        if url not in _publishers:
            _publishers[url] = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        _publishers[url].publish(CLOSE_CHANNEL, json.dumps({"room": room}))
    except redis.RedisError:  # the recheck closes them within SOCKET_RECHECK_SECONDS
        log.warning("could not tell the other web processes to close %s's sockets (Redis is away)",
                    room.split(":", 1)[0])


def close_here(room: str) -> int:
    """Disconnect this process's sockets in `room`; how many."""
    server = socketio.server
    if server is None:
        return 0
    sids = [sid for sid, _eio_sid in list(server.manager.get_participants(NAMESPACE, room))]
    for sid in sids:
        _disconnect(sid)
    return len(sids)


def _disconnect(sid: str) -> None:
    _drop(sid)
    server = socketio.server
    if server is not None:
        server.disconnect(sid, namespace=NAMESPACE, ignore_queue=True)


# --- the two loops of a serving process -------------------------------------------------------------


def _start_loops(app: Flask) -> None:
    with _local.lock:
        if _local.started == _local.generation:
            return
        _local.started = generation = _local.generation
    socketio.start_background_task(_sweep, app, generation)
    if app.config.get("REDIS_URL"):
        socketio.start_background_task(_listen, app.config["REDIS_URL"], generation)


def _sweep(app: Flask, generation: int) -> None:
    """Close sessions that expired; ask each connection's access again every SOCKET_RECHECK_SECONDS."""
    recheck = float(app.config.get("SOCKET_RECHECK_SECONDS", 30))
    while _local.generation == generation:
        socketio.sleep(SWEEP_SECONDS)
        try:
            with app.app_context():
                _sweep_once(recheck)
        except DB_UNAVAILABLE as exc:  # the database away: the next sweep asks again
            log.warning("could not check the open Socket.IO connections: %s", str(exc).split("\n")[0][:200])
        except Exception:
            log.exception("could not check the open Socket.IO connections")


def _sweep_once(recheck: float) -> None:
    now, wall = time.monotonic(), utcnow()
    answers: dict[accounts.Principal, bool] = {}  # one lookup per session or token, however many tabs
    for sid, connection in list(_local.connections.items()):
        principal = connection.principal
        if principal.expires_at is not None and principal.expires_at <= wall:
            _disconnect(sid)
        elif recheck > 0 and now - connection.checked_at >= recheck:
            if principal not in answers:
                answers[principal] = accounts.still_allowed(principal)
            connection.checked_at = now
            if not answers[principal]:
                _disconnect(sid)


def _listen(url: str, generation: int) -> None:
    """Close the rooms other processes name on CLOSE_CHANNEL (reconnecting when Redis comes back)."""
    while _local.generation == generation:
        pubsub = None
        try:
            pubsub = redis.Redis.from_url(url, socket_connect_timeout=2, health_check_interval=30).pubsub(
                ignore_subscribe_messages=True)
            pubsub.subscribe(CLOSE_CHANNEL)
            while _local.generation == generation:
                message = pubsub.get_message(timeout=1.0)
                if message and message.get("type") == "message":
                    room = json.loads(message["data"]).get("room")
                    if isinstance(room, str):
                        close_here(room)
        except (redis.RedisError, OSError, ValueError) as exc:
            log.warning("the socket-closing channel failed (%s); listening again in a second", exc)
            socketio.sleep(1.0)
        finally:
            if pubsub is not None:
                pubsub.close()
