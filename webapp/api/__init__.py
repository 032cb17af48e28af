"""The JSON API under /api."""

from .routes import bp

__all__ = ["bp"]
