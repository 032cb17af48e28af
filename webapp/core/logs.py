"""Logs as JSON lines on stderr: every record of the logging module, and one line per request.

A request's line has its id (a sane incoming X-Request-ID, else a new one; always sent back in
X-Request-ID), method, path without the query string, status, duration and the signed-in agent
(an email or an API token's name; null when nobody). Nothing else of the request is read: no
query string, header, cookie or body, so no token, secret or message text reaches the log."""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from typing import TextIO

from flask import Flask, Response, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

log = logging.getLogger("webapp.request")

REQUEST_ID_HEADER = "X-Request-ID"
# What we accept from a client or proxy: 1-128 letters, digits and . _ : - (a UUID, a trace id).
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


def json_formatter() -> JsonFormatter:
    """One JSON object per record: time (UTC, milliseconds), level, logger, message, the request id
    when there is a request, the record's extra fields and any traceback (as `exception`)."""
    formatter = JsonFormatter(
        "{asctime}{levelname}{name}{message}",
        style="{",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger", "exc_info": "exception",
                       "stack_info": "stack"},
        json_ensure_ascii=False,
    )
    formatter.converter = time.gmtime  # type: ignore[assignment]
    formatter.default_time_format = "%Y-%m-%dT%H:%M:%S"
    formatter.default_msec_format = "%s.%03dZ"
    return formatter


class RequestIdFilter(logging.Filter):
    """Stamps records logged while a request is handled with that request's id."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id") and has_request_context() and g.get("request_id"):
            record.request_id = g.request_id
        return True


class JsonHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to the sys.stderr of the moment a record is emitted, so it follows redirection."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(json_formatter())
        self.addFilter(RequestIdFilter())

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def configure_logging(level: str = "INFO") -> None:
    """Send the root logger's records out as JSON lines (once per process, whatever calls it)."""
    root = logging.getLogger()
    if not any(isinstance(handler, JsonHandler) for handler in root.handlers):
        root.addHandler(JsonHandler())
    root.setLevel(level.upper())
    # The development server's access lines carry query strings; the request lines below replace them.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # Socket.IO's loggers add a plain-text handler of their own unless they have a level: give
    # them one (their default), so their records come out here, as JSON.
    for name in ("engineio.server", "socketio.server"):
        if logging.getLogger(name).level == logging.NOTSET:
            logging.getLogger(name).setLevel(logging.ERROR)


def init_request_log(app: Flask) -> None:
    """Register first, so the id and the clock are set before any other hook can answer."""
    app.before_request(_start)
    app.after_request(_finish)


def _start() -> None:
    g.request_started = time.perf_counter()
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if SANE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex


def _finish(response: Response) -> Response:
    request_id = g.get("request_id") or uuid.uuid4().hex
    response.headers[REQUEST_ID_HEADER] = request_id
    started = g.get("request_started")
    duration_ms = round((time.perf_counter() - started) * 1000, 2) if started is not None else None
    log.info(
        "%s %s %s",
        request.method,
        request.path,
        response.status_code,
        extra={
            "request_id": request_id,
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": duration_ms,
            "agent": agent_label(),
            "remote_addr": request.remote_addr,
        },
    )
    return response


def agent_label() -> str | None:
    """Who made the request, as the guard recorded it in g.principal: an agent's email, or
    "token:<name>" for an API token. Only email, name and kind are read, never a token's secret."""
    principal = g.get("principal")
    if principal is None:
        return None
    if principal.email:
        return str(principal.email)
    return f"token:{principal.name}" if principal.kind == "token" else str(principal.name)
