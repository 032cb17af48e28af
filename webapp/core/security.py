"""Security headers (Flask-Talisman) and which proxy headers to believe (werkzeug's ProxyFix).

Every response carries a strict Content-Security-Policy: scripts, styles, images and connections
only from this origin (the pages have no inline script, handler or style; htmx is configured in
templates/inbox.html not to eval or inject styles), no plugins, no framing, forms only to us.
HTTPS redirects and HSTS are on only when APP_ENV=production."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from flask import Flask, has_request_context, request
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import Settings
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
        host = request.host if has_request_context() else ""
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


def init_security(app: Flask, settings: Settings) -> None:
    """Believe X-Forwarded-For/-Proto from TRUSTED_PROXIES proxies, and set the security headers."""
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
        force_https=production,
        strict_transport_security=production,
        strict_transport_security_max_age=ONE_YEAR,
        strict_transport_security_include_subdomains=True,
        # The session cookie's flags belong to sign-in (webapp config); Talisman leaves them as they are.
        session_cookie_secure=False,
        session_cookie_http_only=False,
        session_cookie_samesite=app.config.get("SESSION_COOKIE_SAMESITE"),
    )


def plain_http_allowed(view: Any) -> Any:
    """For probes that a load balancer sends over plain HTTP inside the network: no HTTPS redirect."""
    return talisman(force_https=False)(view)
