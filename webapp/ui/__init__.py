"""The browser inbox: pages and the HTMX partial endpoints behind them."""

from .routes import bp

__all__ = ["bp"]
