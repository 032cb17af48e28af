"""spectree, set up once: the `operation` decorator that validates a route's request with its declared
models and answers with its declared response models, and the OpenAPI document generated from both
(served at /openapi.json by webapp/api/docs.py; the webhook declares its route here too).

A route declares its models in its signature: `query: SomeQuery`, `json: SomeBody` (spectree reads
these) and `path: SomePath` (read here: spectree does not validate path parameters). Before spectree
runs, a JSON body is checked for what its models cannot see: that it is JSON at all, an object, not
nested too deeply, and free of keys MongoDB would read as operators or paths, at any depth.
spectree's refusals become our envelope (`Invalid`, naming each field) through its `before` hook."""

from __future__ import annotations

import copy
import typing
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, request
from pydantic import ValidationError
from spectree import Response, SpecTree, Tag
from spectree.utils import get_request_model_hints

from . import storable
from .envelope import ErrorEnvelope
from .errors import APIError
from .validation import SETTING_MAX_LENGTH, Request, field_problems, invalid, parse, refusal

Json = dict[str, Any]

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

TAGS = {
    "conversations": Tag(name="conversations", description="The inbox's conversation list."),
    "messages": Tag(name="messages", description="A conversation's messages, and sending."),
    "templates": Tag(name="templates", description="The approved message templates (synced from WhatsApp)."),
    "analytics": Tag(name="analytics", description="The dashboard's figures for a period (from rollups)."),
    "webhook": Tag(name="webhook", description="Where WhatsApp (Meta) delivers messages and statuses."),
    "team": Tag(name="team", description="Working together: canned replies (admins manage them)."),
    "leads": Tag(name="leads", description="Leads captured from conversations, their stages, notes and export."),
    "documents": Tag(name="documents", description="The images and PDFs customers sent, with the text read from them."),
}

# What each error status means, unless an operation says otherwise.
ERRORS = {
    400: "A parameter or field is invalid: `errors` names each one.",
    401: "No valid API token or signed-in agent.",
    403: "Signed in with the session cookie, but the X-CSRFToken header is missing or wrong.",
    404: "There is no conversation with this contact.",
    413: "The body is larger than MAX_CONTENT_LENGTH.",
    415: "The body is not sent as application/json.",
    429: "Too many requests from this client; try again after Retry-After seconds.",
    503: "The database is unavailable; nothing was stored. Try again after Retry-After seconds.",
}
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer", "minimum": 0},
                               "description": "Seconds to wait before trying again."}}


def _refuse(req: Any, resp: Any, error: Exception | None, instance: Any, model_adapter: Any) -> None:
    """spectree's `before` hook: a refused request is answered with our envelope, naming each field."""
    if isinstance(error, ValidationError):
        raise invalid(error)


SPEC = SpecTree(
    "flask",
    mode="strict",  # only the routes declared with `operation` are described
    title="Inbox API",  # /openapi.json says the business's name (document())
    version="1.0.0",
    description=DESCRIPTION,
    validation_error_status=400,
    validation_error_model=ErrorEnvelope,
    before=_refuse,
    naming_strategy=lambda model: model.__name__,  # unique: webapp.core.shapes refuses two shapes of one name
    nested_naming_strategy=lambda parent, child: child,
)
PATH_MODELS: dict[str, type[Request]] = {}  # operationId -> the model of its path parameters


def answers(**codes: tuple[Any, str] | str | None) -> Response:
    """The answers an operation can give: `HTTP_200=(Model, "what it is")`, and each error status
    (`HTTP_404=None` for the usual meaning in ERRORS, or a description of its own); errors are the envelope."""
    declared: dict[str, Any] = {}
    for code, answer in codes.items():
        if isinstance(answer, tuple):
            declared[code] = answer
        else:
            declared[code] = (ErrorEnvelope, answer or ERRORS[int(code.removeprefix("HTTP_"))])
    return Response(**declared)


def operation(
    operation_id: str,
    *,
    tag: str,
    resp: Response,
    public: bool = False,
    json: type | None = None,
    headers: type | None = None,
    form: type | None = None,
    checked_by_route: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a route: its models come from its signature (`path`, `query`, `json`) and `resp`; its summary
    and description from its docstring. `public` routes need no sign-in (webapp.auth.guard must agree).
    `checked_by_route`: the route reads its raw body itself (the webhook: signature first); the body's
    model (`json` or `form`) and `headers` are then published, not validated."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        path_model = typing.get_type_hints(view).get("path")
        body_model = json or get_request_model_hints(view).get("json")
        validated = SPEC.validate(
            json=json, form=form, headers=headers, resp=resp, tags=[TAGS[tag]], security=[] if public else SIGNED_IN,
            operation_id=operation_id, skip_validation=checked_by_route,
        )(view)
        if path_model is not None:
            PATH_MODELS[operation_id] = path_model

        @wraps(validated)
        def checked(**view_args: Any) -> Any:
            if path_model is not None:
                view_args = {"path": parse(path_model, view_args)}
            if body_model is not None and not checked_by_route:
                check_json_body(body_model)
            return validated(**view_args)

        return checked

    return decorate


def check_json_body(model: type[Request]) -> None:
    """What spectree cannot see: the body is a JSON object, and no key in it, at any depth, is one that
    MongoDB reads as an operator or a path (refused naming each one, with the fields the model refuses)."""
    body = json_object()
    unsafe = storable.problems(body)
    if unsafe:
        errors = dict(unsafe)
        try:
            model.model_validate(body)
        except ValidationError as exc:
            for where, problem in field_problems(exc, model).items():
                errors.setdefault(where, problem)
        raise refusal(model.what, errors)


def json_object() -> dict[str, Any]:
    """The request's JSON body, which must be an object."""
    if not request.is_json:
        raise APIError(415, "Send JSON with Content-Type: application/json.")
    try:
        body = request.get_json(silent=True)
    except RecursionError:
        raise APIError(400, "The request body is nested too deeply.") from None
    if body is None:
        raise APIError(400, "The request body is not valid JSON.")
    if not isinstance(body, dict):
        raise APIError(400, f"The request body must be a JSON object, not {type(body).__name__}.")
    return body


# --- the document ---------------------------------------------------------------------------------------------


def document(app: Flask) -> Json:
    """The OpenAPI 3.1 description of `app` (in its app context): spectree's, generated from the declared
    routes and models, with what only the app knows: its name, its session cookie, the bounds that are
    settings; and the path parameters' models, which spectree does not read."""
    spec = copy.deepcopy(SPEC.spec)
    spec["info"]["title"] = f"{app.config['BUSINESS_NAME']} inbox API"
    spec["components"]["securitySchemes"] = {
        BEARER: {"type": "http", "scheme": "bearer", "description": "An API token made by `flask create-token NAME`."},
        COOKIE: {"type": "apiKey", "in": "cookie", "name": app.config["SESSION_COOKIE_NAME"],
                 "description": "A signed-in agent's session (sign in at /login); changes also need the "
                                "X-CSRFToken header."},
    }
    spec.pop("security", None)  # each operation says its own
    for item in spec["paths"].values():
        for op in item.values():
            _describe_path_parameters(op, PATH_MODELS.get(op["operationId"]))
            if not op.get("description"):
                op.pop("description", None)
            for code, response in op["responses"].items():
                if code in ("429", "503"):
                    response["headers"] = copy.deepcopy(RETRY_AFTER)
    _apply_settings(spec, app)
    return spec


def _describe_path_parameters(op: Json, model: type[Request] | None) -> None:
    if model is None:
        return
    properties = model.model_json_schema()["properties"]
    for parameter in op.get("parameters", []):
        if parameter["in"] == "path":
            schema = dict(properties[parameter["name"]])
            parameter["description"] = schema.pop("description", "")
            if "examples" in schema:
                parameter["example"] = schema.pop("examples")[0]
            parameter["schema"] = schema


def _apply_settings(node: Any, app: Flask) -> None:
    """A maxLength that is a setting (webapp.core.validation.text) gets the app's value."""
    if isinstance(node, dict):
        setting = node.pop(SETTING_MAX_LENGTH, None)
        if setting is not None:
            node["maxLength"] = int(app.config[setting])
        for child in node.values():
            _apply_settings(child, app)
    elif isinstance(node, list):
        for child in node:
            _apply_settings(child, app)
