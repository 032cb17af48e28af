"""Sign-in, API tokens and CSRF protection: default deny for every page, /api route and socket.

init_app() registers the sign-in blueprint, the app-wide guard (webapp.auth.guard), what the
templates need (the signed-in principal and the CSRF token), the Socket.IO connection check and
the `flask create-agent`, `agents`, `create-token` and `tokens` commands."""

from __future__ import annotations

from typing import Any

from flask import Flask, g

from . import cli, csrf, sockets
from .accounts import Principal
from .documents import DOCUMENTS
from .guard import PUBLIC_ENDPOINTS, current_principal, require_sign_in, sent_by
from .routes import bp, login

LOGIN_ENDPOINT = "auth.login"


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.before_request(require_sign_in)
    sockets.init_app()
    cli.register(app)

    @app.context_processor
    def signed_in_context() -> dict[str, Any]:
        return {"signed_in": g.get("principal"), "csrf_token": csrf.token}


__all__ = ["DOCUMENTS", "LOGIN_ENDPOINT", "PUBLIC_ENDPOINTS", "Principal", "current_principal", "init_app", "login",
           "sent_by"]
