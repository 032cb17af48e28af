"""CSRF protection for cookie-signed-in requests, by Flask-WTF: one random token per session.

The page carries it in <meta name="csrf-token"> (static/js/inbox.js sends it in the X-CSRFToken
header on every htmx request and on its own fetch calls) and forms in a hidden `csrf_token`
field. The guard (webapp.auth.guard) requires it on every POST/PUT/PATCH/DELETE made with the
session cookie; requests with an API token carry no ambient credentials and do not need it, so
Flask-WTF checks nothing by itself (WTF_CSRF_CHECK_DEFAULT=False)."""

from __future__ import annotations

from flask import Flask, request
from flask_wtf.csrf import CSRFError as WrongToken
from flask_wtf.csrf import CSRFProtect, validate_csrf
from wtforms import ValidationError

from ..core.errors import CSRFError

HEADER = "X-CSRFToken"
FIELD = "csrf_token"

csrf_protect = CSRFProtect()


def init_app(app: Flask) -> None:
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)  # the guard decides who needs it
    app.config.setdefault("WTF_CSRF_HEADERS", [HEADER])
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # a token lives as long as its session
    # No Referer check on HTTPS: the token is the rule, as for plain HTTP (SameSite=Lax does the rest).
    app.config.setdefault("WTF_CSRF_SSL_STRICT", False)
    csrf_protect.init_app(app)  # also gives templates csrf_token()


def is_valid() -> bool:
    try:
        validate_csrf(request.form.get(FIELD) or request.headers.get(HEADER))
    except ValidationError:
        return False
    return True


def protect() -> None:
    """Refuse this request (CSRFError: 403) unless it carries the session's token."""
    try:
        csrf_protect.protect()
    except WrongToken:
        raise CSRFError() from None
