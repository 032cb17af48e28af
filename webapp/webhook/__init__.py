"""Meta's webhook: the verification handshake and deliveries."""

from .routes import bp

__all__ = ["bp"]
