"""A WhatsApp-Web-style team inbox on the WhatsApp Business (Cloud) API."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from dotenv import load_dotenv
from flask import Flask

from .config import ConfigError, Settings
from .db import DatabaseUnavailable, connect
from .extensions import socketio
from .rate_limits import apply_limits, init_rate_limits
from .request_log import configure_logging, init_request_log
from .security import init_security

ROOT = Path(__file__).resolve().parent.parent

# Eventlet is in maintenance mode; the async mode is a setting (SOCKETIO_ASYNC_MODE=threading works).
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")


class StartupError(RuntimeError):
    """The app cannot start; the message is one line saying why."""


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    if overrides is None and os.environ.get("APP_ENV") != "test":
        load_dotenv(ROOT / ".env", override=False)
    try:
        settings = Settings.load(overrides)
    except ConfigError as exc:
        raise StartupError(str(exc)) from None

    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    app.config.update(settings.flask_config())
    configure_logging(settings.LOG_LEVEL)
    init_request_log(app)  # first: its hooks see every request, answered by whichever hook

    try:
        connect(settings.MONGODB_URI, settings.MONGODB_TIMEOUT_MS)
    except (ConfigError, DatabaseUnavailable) as exc:
        raise StartupError(str(exc)) from None

    socketio.init_app(app, async_mode=settings.SOCKETIO_ASYNC_MODE)
    init_security(app, settings)  # after Socket.IO: ProxyFix wraps its middleware too
    init_rate_limits(app)

    from . import api, apidocs, auth, cli, errors, health, ui, webhook

    app.register_blueprint(api.bp)
    app.register_blueprint(webhook.bp)
    app.register_blueprint(ui.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(apidocs.bp)  # /openapi.json and /docs
    auth.init_app(app)  # default deny: every route but auth.guard.PUBLIC_ENDPOINTS needs sign-in
    errors.register_error_handlers(app)
    cli.register(app)
    apply_limits(app)  # last: after every blueprint (the sign-in view too)
    return app


__all__ = ["StartupError", "create_app", "socketio"]
