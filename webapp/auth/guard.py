"""Default deny: one check before every request. A route is private unless its endpoint is in
PUBLIC_ENDPOINTS; a private one needs a signed-in agent (session cookie, plus the CSRF token for
changes) or an API token (`Authorization: Bearer`). Socket.IO connections are checked in
webapp.auth.sockets (its handshake does not go through Flask's routing)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Response, current_app, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from ..core.errors import error_response, wants_json
from ..core.security import public_host
from . import accounts, csrf
from .tokens import TokenError

# Everything else needs a signed-in agent or an API token: a new route is private until listed here.
PUBLIC_ENDPOINTS = frozenset({
    "auth.login",  # the sign-in page and form (rate-limited: webapp.rate_limits)
    "admin.set_password",  # a one-time link's page: the secret in the link is the credential
    "webhook.verify_subscription",  # Meta's handshake: checks its verify token
    "webhook.receive",  # Meta's deliveries: checks X-Hub-Signature-256
    "health.healthz",
    "health.readyz",
    "static",
})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
SIGN_IN_FIRST = "Sign in first, or send an API token: `Authorization: Bearer <token>`."
ADMINS_ONLY = "Only admins can do this; ask an admin."

View = TypeVar("View", bound=Callable[..., Any])


def require_sign_in() -> ResponseReturnValue | None:
    """The app-wide before_request hook: sets g.principal, or answers 401 / the sign-in page."""
    if request.routing_exception is not None or request.endpoint in PUBLIC_ENDPOINTS:
        return None  # no such route (404/405 as usual), or a public one
    header = request.headers.get("Authorization")
    if header is not None:
        try:
            g.principal = accounts.from_token(accounts.bearer_token(header))
        except TokenError as exc:
            return _token_refused(exc.message)
        return None
    principal = accounts.from_session()
    if principal is None:
        return _sign_in_first()
    g.principal = principal
    if request.method not in SAFE_METHODS:
        csrf.protect()
    return None


def sent_by() -> str:
    """Who sends a message from this request: the agent's email, or "token:<name>"."""
    return principal().sent_by


def principal() -> accounts.Principal:
    """Who this request acts as (the guard lets no one else past)."""
    found: accounts.Principal | None = g.get("principal")
    if found is None:
        raise RuntimeError("no signed-in agent or API token on this request")
    return found


def admin_required(view: View) -> View:
    """Admins only: 403 in the envelope for the API, an error page for a browser."""

    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        who: accounts.Principal | None = g.get("principal")
        if who is None or not who.is_admin:
            if wants_json():
                return error_response(403, ADMINS_ONLY)
            return render_template("error.html", title="Admins only", text=ADMINS_ONLY), 403
        return view(*args, **kwargs)

    return checked  # type: ignore[return-value]


# --- answers to the anonymous ---------------------------------------------------------------------


def _token_refused(message: str) -> Response:
    response = error_response(401, message)
    response.headers["WWW-Authenticate"] = 'Bearer realm="inbox", error="invalid_token"'
    return response


def _sign_in_first() -> Response:
    if request.path.startswith("/api") or wants_json():
        response = error_response(401, SIGN_IN_FIRST)
        response.headers["WWW-Authenticate"] = 'Bearer realm="inbox"'
        return response
    if request.headers.get("HX-Request"):
        # An htmx request from a page whose session ended: send the whole page to sign-in.
        response = current_app.response_class(status=401)
        response.headers["HX-Redirect"] = login_url(_same_site_path(request.headers.get("HX-Current-URL")))
        return response
    next_url = request.full_path.rstrip("?") if request.method in ("GET", "HEAD") else None
    return redirect(login_url(next_url), 302 if request.method in ("GET", "HEAD") else 303)


def login_url(next_url: str | None = None) -> str:
    target = safe_next(next_url)
    if target is None or target == url_for("ui.index"):
        return url_for("auth.login")
    return url_for("auth.login", next=target)


def safe_next(target: str | None) -> str | None:
    """`target` when it is a path on this site (not another host, not a scheme, not sign-in itself)."""
    if not target or len(target) > 2048 or any(ord(c) < 32 or c == "\\" for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if parts.path in (url_for("auth.login"), url_for("auth.logout")):
        return None
    return target


def _same_site_path(url: str | None) -> str | None:
    """The path and query of a full URL on this host (htmx's HX-Current-URL)."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.netloc != public_host():
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")
