"""The browser inbox: pages and the HTMX partial endpoints behind them."""

from . import (
    ai_routes,  # noqa: F401  (the settings page and the handler bar join bp)
    analytics,  # noqa: F401  (its route joins bp)
)
from .ai_push import subscribe_ai
from .leads import bp as leads_bp
from .routes import bp

__all__ = ["bp", "leads_bp", "subscribe_ai"]
