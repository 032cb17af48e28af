"""The browser inbox: pages and the HTMX partial endpoints behind them."""

from . import analytics  # noqa: F401  (its route joins bp)
from .leads import bp as leads_bp
from .routes import bp

__all__ = ["bp", "leads_bp"]
