"""Errors and the JSON envelope.

Feature code raises the domain errors (NotFound, Invalid): they say what is wrong, not how to
answer it. Routes may raise APIError for an answer of their own. The handlers registered here turn
both, and every other failure, into the envelope under `/api` and `/webhook`."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask_limiter import RateLimitExceeded
from pymongo.errors import PyMongoError
from werkzeug.exceptions import HTTPException

from .db import DB_UNAVAILABLE
from .envelope import ErrorEnvelope
from .rate_limits import retry_after

log = logging.getLogger(__name__)

JSON_PREFIXES = ("/api", "/webhook")


class AppError(Exception):
    """Something a caller asked for cannot be done; `errors` names the bad fields or JSON paths."""

    status = 400

    def __init__(self, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors


class Invalid(AppError):
    """The input is malformed; nothing was changed."""


class NotFound(AppError):
    """What was asked for does not exist."""

    status = 404


class APIError(AppError):
    """An answer a route chooses itself: a status, a message, and the bad fields."""

    def __init__(self, status: int, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message, errors)
        self.status = status


class CSRFError(APIError):
    """A change made with the session cookie but without the page's CSRF token (webapp.auth.csrf)."""

    def __init__(self, message: str = "The CSRF token is missing or wrong: reload the page and try again.") -> None:
        super().__init__(403, message)


def envelope(
    data: Any = None, message: str = "OK", status: int = 200, meta: dict[str, Any] | None = None
) -> tuple[Response, int]:
    body: dict[str, Any] = {"status": "success", "message": message, "data": data}
    if meta is not None:
        body["meta"] = meta
    return jsonify(body), status


def error_response(status: int, message: str, errors: dict[str, str] | None = None) -> Response:
    body = ErrorEnvelope(message=message, errors=errors or None)
    return current_app.response_class(body.model_dump_json(), status, mimetype="application/json")


def wants_json() -> bool:
    return request.path.startswith(JSON_PREFIXES) or request.accept_mimetypes.best == "application/json"


MESSAGES = {
    400: "The request is malformed.",
    401: "Authentication is required.",
    403: "Forbidden.",
    404: "Not found.",
    405: "That method is not allowed here.",
    413: "The request body is too large.",
    415: "Send JSON with Content-Type: application/json.",
    422: "The request could not be processed.",
    429: "Too many requests; slow down.",
    500: "Internal server error.",
}


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> Response | tuple[str, int]:
        """The envelope under /api; a plain page otherwise (the inbox's composer shows its own)."""
        if wants_json():
            return error_response(exc.status, exc.message)
        return render_template("error.html", title="This page is out of date", text=exc.message), exc.status

    @app.errorhandler(AppError)
    def app_error(exc: AppError) -> Response:
        return error_response(exc.status, exc.message, exc.errors or None)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response | HTTPException:
        if not wants_json():
            return exc
        status = exc.code or 500
        message = MESSAGES.get(status, exc.name)
        if status == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH")
            message = f"The request body is larger than the {limit} bytes allowed."
        elif status == 405:
            message = f"{request.method} is not allowed on {request.path}."
        elif status == 404:
            message = f"Nothing at {request.path}."
        response = error_response(status, message)
        if status == 405 and exc.valid_methods:  # type: ignore[attr-defined]
            response.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
        for key, value in exc.get_headers():
            if key.lower() == "retry-after":
                response.headers[key] = value
        return response

    @app.errorhandler(RateLimitExceeded)
    def too_many_requests(exc: RateLimitExceeded) -> Response:
        """Over a rate limit: the envelope, for pages too (a client that hammers sign-in reads it)."""
        wait = retry_after(exc)
        response = error_response(
            429, f"Too many requests: at most {exc.limit.limit} from one client. Try again in {wait} seconds."
        )
        response.headers["Retry-After"] = str(wait)
        return response

    @app.errorhandler(PyMongoError)
    def database_error(exc: PyMongoError) -> Response:
        """The envelope under /api (and for JSON clients); a page a person can read otherwise."""
        if isinstance(exc, DB_UNAVAILABLE):
            log.warning("database unavailable: %s", exc)
            status, text = 503, "The database is unavailable; nothing was stored. Try again."
            title = "The inbox cannot reach its database"
        else:
            log.exception("database error")
            status, text, title = 500, MESSAGES[500], "Something went wrong"
        if wants_json():
            response = error_response(status, text)
        else:
            page = render_template("error.html", title=title,
                                   text=f"{text} This page will work again once the database is back.")
            response = current_app.response_class(page, status, mimetype="text/html")
        if status == 503:
            response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response | tuple[str, int]:
        log.exception("unhandled error on %s %s", request.method, request.path)
        if wants_json():
            return error_response(500, MESSAGES[500])
        return "Internal server error", 500
