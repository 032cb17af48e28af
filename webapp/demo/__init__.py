"""The demo inbox (`make run` loads it into an empty database) and `flask simulate`."""

from .cli import register as register_cli

__all__ = ["register_cli"]
