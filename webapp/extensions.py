"""Extensions, created once and bound to the app in create_app()."""

from __future__ import annotations

from flask_socketio import SocketIO

socketio = SocketIO()
