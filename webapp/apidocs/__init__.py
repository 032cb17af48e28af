"""The API's description: /openapi.json (generated from the declared request schemas) and /docs
(Swagger UI, served from static/vendor/swagger-ui/). Both are behind sign-in like every page."""

from .routes import bp

__all__ = ["bp"]
