"""The browser inbox: pages and the HTMX partial endpoints behind them."""

from . import analytics  # noqa: F401  (its route joins bp)
from .routes import bp

__all__ = ["bp"]
