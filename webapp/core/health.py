"""Probes for the platform, public and not redirected to HTTPS (load balancers probe over HTTP):
/healthz says the process is up, /readyz that it can serve (the database answers, and Redis too
when REDIS_URL is set). What failed and why goes to the log; the answer only names what is down."""

from __future__ import annotations

import logging
from collections.abc import Callable

import mongoengine
import pymongo
import redis
from flask import Blueprint, Flask, Response, current_app
from mongoengine.connection import ConnectionFailure as MongoEngineConnectionFailure
from pymongo.errors import PyMongoError

from .db import redact
from .errors import envelope, error_response
from .security import plain_http_allowed

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)

REDIS_TIMEOUT_S = 2.0
LABELS = {"database": "the database", "redis": "Redis"}


@bp.get("/healthz")
@plain_http_allowed
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@bp.get("/readyz")
@plain_http_allowed
def readyz() -> Response | tuple[Response, int]:
    checks = {"database": _database_ok()}
    if current_app.config.get("REDIS_URL"):
        checks["redis"] = _redis_ok(current_app)
    down = [name for name, ok in checks.items() if not ok]
    if down:
        names = " and ".join(LABELS[name] for name in down)
        response = error_response(
            503, f"Not ready: {names} {'is' if len(down) == 1 else 'are'} not answering.",
            {name: "not answering" for name in down},
        )
        response.headers["Retry-After"] = "5"
        return response
    data = {name: "ok" for name in checks}
    for name, report in current_app.extensions.get("health.reports", {}).items():
        data[name] = report()  # what the app can tell of a service it uses, without being unready for it
    return envelope(data, "Ready")


def add_report(app: Flask, name: str, report: Callable[[], str]) -> None:
    """Show `report()` under `name` in /readyz, as information: a problem there does not take the app
    out of rotation (the inbox still works when, say, WhatsApp refuses its token)."""
    app.extensions.setdefault("health.reports", {})[name] = report


def _database_ok() -> bool:
    try:
        with pymongo.timeout(current_app.config["MONGODB_TIMEOUT_MS"] / 1000):
            mongoengine.get_db().command("ping")
    except (PyMongoError, MongoEngineConnectionFailure) as exc:
        reason = str(exc).split(",")[0].split("\n")[0]
        log.warning("readyz: the database at %s is not answering: %s",
                    redact(current_app.config["MONGODB_URI"]), reason)
        return False
    return True


def _redis_ok(app: Flask) -> bool:
    client = app.extensions.get("health.redis")
    if client is None:
        client = redis.Redis.from_url(
            app.config["REDIS_URL"], socket_connect_timeout=REDIS_TIMEOUT_S, socket_timeout=REDIS_TIMEOUT_S
        )
        app.extensions["health.redis"] = client
    try:
        client.ping()
    except redis.RedisError as exc:
        log.warning("readyz: Redis at %s is not answering: %s", redact(app.config["REDIS_URL"]), exc)
        return False
    return True
