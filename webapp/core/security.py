"""Security headers (Flask-Talisman) and which proxy headers to believe (werkzeug's ProxyFix).

Every response carries a strict Content-Security-Policy: scripts, styles, images and connections
only from this origin (the pages have no inline script, handler or style; htmx is configured in
templates/inbox.html not to eval or inject styles), no plugins, no framing, forms only to us.
HTTPS redirects and HSTS are on only when APP_ENV=production. The redirect, the page's WebSocket
source and every absolute URL (external_url) use PUBLIC_URL, never the request's Host header (which
the client chooses). Socket.IO's own answers under /socket.io/ bypass Flask: SocketHeaders gives
them the headers that apply to them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, has_request_context, redirect, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import Settings
from .errors import error_response
from .extensions import talisman

SELF = "'self'"
NONE = "'none'"
ONE_YEAR = 365 * 24 * 3600
# A Host header we are willing to repeat in a header: a name or an IP literal, and a port.
SAFE_HOST = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?")


class SameOriginSockets:
    """connect-src: 'self', plus ws:// and wss:// on the host the page was served from, for the
    page's Socket.IO connection (older browsers do not let 'self' cover ws: and wss:). Talisman
    joins a directive's sources with ' '.join(), so the host is read per request, here."""

    def __iter__(self) -> Iterator[str]:
        yield SELF
        host = public_host() if has_request_context() else ""
        if SAFE_HOST.fullmatch(host):
            yield f"ws://{host}"
            yield f"wss://{host}"


CONTENT_SECURITY_POLICY: dict[str, Any] = {
    "default-src": SELF,
    "script-src": SELF,
    "style-src": SELF,
    "img-src": [SELF, "data:"],
    "media-src": SELF,  # received voice notes and videos (/media/…)
    "connect-src": SameOriginSockets(),
    "object-src": NONE,
    "base-uri": SELF,
    "form-action": SELF,
    "frame-ancestors": NONE,
}

# Nothing here uses these browser features; say so.
PERMISSIONS_POLICY = {"camera": "()", "microphone": "()", "geolocation": "()", "payment": "()", "usb": "()"}

# Full URL to this origin (CSRF checks on HTTPS compare the Referer), only the origin elsewhere:
# chat URLs name the customer's number and must not leak through a link in a message.
REFERRER_POLICY = "strict-origin-when-cross-origin"


def public_host() -> str:
    """The host (and port) people open: PUBLIC_URL's, else this request's (development and tests)."""
    return urlsplit(current_app.config.get("PUBLIC_URL") or "").netloc or request.host


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute URL for a link that leaves the page (an email, a webhook answer): under PUBLIC_URL."""
    base = current_app.config.get("PUBLIC_URL") or request.host_url.rstrip("/")
    return base + url_for(endpoint, **values)


HTTPS_ONLY = "This site is served over HTTPS only."


def https_only() -> ResponseReturnValue | None:
    """Production: plain HTTP goes to the same path under PUBLIC_URL (an https:// one); without it,
    plain HTTP is refused rather than sent to whatever host the request named. Probes are exempt."""
    if request.is_secure:
        return None
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "talisman_view_options", {}).get("force_https") is False:
        return None
    public = current_app.config.get("PUBLIC_URL") or ""
    if not public.startswith("https://"):
        return error_response(403, f"{HTTPS_ONLY} Set PUBLIC_URL to redirect plain HTTP to it.")
    target = public + request.full_path.rstrip("?")
    return redirect(target, 302 if request.method in ("GET", "HEAD") else 308)


class SocketHeaders:
    """WSGI middleware: the security headers on Socket.IO's own answers (under /socket.io/, which
    python-engineio answers before Flask sees the request): no sniffing, no framing, no caching, a CSP
    that allows nothing, HSTS in production. The WebSocket upgrade itself is written by the server."""

    def __init__(self, app: Any, production: bool) -> None:
        self.app = app
        self.headers = [
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"),
            ("Referrer-Policy", REFERRER_POLICY),
            ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
            ("Cache-Control", "no-store"),
        ]
        if production:
            self.headers.append(("Strict-Transport-Security", f"max-age={ONE_YEAR}; includeSubDomains"))

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if not environ.get("PATH_INFO", "").startswith("/socket.io"):
            return self.app(environ, start_response)

        def with_headers(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            present = {name.lower() for name, _ in headers}
            return start_response(status, [*headers, *((n, v) for n, v in self.headers if n.lower() not in present)],
                                  *args)

        return self.app(environ, with_headers)


def init_security(app: Flask, settings: Settings) -> None:
    """Believe X-Forwarded-For/-Proto from TRUSTED_PROXIES proxies, and set the security headers."""
    app.wsgi_app = SocketHeaders(app.wsgi_app, settings.is_production)  # type: ignore[method-assign]
    if settings.TRUSTED_PROXIES:
        # Wraps everything, Socket.IO included, so the client address is the real one everywhere.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.TRUSTED_PROXIES, x_proto=settings.TRUSTED_PROXIES
        )
    production = settings.is_production
    talisman.init_app(
        app,
        content_security_policy=CONTENT_SECURITY_POLICY,
        permissions_policy=PERMISSIONS_POLICY,
        frame_options="DENY",
        referrer_policy=REFERRER_POLICY,
        x_content_type_options=True,
        force_https=False,  # https_only() below: Talisman's would redirect to the Host header
        strict_transport_security=production,
        strict_transport_security_max_age=ONE_YEAR,
        strict_transport_security_include_subdomains=True,
        # The session cookie's flags belong to sign-in (webapp config); Talisman leaves them as they are.
        session_cookie_secure=False,
        session_cookie_http_only=False,
        session_cookie_samesite=app.config.get("SESSION_COOKIE_SAMESITE"),
    )
    if production:
        app.before_request(https_only)


def plain_http_allowed(view: Any) -> Any:
    """For probes that a load balancer sends over plain HTTP inside the network: no HTTPS redirect."""
    return talisman(force_https=False)(view)
