"""Socket.IO connections need a signed-in agent (the handshake's session cookie) or an API token
(`auth={"token": ...}` in the client, or an `Authorization: Bearer` header on the handshake).

A cookie connection joins its session's room, so signing out closes that browser's sockets."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_socketio import ConnectionRefusedError, join_room  # python-socketio's: it carries our message

from ..core.extensions import socketio
from . import accounts
from .tokens import TokenError

NAMESPACE = "/"


def session_room(session_key: str) -> str:
    return f"session:{session_key}"


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


def refuse_the_anonymous(auth: Any = None) -> None:
    """The connect handler: refuse, or join the session's room."""
    principal = principal_for_handshake(auth)
    if principal.session_key:
        join_room(session_room(principal.session_key))


def init_app() -> None:
    """Check every connection of the Socket.IO server socketio.init_app() just made for this app.
    (Per app: a handler registered once, at import, would stay with the first app's server.)"""
    if socketio.server is None:
        raise RuntimeError("call socketio.init_app(app) before webapp.auth.init_app(app)")
    socketio.on_event("connect", refuse_the_anonymous)


def close_session_sockets(session_key: str) -> None:
    """Disconnect every socket a signed-out session opened (in this process)."""
    server = socketio.server
    if server is None:
        return
    for sid, _eio_sid in list(server.manager.get_participants(NAMESPACE, session_room(session_key))):
        server.disconnect(sid, namespace=NAMESPACE)
