"""Sign-in, API tokens and CSRF protection: default deny for every page, /api route and socket.

init_app() registers the sign-in blueprint, CSRF protection (webapp.auth.csrf, which also gives
templates csrf_token()), the app-wide guard (webapp.auth.guard), the signed-in principal for the
templates, the Socket.IO connection check and the `flask create-agent`, `agents`, `create-token`
and `tokens` commands."""

from __future__ import annotations

from typing import Any

from flask import Flask, g

from ..core import navigation
from . import admin, cli, csrf, sockets
from .documents import DOCUMENTS
from .guard import PUBLIC_ENDPOINTS, require_sign_in, sent_by
from .routes import bp


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.register_blueprint(admin.bp)
    navigation.add_page(app, "Admin", "admin.page", admin_only=True)
    csrf.init_app(app)
    app.before_request(require_sign_in)
    sockets.init_app(app)
    cli.register(app)

    @app.context_processor
    def signed_in_context() -> dict[str, Any]:
        return {"signed_in": g.get("principal")}


__all__ = ["DOCUMENTS", "PUBLIC_ENDPOINTS", "init_app", "sent_by"]
