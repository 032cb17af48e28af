"""The browser inbox: pages and the HTMX partial endpoints behind them."""

from . import ai_routes  # noqa: F401  (the settings page and the handler bar join bp)
from .ai_push import subscribe_ai
from .routes import bp

__all__ = ["bp", "subscribe_ai"]
