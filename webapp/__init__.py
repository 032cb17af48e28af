"""A WhatsApp-Web-style team inbox on the WhatsApp Business (Cloud) API.

create_app() is the one place the parts meet: settings, the database, the extensions, every
blueprint, the event bus's subscribers and the CLI commands. The packages below it never import
it, and each imports only the layers beneath it (tests/test_architecture.py): core → whatsapp → graph →
templates_catalog, settings → inbox, auth → webhooks, media, leads, analytics, team → ocr → ai → api,
ui, demo.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from dotenv import load_dotenv
from flask import Flask

from . import ai, analytics, api, auth, demo, graph, inbox, leads, media, ocr, team, templates_catalog, ui, webhooks
from . import settings as business_settings
from .core import bus, errors, health, jobs, navigation
from .core.config import ConfigError, Settings
from .core.db import DatabaseUnavailable, connect, share_write_lock
from .core.extensions import init_socketio, socketio
from .core.logs import configure_logging, init_request_log
from .core.rate_limits import apply_limits, init_rate_limits
from .core.security import init_security
from .demo import delivery
from .ui import push

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = (*inbox.DOCUMENTS, *webhooks.DOCUMENTS, *auth.DOCUMENTS, *graph.DOCUMENTS,
             *templates_catalog.DOCUMENTS, *leads.DOCUMENTS, *ocr.DOCUMENTS, *analytics.DOCUMENTS,
             *business_settings.DOCUMENTS, *ai.DOCUMENTS, *team.DOCUMENTS)

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
        connect(settings.MONGODB_URI, settings.MONGODB_TIMEOUT_MS, DOCUMENTS)
    except (ConfigError, DatabaseUnavailable) as exc:
        raise StartupError(str(exc)) from None
    share_write_lock(settings.REDIS_URL)  # on FerretDB, writes from every process take turns

    init_socketio(app, settings.SOCKETIO_ASYNC_MODE, settings.REDIS_URL)  # through Redis when it is set
    jobs.init_app(app, settings.REDIS_URL)  # RQ workers, or this process without Redis
    init_security(app, settings)  # after Socket.IO: ProxyFix wraps its middleware too
    init_rate_limits(app)
    navigation.init_app(app)  # the pages' top bar; each package adds its page

    events = bus.init_app(app)
    media.subscribe(events)  # first: a new bubble already shows its file as being fetched
    team.counts.subscribe(events)  # before the push: the list filters' counts are up to date when it reads them
    ocr.subscribe(events)  # before the push: a stored file's bubble already says its text is being read
    push.subscribe(events)  # every change reaches every open browser
    leads.subscribe(events)  # a customer who shows intent becomes a lead
    if settings.SIMULATE_DELIVERY and not settings.WHATSAPP_ACCESS_TOKEN:
        delivery.subscribe(events)  # demo mode: app-sent messages get delivered and read
    analytics.subscribe(events)  # the dashboard's rollups, counted as messages are written
    ai.subscribe(events)  # AI auto-reply, handoff, greetings and away messages (webapp/ai)
    ui.subscribe_ai(events)  # who handles a conversation, and handoff notifications, on every open page

    app.register_blueprint(api.bp)
    app.register_blueprint(webhooks.bp)
    app.register_blueprint(ui.bp)
    app.register_blueprint(ui.leads_bp)
    navigation.add_page(app, "Leads", "leads_ui.leads")
    navigation.add_page(app, "Canned replies", "ui.canned_replies", admin_only=True)
    app.register_blueprint(media.bp)
    media.init_sending(app)  # before auth.init_app: the upload routes' size limit is set before the body is read
    app.register_blueprint(health.bp)
    health.add_report(app, "whatsapp", graph.readiness)
    app.register_blueprint(api.docs_bp)  # /openapi.json and /docs
    auth.init_app(app)  # default deny: every route but auth.guard.PUBLIC_ENDPOINTS needs sign-in
    team.presence.init_sockets(app)  # who views and types in which chat (after auth: connections are checked)
    errors.register_error_handlers(app)
    webhooks.register_cli(app)
    jobs.every(app, "webhooks.sweep", settings.WEBHOOK_SWEEP_SECONDS, webhooks.sweep_deliveries)
    jobs.every(app, "webhooks.prune", webhooks.PRUNE_EVERY if settings.WEBHOOK_KEEP_DAYS else 0,
               webhooks.prune_deliveries)
    demo.register_cli(app)
    templates_catalog.register_cli(app)
    team.register_cli(app)
    ocr.init_app(app)  # flask ocr read, and the Documents page in the top bar
    analytics.register_cli(app)
    navigation.add_page(app, "Analytics", "ui.analytics_page", admin_only=True)
    navigation.add_page(app, "Settings", "ui.settings_page", admin_only=True)
    inbox.register_cli(app)  # flask inbox audit
    business_settings.register_cli(app)  # flask settings show|set
    apply_limits(app, api=api.bp, webhook=webhooks.bp)  # last: after every blueprint (the sign-in view too)
    return app


__all__ = ["StartupError", "create_app", "socketio"]
