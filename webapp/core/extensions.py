"""Extensions, created once and bound to the app in create_app()."""

from __future__ import annotations

import sys

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_socketio import SocketIO
from flask_talisman import Talisman
from socketio import RedisManager

socketio = SocketIO()
# Per client address (behind proxies, the one ProxyFix found: see webapp.security). Storage, the
# on/off switch and the limits themselves are settings (RATELIMIT_*, REDIS_URL): webapp.rate_limits.
limiter = Limiter(key_func=get_remote_address)
# Security headers and the Content-Security-Policy: webapp.security.
talisman = Talisman()


def eventlet_patched() -> bool:
    """True in the eventlet web server (wsgi.py, gunicorn's eventlet worker): it patched the sockets.
    Looked up, not imported: a process that never imported eventlet is not patched."""
    patcher = sys.modules.get("eventlet.patcher")
    return patcher is not None and bool(patcher.is_monkey_patched("socket"))


def init_socketio(app: Flask, async_mode: str, redis_url: str) -> None:
    """Bind Socket.IO. With REDIS_URL every emit goes through Redis's pub/sub, so each web process
    pushes to its own browsers whatever process emitted (a worker, another web process).

    A process that does not serve (an RQ worker, a `flask` command: eventlet asked for but not
    patched) emits in threading mode and only publishes; it neither listens nor needs eventlet."""
    serves = async_mode == "threading" or eventlet_patched()
    # Always passed: SocketIO keeps init_app's options, and an app without Redis must not inherit
    # the previous app's manager (tests build many apps in one process).
    manager = RedisManager(redis_url, channel="flask-socketio", write_only=not serves) if redis_url else None
    # WebSocket only (no long-polling): a client's whole session is one connection to one process, so
    # several web processes behind a proxy need no sticky sessions. Program clients pass
    # transports=["websocket"] (python-socketio) too.
    socketio.init_app(app, async_mode=async_mode if serves else "threading", client_manager=manager,
                      transports=["websocket"])
