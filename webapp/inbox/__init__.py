"""The inbox: conversation and message documents, the one write path, the events it publishes,
the reads the API and the pages share, and sending."""

from .documents import DOCUMENTS
from .reindex import register as register_cli

__all__ = ["DOCUMENTS", "register_cli"]
