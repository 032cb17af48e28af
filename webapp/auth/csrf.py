"""CSRF protection for cookie-signed-in requests: one random token per session.

The page carries it in <meta name="csrf-token"> (static/js/inbox.js sends it in the X-CSRFToken
header on every htmx request and on its own fetch calls) and forms in a hidden `csrf_token`
field. The guard (webapp.auth.guard) requires it on every POST/PUT/PATCH/DELETE made with the
session cookie; requests with an API token carry no ambient credentials and do not need it."""

from __future__ import annotations

import hmac
import secrets

from flask import request, session

from ..core.errors import CSRFError

SESSION_KEY = "csrf"
HEADER = "X-CSRFToken"
FIELD = "csrf_token"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token() -> str:
    """This session's token, made on first use."""
    value = session.get(SESSION_KEY)
    if not isinstance(value, str) or not value:
        value = new_token()
        session[SESSION_KEY] = value
    return value


def is_valid() -> bool:
    expected = session.get(SESSION_KEY)
    sent = request.headers.get(HEADER) or request.form.get(FIELD)
    if not isinstance(expected, str) or not expected or not sent:
        return False
    return hmac.compare_digest(sent.encode(), expected.encode())


def protect() -> None:
    if not is_valid():
        raise CSRFError()
