"""The inbox: conversation and message documents, the one write path, the events it publishes,
the reads the API and the pages share, and sending."""

from .cli import register as register_cli
from .documents import DOCUMENTS

__all__ = ["DOCUMENTS", "register_cli"]
