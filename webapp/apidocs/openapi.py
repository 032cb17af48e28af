"""The OpenAPI 3.1 description of the JSON API and the webhook, served at /openapi.json.

Each operation below names the declared request schemas its route validates with
(webapp/schemas.py): its parameters and request body are generated from them, so the description
cannot drift from what the routes accept. Responses are in webapp/apidocs/components.py.
tests/test_openapi.py fails when a route under /api or /webhook is missing here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app

from .. import schemas
from ..validation import Schema
from . import components
from .components import Json, ref, success

BEARER = "bearerAuth"
COOKIE = "cookieAuth"
SIGNED_IN: list[Json] = [{BEARER: []}, {COOKIE: []}]

DESCRIPTION = """\
A WhatsApp team inbox. Every JSON answer is the envelope `{"status": "success" | "error", "message": str,
"data": …}`; errors have `data: null` and name each bad field in `errors`. Timestamps are ISO-8601 UTC.

**Sign-in.** Everything under `/api` needs an API token (`Authorization: Bearer <token>`, made by
`flask create-token NAME`) or a signed-in agent's session cookie (then changes need the page's CSRF token in
`X-CSRFToken`). The webhook is public: Meta signs its deliveries (`X-Hub-Signature-256`).

**Validation.** Every parameter and body field is checked before anything reaches the database, and a 400 names
each bad one at once. Under `/api` an unknown or repeated query parameter or body field is refused (400 naming
it), and no key of a JSON body, at any depth, may start with `$` or contain `.`. The webhook ignores query
parameters it does not know. Text is valid Unicode without control characters (tab and newlines are fine).
"""


@dataclass(frozen=True)
class Reply:
    """A documented response: a status, what it means, and its body schema (JSON unless `media`)."""

    status: int
    description: str
    schema: Json = field(default_factory=lambda: ref("ErrorEnvelope"))
    media: str = "application/json"
    headers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # OpenAPI's spelling: /api/messages/{wa_id}
    endpoint: str  # the Flask endpoint that serves it
    operation_id: str
    summary: str
    tag: str
    replies: tuple[Reply, ...]
    path_params: Schema | None = None
    query: Schema | None = None
    body: Schema | None = None
    raw_body: Json | None = None  # a JSON body's media type object, described here (the webhook's)
    headers: tuple[Json, ...] = ()
    public: bool = False
    description: str = ""


# --- the responses that many operations share --------------------------------------------------------

RETRY_AFTER = "Retry-After"
INVALID = Reply(400, "A parameter or field is invalid: `errors` names each one.")
UNAUTHORIZED = Reply(401, "No valid API token or signed-in agent.")
CSRF = Reply(403, "Signed in with the session cookie, but the X-CSRFToken header is missing or wrong.")
NOT_FOUND = Reply(404, "There is no conversation with this contact.")
TOO_LARGE = Reply(413, "The body is larger than MAX_CONTENT_LENGTH.")
NOT_JSON = Reply(415, "The body is not sent as application/json.")
RATE_LIMITED = Reply(429, "Too many requests from this client; try again after Retry-After seconds.",
                     headers=(RETRY_AFTER,))
UNAVAILABLE = Reply(503, "The database is unavailable; nothing was stored. Try again after Retry-After seconds.",
                    headers=(RETRY_AFTER,))

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "get", "/api/conversations", "api.list_conversations", "listConversations",
        "Conversations, most recent first", "conversations",
        query=schemas.CONVERSATIONS_QUERY,
        replies=(
            Reply(200, "A page of conversations.",
                  success({"type": "array", "items": ref("Conversation")}, paged=True)),
            INVALID, UNAUTHORIZED, RATE_LIMITED, UNAVAILABLE,
        ),
    ),
    Operation(
        "get", "/api/messages/{wa_id}", "api.list_messages", "listMessages",
        "A conversation's messages, oldest to newest", "messages",
        description="The latest page; `?before=` with the page's `meta.before` gives the page before it.",
        path_params=schemas.CONTACT_PATH, query=schemas.MESSAGES_QUERY,
        replies=(
            Reply(200, "A page of messages.", success({"type": "array", "items": ref("Message")}, paged=True)),
            INVALID, UNAUTHORIZED, NOT_FOUND, RATE_LIMITED, UNAVAILABLE,
        ),
    ),
    Operation(
        "post", "/api/messages", "api.create_message", "sendMessage",
        "Send a text message", "messages",
        description="Stored with status `sent`; with SIMULATE_DELIVERY on, `delivered` and `read` follow "
                    "through the webhook pipeline. Sending to a new number starts a conversation.",
        query=schemas.NO_QUERY, body=schemas.SEND_MESSAGE,
        replies=(
            Reply(201, "The message, as stored.", success(ref("Message"))),
            INVALID, UNAUTHORIZED, CSRF, TOO_LARGE, NOT_JSON, RATE_LIMITED, UNAVAILABLE,
        ),
    ),
    Operation(
        "post", "/api/conversations/{wa_id}/read", "api.mark_read", "markConversationRead",
        "Mark a conversation read", "conversations",
        path_params=schemas.CONTACT_PATH, query=schemas.NO_QUERY,
        replies=(
            Reply(200, "The conversation, its unread count now 0.", success(ref("Conversation"))),
            INVALID, UNAUTHORIZED, CSRF, NOT_FOUND, RATE_LIMITED, UNAVAILABLE,
        ),
    ),
    Operation(
        "get", "/webhook", "webhook.verify_subscription", "verifyWebhook",
        "Meta's verification handshake", "webhook", public=True,
        description="Answers `hub.challenge` when `hub.mode` is `subscribe` and `hub.verify_token` matches "
                    "WHATSAPP_VERIFY_TOKEN.",
        query=schemas.WEBHOOK_HANDSHAKE_QUERY,
        replies=(
            Reply(200, "The challenge, echoed.", {"type": "string"}, media="text/plain"),
            INVALID,
            Reply(403, "The mode is not `subscribe`, the token does not match (or none is configured), "
                       "or there is no challenge."),
            RATE_LIMITED,
        ),
    ),
    Operation(
        "post", "/webhook", "webhook.receive", "receiveWebhook",
        "Receive a WhatsApp webhook delivery", "webhook", public=True,
        description="The body is stored exactly as received, then every entry, change, message and status in it "
                    "is processed (idempotently: a delivery repeated is stored once). 200 only once it is stored.",
        raw_body={"schema": ref("WebhookBody"), "examples": {
            "meta": {"summary": "Meta's body", "value": components.META_EXAMPLE},
            "wrapper": {"summary": "The assignment's wrapper", "value": components.WRAPPER_EXAMPLE},
        }},
        headers=({
            "name": "X-Hub-Signature-256", "in": "header", "required": False,
            "description": "`sha256=` and the HMAC-SHA256 of the raw body with WHATSAPP_APP_SECRET. "
                           "Required when that setting is set (then a missing or wrong one is a 401).",
            "schema": {"type": "string", "pattern": "^sha256=[0-9a-f]{64}$"},
        },),
        replies=(
            Reply(200, "Stored; `outcome` says whether processing it worked (`failed`: it will be replayed).",
                  success(ref("WebhookResult"))),
            Reply(400, "Not a webhook body we accept: `errors` names the JSON path of each problem. Nothing stored."),
            Reply(401, "WHATSAPP_APP_SECRET is set and X-Hub-Signature-256 is missing or wrong. Nothing stored."),
            TOO_LARGE, RATE_LIMITED, UNAVAILABLE,
        ),
    ),
)


# --- the document -------------------------------------------------------------------------------------------


def build() -> Json:
    """The OpenAPI document (needs an app context: some bounds are settings)."""
    paths: dict[str, dict[str, Json]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op)
    request_bodies = {op.body.name: op.body.json_schema() for op in OPERATIONS if op.body is not None}
    return {
        "openapi": "3.1.0",
        "info": {"title": f"{current_app.config['BUSINESS_NAME']} inbox API", "version": "1.0.0",
                 "description": DESCRIPTION},
        "tags": [
            {"name": "conversations", "description": "The inbox's conversation list."},
            {"name": "messages", "description": "A conversation's messages, and sending."},
            {"name": "webhook", "description": "Where WhatsApp (Meta) delivers messages and statuses."},
        ],
        "paths": paths,
        "components": {
            "schemas": {**components.SCHEMAS, **request_bodies},
            "securitySchemes": {
                BEARER: {"type": "http", "scheme": "bearer",
                         "description": "An API token made by `flask create-token NAME`."},
                COOKIE: {"type": "apiKey", "in": "cookie", "name": current_app.config["SESSION_COOKIE_NAME"],
                         "description": "A signed-in agent's session (sign in at /login); "
                                        "changes also need the X-CSRFToken header."},
            },
        },
    }


def _operation(op: Operation) -> Json:
    item: Json = {"operationId": op.operation_id, "summary": op.summary, "tags": [op.tag]}
    if op.description:
        item["description"] = op.description
    parameters = [*(op.path_params.parameters() if op.path_params else []),
                  *(op.query.parameters() if op.query else []), *op.headers]
    if parameters:
        item["parameters"] = parameters
    if op.body is not None:
        media: Json = {"schema": ref(op.body.name)}
        if op.body.example():
            media["example"] = op.body.example()
        item["requestBody"] = {"required": True, "content": {"application/json": media}}
    elif op.raw_body is not None:
        item["requestBody"] = {"required": True, "content": {"application/json": op.raw_body}}
    item["responses"] = {str(reply.status): _response(reply) for reply in op.replies}
    item["security"] = [] if op.public else SIGNED_IN
    return item


def _response(reply: Reply) -> Json:
    response: Json = {"description": reply.description, "content": {reply.media: {"schema": reply.schema}}}
    if reply.headers:
        response["headers"] = {name: {"schema": {"type": "integer", "minimum": 0},
                                      "description": "Seconds to wait before trying again."}
                               for name in reply.headers}
    return response
