"""A local WhatsApp Cloud API (Meta's Graph API) server for tests and demos.

It speaks the documented protocol on a loopback port: send (`POST /{version}/{phone_number_id}/messages`),
mark read with a typing indicator (the same path), media upload, media URL retrieval and download,
`GET /{version}/{waba_id}/message_templates`, bearer-token auth and Meta's error bodies. Tests can queue
faults (an error, a delay, a dropped connection) per route, revoke the token, read back every request
received, and make the server post signed status webhooks (`sent`, `delivered`, `read`, `failed`) to the
app, optionally before it answers the send call.

In a test: the `graph_api` fixture (this module, registered as a plugin). For a demo:
`python -m tests.helpers.graph_api --port 8089 --token T --phone-number-id ID --waba-id W \
--webhook-url URL --app-secret S`
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import re
import secrets
import socket
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from devdb.launcher import free_port

TOKEN = "test-graph-token"
PHONE_NUMBER_ID = "629305560276479"  # the same business number as tests/conftest.py
DISPLAY_PHONE_NUMBER = "918329446654"
WABA_ID = "102290129340398"

ROUTES = ("send", "mark_read", "upload", "media", "download", "templates")
VERSION = re.compile(r"v\d+\.\d+")
RECIPIENT = re.compile(r"\+?\d{5,15}")
PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")

MEDIA_TYPES = ("image", "video", "audio", "document", "sticker")
MESSAGE_TYPES = ("text", *MEDIA_TYPES, "reaction", "template", "interactive", "location", "contacts")
MEDIA_KEYS: dict[str, set[str]] = {
    "image": {"id", "link", "caption"},
    "video": {"id", "link", "caption"},
    "document": {"id", "link", "caption", "filename"},
    "audio": {"id", "link"},
    "sticker": {"id", "link"},
}
MB = 1024 * 1024
# Meta's supported media types and their size limits (sticker: the animated limit).
UPLOAD_LIMITS: dict[str, int] = {
    "image/jpeg": 5 * MB, "image/png": 5 * MB, "image/webp": 500 * 1024,
    "audio/aac": 16 * MB, "audio/amr": 16 * MB, "audio/mpeg": 16 * MB, "audio/mp4": 16 * MB, "audio/ogg": 16 * MB,
    "video/mp4": 16 * MB, "video/3gpp": 16 * MB,
    "text/plain": 100 * MB, "application/pdf": 100 * MB,
    "application/msword": 100 * MB, "application/vnd.ms-excel": 100 * MB, "application/vnd.ms-powerpoint": 100 * MB,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": 100 * MB,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": 100 * MB,
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": 100 * MB,
}
INTERACTIVE_TYPES = {"button", "list", "cta_url", "product", "product_list", "catalog_message", "flow",
                     "location_request_message", "address_message", "call_permission_request", "voice_call"}
TEMPLATE_COMPONENT_TYPES = {"header", "body", "button", "carousel", "limited_time_offer", "order_status"}
TEMPLATE_PARAMETER_TYPES = {"text", "currency", "date_time", "image", "document", "video", "location", "payload",
                            "coupon_code", "action", "limited_time_offer", "order_status", "product"}

# Titles Meta puts in `message` ("(#code) title") and in status webhook errors.
ERROR_TITLES: dict[int, str] = {
    1: "An unknown error occurred",
    2: "Service temporarily unavailable",
    4: "Application request limit reached",
    100: "Invalid parameter",
    190: "Invalid OAuth access token - Cannot parse access token",
    130429: "Rate limit hit",
    131000: "Something went wrong",
    131005: "Access denied",
    131008: "Required parameter is missing",
    131009: "Parameter value is not valid",
    131016: "Service unavailable",
    131026: "Message undeliverable",
    131047: "Re-engagement message",
    131048: "Spam rate limit hit",
    131049: "This message was not delivered to maintain healthy ecosystem engagement.",
    131051: "Unsupported message type",
    131053: "Media upload error",
    131056: "(Business Account, Consumer Account) pair rate limit hit",
    132000: "Number of parameters does not match the expected number of params",
    132001: "Template name does not exist in the translation",
    132015: "Template is Paused",
    132016: "Template is Disabled",
    133010: "Account not registered",
}
TRANSIENT_CODES = {1, 2, 4, 130429, 131000, 131016, 131056}


class GraphError(Exception):
    """One of Meta's error answers: `{"error": {message, type, code, error_subcode?, error_data?, fbtrace_id}}`."""

    def __init__(self, status: int, code: int, message: str | None = None, *, details: str | None = None,
                 error_type: str = "OAuthException", subcode: int | None = None,
                 retry_after: int | None = None) -> None:
        self.retry_after = retry_after  # seconds, sent as the Retry-After header
        self.status = status
        self.code = code
        self.message = message or titled(code)
        self.details = details
        self.error_type = error_type
        self.subcode = subcode
        super().__init__(f"{status} {code}: {self.message}")

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message, "type": self.error_type, "code": self.code}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        if self.details is not None:
            error["error_data"] = {"messaging_product": "whatsapp", "details": self.details}
        if self.code in TRANSIENT_CODES:
            error["is_transient"] = True
        error["fbtrace_id"] = trace_id()
        return {"error": error}


def titled(code: int) -> str:
    title = ERROR_TITLES.get(code, "Unknown error")
    return title if code == 190 else f"(#{code}) {title}"


def trace_id() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(9)).decode()[:11]


def required(path: str) -> GraphError:
    return GraphError(400, 100, f"(#100) The parameter {path} is required.", details=f"{path} is required")


def invalid(path: str, problem: str) -> GraphError:
    return GraphError(400, 131009, details=f"{path}: {problem}")


def unexpected(path: str, key: str) -> GraphError:
    return GraphError(400, 100, f'(#100) Unexpected key "{key}" on param "{path}".',
                      details=f"{key} is not a parameter of {path}")


def unknown_object(method: str, object_id: str) -> GraphError:
    return GraphError(
        400, 100,
        f"Unsupported {method.lower()} request. Object with ID '{object_id}' does not exist, cannot be loaded due to "
        "missing permissions, or does not support this operation. Please read the Graph API documentation at "
        "https://developers.facebook.com/docs/graph-api",
        error_type="GraphMethodException", subcode=33,
    )


# --- validation of the send body (pure functions: body in, GraphError out) ---

def child(path: str, key: str | int) -> str:
    return f"{path}[{key!r}]" if path else str(key)


def object_at(parent: dict[str, Any], key: str, path: str, *, optional: bool = False) -> dict[str, Any] | None:
    where = child(path, key)
    if key not in parent:
        if optional:
            return None
        raise required(where)
    value = parent[key]
    if not isinstance(value, dict):
        raise invalid(where, "must be an object")
    return value


def string_at(parent: dict[str, Any], key: str, path: str, *, optional: bool = False, max_length: int | None = None,
              allow_empty: bool = False) -> str | None:
    where = child(path, key)
    if key not in parent:
        if optional:
            return None
        raise required(where)
    value = parent[key]
    if not isinstance(value, str):
        raise invalid(where, "must be a string")
    if not value and not allow_empty:
        raise required(where)
    if max_length is not None and len(value) > max_length:
        raise invalid(where, f"must be at most {max_length} characters (got {len(value)})")
    return value


def list_at(parent: dict[str, Any], key: str, path: str, *, optional: bool = False, min_items: int = 1,
            max_items: int | None = None) -> list[Any] | None:
    where = child(path, key)
    if key not in parent:
        if optional:
            return None
        raise required(where)
    value = parent[key]
    if not isinstance(value, list):
        raise invalid(where, "must be an array")
    if len(value) < min_items or (max_items is not None and len(value) > max_items):
        raise invalid(where, f"must have {min_items} to {max_items or 'any number of'} items (got {len(value)})")
    return value


def only_keys(value: dict[str, Any], allowed: Iterable[str], path: str) -> None:
    for key in value:
        if key not in allowed:
            raise unexpected(path, key)


def check_text(text: dict[str, Any], path: str) -> None:
    only_keys(text, {"body", "preview_url"}, path)
    string_at(text, "body", path, max_length=4096)
    if "preview_url" in text and not isinstance(text["preview_url"], bool):
        raise invalid(child(path, "preview_url"), "must be a boolean")


def check_media(kind: str, media: dict[str, Any], path: str, known_media: Callable[[str], bool]) -> None:
    only_keys(media, MEDIA_KEYS[kind], path)
    if ("id" in media) == ("link" in media):
        raise GraphError(400, 100, f"(#100) The parameter {path} must have exactly one of id or link.",
                         details=f"{path} needs either id (uploaded media) or link, not both")
    media_id = string_at(media, "id", path, optional=True)
    if media_id is not None and not known_media(media_id):
        raise invalid(child(path, "id"), f"no media with id {media_id}")
    link = string_at(media, "link", path, optional=True)
    if link is not None and not link.startswith(("http://", "https://")):
        raise invalid(child(path, "link"), "must be an http(s) URL")
    string_at(media, "caption", path, optional=True, max_length=1024)
    string_at(media, "filename", path, optional=True, max_length=240)


def check_reaction(reaction: dict[str, Any], path: str) -> None:
    only_keys(reaction, {"message_id", "emoji"}, path)
    string_at(reaction, "message_id", path)
    string_at(reaction, "emoji", path, allow_empty=True)


def check_location(location: dict[str, Any], path: str) -> None:
    only_keys(location, {"latitude", "longitude", "name", "address"}, path)
    for key, limit in (("latitude", 90), ("longitude", 180)):
        if key not in location:
            raise required(child(path, key))
        value = location[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or abs(value) > limit:
            raise invalid(child(path, key), f"must be a number between -{limit} and {limit}")
    string_at(location, "name", path, optional=True)
    string_at(location, "address", path, optional=True)


def check_contacts(contacts: Any, path: str) -> None:
    if not isinstance(contacts, list) or not contacts:
        raise invalid(path, "must be a non-empty array of contacts")
    for index, contact in enumerate(contacts):
        where = f"{path}[{index}]"
        if not isinstance(contact, dict):
            raise invalid(where, "must be an object")
        name = object_at(contact, "name", where)
        assert name is not None
        string_at(name, "formatted_name", child(where, "name"))


def check_interactive(interactive: dict[str, Any], path: str) -> None:
    kind = string_at(interactive, "type", path)
    if kind not in INTERACTIVE_TYPES:
        raise invalid(child(path, "type"), f"must be one of {sorted(INTERACTIVE_TYPES)}")
    action = object_at(interactive, "action", path)
    assert action is not None
    action_path = child(path, "action")
    if kind in {"button", "list", "cta_url"}:
        body = object_at(interactive, "body", path)
        assert body is not None
        string_at(body, "text", child(path, "body"), max_length=1024 if kind == "button" else 4096)
    if kind == "button":
        for index, button in enumerate(list_at(action, "buttons", action_path, max_items=3) or []):
            where = f"{child(action_path, 'buttons')}[{index}]"
            if not isinstance(button, dict) or button.get("type") != "reply":
                raise invalid(where, 'must be {"type": "reply", "reply": {"id", "title"}}')
            reply = object_at(button, "reply", where)
            assert reply is not None
            string_at(reply, "id", child(where, "reply"), max_length=256)
            string_at(reply, "title", child(where, "reply"), max_length=20)
    elif kind == "list":
        string_at(action, "button", action_path, max_length=20)
        list_at(action, "sections", action_path, max_items=10)
    elif kind == "cta_url":
        parameters = object_at(action, "parameters", action_path)
        assert parameters is not None
        string_at(parameters, "display_text", child(action_path, "parameters"), max_length=20)
        string_at(parameters, "url", child(action_path, "parameters"))


def check_template_shape(template: dict[str, Any], path: str) -> None:
    only_keys(template, {"name", "language", "components", "namespace"}, path)
    string_at(template, "name", path, max_length=512)
    language = object_at(template, "language", path)
    assert language is not None
    only_keys(language, {"code", "policy"}, child(path, "language"))
    string_at(language, "code", child(path, "language"))
    for index, component in enumerate(list_at(template, "components", path, optional=True, min_items=0) or []):
        where = f"{child(path, 'components')}[{index}]"
        if not isinstance(component, dict):
            raise invalid(where, "must be an object")
        kind = string_at(component, "type", where)
        if kind not in TEMPLATE_COMPONENT_TYPES:
            raise invalid(child(where, "type"), f"must be one of {sorted(TEMPLATE_COMPONENT_TYPES)}")
        if kind == "button":
            string_at(component, "sub_type", where)
            if "index" not in component:
                raise required(child(where, "index"))
        for number, parameter in enumerate(list_at(component, "parameters", where, optional=True, min_items=0) or []):
            check_template_parameter(parameter, f"{child(where, 'parameters')}[{number}]")


def check_template_parameter(parameter: Any, path: str) -> None:
    if not isinstance(parameter, dict):
        raise invalid(path, "must be an object")
    kind = string_at(parameter, "type", path)
    if kind not in TEMPLATE_PARAMETER_TYPES:
        raise invalid(child(path, "type"), f"must be one of {sorted(TEMPLATE_PARAMETER_TYPES)}")
    if kind == "text":
        string_at(parameter, "text", path, max_length=32768)


def body_parameter_count(template: dict[str, Any]) -> int:
    return sum(len(component.get("parameters") or []) for component in template.get("components") or []
               if component.get("type") == "body")


def placeholder_count(definition: dict[str, Any]) -> int:
    texts = [component.get("text") or "" for component in definition.get("components", [])
             if str(component.get("type", "")).upper() == "BODY"]
    return len({match for text in texts for match in PLACEHOLDER.findall(text)})


# --- records ---

@dataclass
class UploadedFile:
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class RecordedRequest:
    """One request as the server received it, and what it answered (status None: the connection was dropped)."""

    method: str
    path: str
    route: str | None
    version: str | None
    query: dict[str, str]
    headers: dict[str, str]
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)
    files: dict[str, UploadedFile] = field(default_factory=dict)
    status: int | None = None
    response: Any = None
    received_at: float = field(default_factory=time.time)


@dataclass
class SentMessage:
    """A send the server accepted: the wamid it answered, and the body exactly as the client sent it."""

    wamid: str
    to: str
    type: str
    body: dict[str, Any]
    version: str


@dataclass
class StoredMedia:
    id: str
    data: bytes
    mime_type: str
    filename: str | None = None
    inbound: bool = False

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class Fault:
    kind: str  # "error", "delay" or "drop"
    error: GraphError | None = None
    seconds: float = 0.0


@dataclass
class WebhookDelivery:
    body: dict[str, Any]
    signature: str
    status: int | None
    error: str | None = None


@dataclass
class AutoStatuses:
    sent: bool = False
    sent_before_response: bool = False
    delivered_after: float | None = None
    read_after: float | None = None


class ConnectionDropped(ConnectionAbortedError):
    """Raised inside the WSGI app after closing the socket, so Werkzeug writes nothing more."""


class QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


# --- the server ---

class GraphAPI:
    """The fake Graph API. `start()` serves it on a free loopback port; `url` is the base URL for the client."""

    def __init__(self, token: str = TOKEN, phone_number_id: str = PHONE_NUMBER_ID, waba_id: str = WABA_ID, *,
                 display_phone_number: str = DISPLAY_PHONE_NUMBER, port: int | None = None,
                 webhook_url: str | None = None, app_secret: str = "", media_url_ttl: float = 300.0) -> None:
        self.token = token
        self.phone_number_id = phone_number_id
        self.waba_id = waba_id
        self.display_phone_number = display_phone_number
        self.port = port or free_port()
        self.webhook_url = webhook_url
        self.app_secret = app_secret
        self.media_url_ttl = media_url_ttl
        self.auto = AutoStatuses()
        self.token_revoked = False
        self.requests: list[RecordedRequest] = []
        self.deliveries: list[WebhookDelivery] = []
        self.templates: list[dict[str, Any]] = []
        self._sent: list[SentMessage] = []
        self._read: list[dict[str, Any]] = []
        self._media: dict[str, StoredMedia] = {}
        self._inbound_messages: set[str] = set()
        self._download_links: dict[str, tuple[str, float]] = {}
        self._faults: dict[str, deque[Fault]] = {}
        self._timers: list[threading.Timer] = []
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def api_url(self, path: str = "", version: str = "v23.0") -> str:
        return f"{self.url}/{version}/{path.lstrip('/')}"

    def start(self) -> GraphAPI:
        self._server = make_server("127.0.0.1", self.port, self.wsgi, threaded=True, request_handler=QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="graph-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        for timer in self._timers:
            timer.cancel()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> GraphAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # test set-up

    def add_template(self, name: str, body: str, *, language: str = "en_US", status: str = "APPROVED",
                     category: str = "UTILITY", components: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Register a template as GET message_templates lists it (Meta's shape: BODY text with {{n}} placeholders)."""
        template = {"name": name, "parameter_format": "POSITIONAL",
                    "components": components or [{"type": "BODY", "text": body}],
                    "language": language, "status": status, "category": category, "id": numeric_id()}
        with self._changed:
            self.templates.append(template)
        return template

    def add_inbound_media(self, data: bytes, mime_type: str, filename: str | None = None) -> str:
        """Media as if a customer had sent it: the id a webhook would carry, retrievable with GET /{media_id}."""
        media = StoredMedia(numeric_id(), data, mime_type, filename, inbound=True)
        with self._changed:
            self._media[media.id] = media
        return media.id

    def add_inbound_message(self, wamid: str | None = None) -> str:
        """A customer message the business may mark as read."""
        wamid = wamid or new_wamid()
        with self._changed:
            self._inbound_messages.add(wamid)
        return wamid

    def media(self, media_id: str) -> StoredMedia:
        return self._media[media_id]

    def uploaded_media(self) -> list[StoredMedia]:
        return [media for media in self._media.values() if not media.inbound]

    def expire_media_urls(self) -> None:
        """Every media URL handed out so far stops working (as after Meta's ~5 minutes)."""
        with self._changed:
            self._download_links = {key: (media_id, 0.0) for key, (media_id, _) in self._download_links.items()}

    def revoke_token(self) -> None:
        self.token_revoked = True

    def restore_token(self) -> None:
        self.token_revoked = False

    def auto_statuses(self, *, sent: bool = True, sent_before_response: bool = False,
                      delivered_after: float | None = None, read_after: float | None = None) -> None:
        """Post status webhooks for every accepted send: `sent` (before the HTTP answer if asked), then
        `delivered`/`read` that many seconds after the send. Reactions only ever get `sent`, as on Meta."""
        self.auto = AutoStatuses(sent, sent_before_response, delivered_after, read_after)

    # fault injection

    def fail_next(self, route: str, status: int, code: int | None = None, *, times: int = 1,
                  message: str | None = None, details: str | None = None, retry_after: int | None = None) -> None:
        """The next `times` calls to `route` ("send", "mark_read", "upload", "media", "download", "templates" or
        "*") answer HTTP `status` with Meta's error `code` (default: 2, service unavailable), and a
        `Retry-After` header when given."""
        code = code if code is not None else 2
        error = GraphError(status, code, message, details=details or ERROR_TITLES.get(code), retry_after=retry_after)
        self._queue(route, Fault("error", error=error), times)

    def delay_next(self, route: str, seconds: float, *, times: int = 1) -> None:
        """The next calls wait `seconds` and are then handled normally (a client timeout does not undo a send)."""
        self._queue(route, Fault("delay", seconds=seconds), times)

    def drop_next(self, route: str, *, times: int = 1) -> None:
        """The next calls get their connection closed without an answer (and are not handled)."""
        self._queue(route, Fault("drop"), times)

    def _queue(self, route: str, fault: Fault, times: int) -> None:
        if route not in (*ROUTES, "*"):
            raise ValueError(f"unknown route {route!r}; one of {ROUTES} or '*'")
        with self._changed:
            self._faults.setdefault(route, deque()).extend([fault] * times)

    def _next_fault(self, route: str | None) -> Fault | None:
        with self._changed:
            for key in (route, "*"):
                queue = self._faults.get(key or "")
                if queue:
                    return queue.popleft()
        return None

    # what the client sent

    def sent_messages(self) -> list[SentMessage]:
        with self._changed:
            return list(self._sent)

    def read_receipts(self) -> list[dict[str, Any]]:
        """Accepted mark-read bodies (with their typing_indicator, if any)."""
        with self._changed:
            return list(self._read)

    def requests_to(self, route: str) -> list[RecordedRequest]:
        with self._changed:
            return [request for request in self.requests if request.route == route]

    def versions_used(self) -> set[str]:
        with self._changed:
            return {request.version for request in self.requests if request.version}

    def wait_for(self, count: int, timeout: float = 5.0, route: str = "send") -> list[RecordedRequest]:
        """Wait until `count` requests to `route` have been answered (or dropped); return them all."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                done = [r for r in self.requests if r.route == route and (r.status or r.response == "dropped")]
                if len(done) >= count:
                    return done
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"expected {count} {route} request(s) within {timeout}s, got {len(done)}")
                self._changed.wait(remaining)

    def wait_for_deliveries(self, count: int, timeout: float = 5.0) -> list[WebhookDelivery]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.deliveries) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"expected {count} webhook deliveries within {timeout}s, "
                                         f"got {len(self.deliveries)}")
                self._changed.wait(remaining)
            return list(self.deliveries)

    # status webhooks

    def status_body(self, wamid: str, status: str, recipient: str | None = None,
                    errors: list[dict[str, Any]] | None = None, timestamp: int | None = None) -> dict[str, Any]:
        """Meta's webhook body for one status of one of our messages."""
        entry: dict[str, Any] = {"id": wamid, "status": status, "timestamp": str(timestamp or int(time.time())),
                                 "recipient_id": recipient or self._recipient_of(wamid)}
        if status in {"sent", "delivered"}:
            entry["pricing"] = {"billable": True, "pricing_model": "PMP", "category": "service", "type": "regular"}
        if status == "failed":
            entry["errors"] = errors or [status_error(131026)]
        elif errors:
            entry["errors"] = errors
        return self.webhook_body({"statuses": [entry]})

    def webhook_body(self, value: dict[str, Any]) -> dict[str, Any]:
        metadata = {"display_phone_number": self.display_phone_number, "phone_number_id": self.phone_number_id}
        change = {"field": "messages", "value": {"messaging_product": "whatsapp", "metadata": metadata, **value}}
        return {"object": "whatsapp_business_account", "entry": [{"id": self.waba_id, "changes": [change]}]}

    def post_status(self, wamid: str, status: str, recipient: str | None = None,
                    errors: list[dict[str, Any]] | None = None) -> WebhookDelivery:
        """POST a signed status webhook to webhook_url; returns the delivery (its HTTP status, or the error)."""
        return self.post_webhook(self.status_body(wamid, status, recipient, errors))

    def post_webhook(self, body: dict[str, Any]) -> WebhookDelivery:
        if not self.webhook_url:
            raise RuntimeError("no webhook_url configured")
        raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        signature = "sha256=" + hmac.new(self.app_secret.encode(), raw, hashlib.sha256).hexdigest()
        request = urllib.request.Request(self.webhook_url, data=raw, method="POST", headers={
            "Content-Type": "application/json", "X-Hub-Signature-256": signature, "User-Agent": "facebookexternalua"})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                delivery = WebhookDelivery(body, signature, answer.status)
        except urllib.error.HTTPError as error:
            delivery = WebhookDelivery(body, signature, error.code, error.reason)
        except OSError as error:
            delivery = WebhookDelivery(body, signature, None, str(error))
        with self._changed:
            self.deliveries.append(delivery)
            self._changed.notify_all()
        return delivery

    def _recipient_of(self, wamid: str) -> str:
        for message in self.sent_messages():
            if message.wamid == wamid:
                return message.to.lstrip("+")
        raise KeyError(f"no sent message {wamid}; pass recipient=")

    def _schedule(self, delay: float, wamid: str, status: str) -> None:
        timer = threading.Timer(delay, self._post_quietly, (wamid, status))
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def _post_quietly(self, wamid: str, status: str) -> None:
        if not self._stopping.is_set() and self.webhook_url:
            self.post_status(wamid, status)

    # WSGI

    def wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        record = self._record(request)
        try:
            response = self._respond(request, record)
        except ConnectionDropped:
            with self._changed:
                record.response = "dropped"
                self._changed.notify_all()
            raise
        with self._changed:
            record.status = response.status_code
            record.response = response.get_json(silent=True) if response.is_json else None
            self._changed.notify_all()
        return response(environ, start_response)

    def _record(self, request: Request) -> RecordedRequest:
        version, route = self._route_of(request)
        files = {name: UploadedFile(upload.filename, upload.mimetype or None, upload.read())
                 for name, upload in request.files.items()}
        record = RecordedRequest(
            method=request.method, path=request.path, route=route, version=version,
            query=dict(request.args), headers=dict(request.headers),
            json=request.get_json(silent=True) if request.is_json else None,
            form=dict(request.form), files=files)
        with self._changed:
            self.requests.append(record)
        return record

    def _route_of(self, request: Request) -> tuple[str | None, str | None]:
        parts = [part for part in request.path.split("/") if part]
        if parts[:2] == ["whatsapp_business", "attachments"]:
            return None, "download"
        if not parts or not VERSION.fullmatch(parts[0]):
            return None, None
        version, rest = parts[0], parts[1:]
        if request.method == "POST" and len(rest) == 2 and rest[1] == "messages":
            body = request.get_json(silent=True)
            return version, "mark_read" if isinstance(body, dict) and "status" in body else "send"
        if request.method == "POST" and len(rest) == 2 and rest[1] == "media":
            return version, "upload"
        if request.method == "GET" and len(rest) == 2 and rest[1] == "message_templates":
            return version, "templates"
        if request.method == "GET" and len(rest) == 1:
            return version, "media"
        return version, None

    def _respond(self, request: Request, record: RecordedRequest) -> Response:
        try:
            self._apply_fault(request, record.route)
            self._authenticate(request)
            return self._dispatch(request, record)
        except GraphError as error:
            response = json_response(error.body(), error.status)
            if error.retry_after is not None:
                response.headers["Retry-After"] = str(error.retry_after)
            return response

    def _apply_fault(self, request: Request, route: str | None) -> None:
        fault = self._next_fault(route)
        if fault is None:
            return
        if fault.kind == "delay":
            self._stopping.wait(fault.seconds)
        elif fault.kind == "drop":
            drop_connection(request)
        elif fault.error is not None:
            raise GraphError(fault.error.status, fault.error.code, fault.error.message, details=fault.error.details,
                             retry_after=fault.error.retry_after)

    def _authenticate(self, request: Request) -> None:
        header = request.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not given:
            raise GraphError(401, 190, "An active access token must be used to query information about the "
                             "current user.")
        if not hmac.compare_digest(given.strip(), self.token):
            raise GraphError(401, 190)
        if self.token_revoked:
            raise GraphError(401, 190, "Error validating access token: The session has been invalidated because the "
                             "user changed their password or Facebook has changed the session for security reasons.",
                             subcode=460)

    def _dispatch(self, request: Request, record: RecordedRequest) -> Response:
        parts = [part for part in request.path.split("/") if part]
        if record.route == "download":
            return self._download(request)
        if record.route is None:
            raise unknown_object(request.method, "/".join(parts[1:]) or request.path)
        object_id = parts[1]
        if record.route in {"send", "mark_read", "upload"} and object_id != self.phone_number_id:
            raise unknown_object(request.method, object_id)
        if record.route == "templates" and object_id != self.waba_id:
            raise unknown_object(request.method, object_id)
        handlers: dict[str, Callable[[Request, RecordedRequest], Response]] = {
            "send": self._send, "mark_read": self._mark_read, "upload": self._upload,
            "media": self._media_info, "templates": self._list_templates}
        return handlers[record.route](request, record)

    # handlers

    def _send(self, request: Request, record: RecordedRequest) -> Response:
        body = json_body(request)
        kind = self._check_send(body)
        to = body["to"]
        wamid = new_wamid()
        message: dict[str, Any] = {"id": wamid}
        if kind == "template":
            message["message_status"] = "accepted"
        sent = SentMessage(wamid, to, kind, body, record.version or "")
        with self._changed:
            self._sent.append(sent)
        response = json_response({"messaging_product": "whatsapp",
                                  "contacts": [{"input": to, "wa_id": to.lstrip("+")}], "messages": [message]})
        self._announce(sent, response)
        return response

    def _check_send(self, body: dict[str, Any]) -> str:
        check_product(body)
        kind = body.get("type", "text")
        if kind not in MESSAGE_TYPES:
            raise invalid("type", f"must be one of {list(MESSAGE_TYPES)} (got {kind!r})")
        if kind not in body:
            raise required(kind)
        only_keys(body, {"messaging_product", "recipient_type", "to", "type", "context",
                         "biz_opaque_callback_data", kind}, "message")
        if body.get("recipient_type", "individual") != "individual":
            raise invalid("recipient_type", "must be individual")
        to = string_at(body, "to", "")
        if not RECIPIENT.fullmatch(to or ""):
            raise invalid("to", f"must be a phone number in international format, digits only (got {to!r})")
        context = object_at(body, "context", "", optional=True)
        if context is not None:
            only_keys(context, {"message_id"}, "context")
            string_at(context, "message_id", "context")
        self._check_content(kind, body[kind])
        return kind

    def _check_content(self, kind: str, content: Any) -> None:
        if kind == "contacts":
            check_contacts(content, kind)
            return
        if not isinstance(content, dict):
            raise invalid(kind, "must be an object")
        if kind == "text":
            check_text(content, kind)
        elif kind in MEDIA_TYPES:
            check_media(kind, content, kind, lambda media_id: media_id in self._media)
        elif kind == "reaction":
            check_reaction(content, kind)
        elif kind == "location":
            check_location(content, kind)
        elif kind == "interactive":
            check_interactive(content, kind)
        else:
            check_template_shape(content, kind)
            self._check_template_known(content)

    def _check_template_known(self, template: dict[str, Any]) -> None:
        name, code = template["name"], template["language"]["code"]
        with self._changed:
            found = next((t for t in self.templates if t["name"] == name and t["language"] == code), None)
        if found is None or found["status"] not in {"APPROVED", "PAUSED", "DISABLED"}:
            raise GraphError(404, 132001, details=f"template name ({name}) does not exist in {code}")
        if found["status"] == "PAUSED":
            raise GraphError(400, 132015, details=f"template {name} is paused")
        if found["status"] == "DISABLED":
            raise GraphError(400, 132016, details=f"template {name} is disabled")
        expected, given = placeholder_count(found), body_parameter_count(template)
        if expected != given:
            raise GraphError(400, 132000, details=f"body: number of localizable_params ({given}) does not match "
                             f"the expected number of params ({expected})")

    def _announce(self, sent: SentMessage, response: Response) -> None:
        if not (self.auto.sent and self.webhook_url):
            return
        if self.auto.sent_before_response:
            self.post_status(sent.wamid, "sent")
        else:
            response.call_on_close(lambda: self._post_quietly(sent.wamid, "sent"))
        if sent.type == "reaction":
            return
        for status, delay in (("delivered", self.auto.delivered_after), ("read", self.auto.read_after)):
            if delay is not None:
                self._schedule(delay, sent.wamid, status)

    def _mark_read(self, request: Request, record: RecordedRequest) -> Response:
        body = json_body(request)
        check_product(body)
        only_keys(body, {"messaging_product", "status", "message_id", "typing_indicator"}, "message")
        if body["status"] != "read":
            raise invalid("status", f"must be read (got {body['status']!r})")
        message_id = string_at(body, "message_id", "")
        indicator = object_at(body, "typing_indicator", "", optional=True)
        if indicator is not None and indicator != {"type": "text"}:
            raise invalid("typing_indicator", 'must be {"type": "text"}')
        with self._changed:
            known = message_id in self._inbound_messages
        if not known:
            raise invalid("message_id", f"no message {message_id} received by this number")
        with self._changed:
            self._read.append(body)
        return json_response({"success": True})

    def _upload(self, request: Request, record: RecordedRequest) -> Response:
        if request.form.get("messaging_product") is None:
            raise required("messaging_product")
        if request.form["messaging_product"] != "whatsapp":
            raise invalid("messaging_product", "must be whatsapp")
        upload = request.files.get("file")
        if upload is None:
            raise required("file")
        mime_type = request.form.get("type") or ""
        if not mime_type:
            raise required("type")
        data = record.files["file"].data
        self._check_upload(mime_type, data)
        media = StoredMedia(numeric_id(), data, mime_type, filename_of(upload))
        with self._changed:
            self._media[media.id] = media
        return json_response({"id": media.id})

    def _check_upload(self, mime_type: str, data: bytes) -> None:
        limit = UPLOAD_LIMITS.get(mime_type.split(";")[0].strip().lower())
        if limit is None:
            raise GraphError(400, 131053, details=f"Param file must be a file with one of the following types: "
                             f"{', '.join(UPLOAD_LIMITS)}. Received file of type '{mime_type}'.")
        if not data:
            raise GraphError(400, 131053, details="Uploaded file is empty")
        if len(data) > limit:
            raise GraphError(400, 131053, details=f"Media file size {len(data)} is over the {limit} byte limit "
                             f"for {mime_type}")

    def _media_info(self, request: Request, record: RecordedRequest) -> Response:
        media_id = request.path.rstrip("/").rsplit("/", 1)[-1]
        with self._changed:
            media = self._media.get(media_id)
        if media is None:
            raise unknown_object("GET", media_id)
        expires = time.time() + self.media_url_ttl
        key = secrets.token_urlsafe(24)
        with self._changed:
            self._download_links[key] = (media.id, expires)
        query = urlencode({"mid": media.id, "ext": int(expires), "hash": key})
        url = f"{self.url}/whatsapp_business/attachments/?{query}"
        return json_response({"messaging_product": "whatsapp", "url": url,
                              "mime_type": media.mime_type, "sha256": media.sha256, "file_size": len(media.data),
                              "id": media.id})

    def _download(self, request: Request) -> Response:
        with self._changed:
            media_id, expires = self._download_links.get(request.args.get("hash", ""), ("", 0.0))
            media = self._media.get(media_id)
        if media is None or media_id != request.args.get("mid"):
            raise GraphError(404, 100, "(#100) Invalid media URL", details="No media behind this URL")
        if time.time() >= expires:
            raise GraphError(404, 100, "(#100) Media URL expired",
                             details="This media URL has expired; retrieve a new one with GET /{media_id}")
        return Response(media.data, 200, mimetype=media.mime_type)

    def _list_templates(self, request: Request, record: RecordedRequest) -> Response:
        filters = {key: request.args[key] for key in ("status", "name", "language", "category") if key in request.args}
        with self._changed:
            matching = [t for t in self.templates
                        if all(str(t.get(key, "")).upper() == value.upper() if key != "name" else value in t["name"]
                               for key, value in filters.items())]
        limit = positive_int(request.args.get("limit"), "limit", default=25)
        start, end = page_bounds(len(matching), limit, request.args.get("after"), request.args.get("before"))
        page = matching[start:end]
        body: dict[str, Any] = {"data": page}
        if page:
            paging: dict[str, Any] = {"cursors": {"before": cursor(start), "after": cursor(end - 1)}}
            base = f"{self.url}{request.path}"
            others = {key: value for key, value in request.args.items() if key not in {"after", "before"}}
            if end < len(matching):
                paging["next"] = f"{base}?{urlencode({**others, 'limit': limit, 'after': cursor(end - 1)})}"
            if start > 0:
                paging["previous"] = f"{base}?{urlencode({**others, 'limit': limit, 'before': cursor(start)})}"
            body["paging"] = paging
        return json_response(body)


# --- helpers ---

def json_response(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status, mimetype="application/json")


def json_body(request: Request) -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise GraphError(400, 100, "(#100) The parameter messaging_product is required.",
                         details="the request body must be a JSON object (Content-Type: application/json)")
    return body


def check_product(body: dict[str, Any]) -> None:
    product = string_at(body, "messaging_product", "")
    if product != "whatsapp":
        raise GraphError(400, 100, f'(#100) Param messaging_product must be one of {{WHATSAPP}} - got "{product}".',
                         details="messaging_product must be whatsapp")


def drop_connection(request: Request) -> None:
    connection = request.environ.get("werkzeug.socket")
    if isinstance(connection, socket.socket):
        connection.shutdown(socket.SHUT_RDWR)
    raise ConnectionDropped("dropped by fault injection")


def filename_of(upload: FileStorage) -> str | None:
    return upload.filename or None


def new_wamid() -> str:
    return "wamid." + base64.b64encode(b"\x15\x02\x00\x11\x18\x12" + secrets.token_bytes(18)).decode()


def numeric_id() -> str:
    return str(secrets.randbelow(9 * 10**15) + 10**15)


def status_error(code: int, details: str | None = None) -> dict[str, Any]:
    """One entry of a `failed` status's errors[], as Meta sends it."""
    title = ERROR_TITLES.get(code, "Unknown error")
    return {"code": code, "title": title, "message": title, "error_data": {"details": details or title}}


def cursor(index: int) -> str:
    return base64.b64encode(str(index).encode()).decode()


def cursor_index(value: str, name: str) -> int:
    try:
        return int(base64.b64decode(value.encode(), validate=True).decode())
    except ValueError as error:
        raise GraphError(400, 100, f"(#100) Invalid {name} cursor", details=f"{name}={value!r} is not a cursor "
                         "this endpoint returned") from error


def page_bounds(total: int, limit: int, after: str | None, before: str | None) -> tuple[int, int]:
    if after is not None:
        start = cursor_index(after, "after") + 1
        return start, min(start + limit, total)
    if before is not None:
        end = cursor_index(before, "before")
        return max(end - limit, 0), end
    return 0, min(limit, total)


def positive_int(value: str | None, name: str, default: int) -> int:
    if value is None:
        return default
    if not value.isdigit() or int(value) < 1:
        raise GraphError(400, 100, f"(#100) Param {name} must be a positive integer", details=f"{name}={value!r}")
    return int(value)


@pytest.fixture
def graph_api() -> Iterator[GraphAPI]:
    """A started fake Graph API (token TOKEN, phone number id PHONE_NUMBER_ID, WABA WABA_ID); stopped after."""
    server = GraphAPI().start()
    yield server
    server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="A local WhatsApp Cloud API server for demos")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--token", default=TOKEN)
    parser.add_argument("--phone-number-id", default=PHONE_NUMBER_ID)
    parser.add_argument("--waba-id", default=WABA_ID)
    parser.add_argument("--display-phone-number", default=DISPLAY_PHONE_NUMBER)
    parser.add_argument("--webhook-url", help="where status webhooks go (the app's /webhook)")
    parser.add_argument("--app-secret", default="", help="signs the webhooks (X-Hub-Signature-256)")
    parser.add_argument("--delivered-after", type=float, default=1.0, help="seconds; negative: never")
    parser.add_argument("--read-after", type=float, default=3.0, help="seconds; negative: never")
    args = parser.parse_args()
    server = GraphAPI(args.token, args.phone_number_id, args.waba_id, display_phone_number=args.display_phone_number,
                      port=args.port, webhook_url=args.webhook_url, app_secret=args.app_secret)
    server.auto_statuses(delivered_after=args.delivered_after if args.delivered_after >= 0 else None,
                         read_after=args.read_after if args.read_after >= 0 else None)
    server.add_template("hello_world", "Hello {{1}}, thanks for contacting us.")
    server.start()
    print(f"Graph API on {server.url} (token {args.token}, phone number id {args.phone_number_id}, "
          f"WABA {args.waba_id}); webhooks to {args.webhook_url or 'nowhere'}. Ctrl-C stops it.", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
