"""The JSON API under /api, and its description: /openapi.json and /docs (docs_bp)."""

from . import (
    ai_routes,  # noqa: F401  (its routes join bp)
    leads,  # noqa: F401  (its routes join the API blueprint)
)
from .docs import bp as docs_bp
from .routes import bp

__all__ = ["bp", "docs_bp"]
