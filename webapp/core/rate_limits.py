"""Rate limits per client address (Flask-Limiter): sign-in, the API, and the webhook apart.

Each limit is a setting read per request (RATELIMIT_LOGIN, RATELIMIT_API, RATELIMIT_WEBHOOK), and
each is shared by all the routes it covers: 300 a minute is for the whole API, not per route.
Counts live in Redis when REDIS_URL is set (every process sees the same count), else in the
process's memory. RATELIMIT_ENABLED=false switches limiting off. A client over a limit gets 429
in the JSON envelope with Retry-After (webapp.core.errors)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, current_app
from flask_limiter import RateLimitExceeded

from .extensions import limiter

LOGIN_ENDPOINT = "auth.login"


def _setting(name: str) -> Callable[[], str]:
    def limit() -> str:
        return current_app.config[name]

    limit.__name__ = name.lower()
    return limit


# Created once: applying the same limit again (another app in the same process) changes nothing.
api_limit = limiter.shared_limit(_setting("RATELIMIT_API"), scope="api")
webhook_limit = limiter.shared_limit(_setting("RATELIMIT_WEBHOOK"), scope="webhook")
# Only attempts count: showing the sign-in page is free.
login_limit = limiter.shared_limit(_setting("RATELIMIT_LOGIN"), scope="login", methods=["POST"])


def init_rate_limits(app: Flask) -> None:
    """Bind the limiter. Before the blueprints: its check then runs before their before-request
    hooks (sign-in), so requests refused there (a guessed API token) still count."""
    limiter.init_app(app)


def apply_limits(app: Flask, *, api: Blueprint, webhook: Blueprint) -> None:
    """Put the limits on the API, the webhook and the sign-in view (once it exists). Call it after
    every blueprint is registered."""
    api_limit(api)
    webhook_limit(webhook)
    login = app.view_functions.get(LOGIN_ENDPOINT)
    if login is not None and not getattr(login, "login_limited", False):
        limited: Any = login_limit(login)
        limited.login_limited = True
        app.view_functions[LOGIN_ENDPOINT] = limited


def retry_after(exc: RateLimitExceeded) -> int:
    """Whole seconds until the breached limit's window lets this client in again."""
    window = int(exc.limit.limit.get_expiry())
    current = limiter.current_limit
    if current is None:
        return window
    try:
        reset_at = current.reset_at
    except Exception:  # the storage failed between the check and now: the window is the bound
        return window
    return max(1, min(window, math.ceil(reset_at - time.time())))
