"""The business's WhatsApp message templates: a stored copy of the approved ones (synced from Meta),
the only messages WhatsApp allows outside the 24-hour customer-service window."""

from .catalog import SyncFailed, SyncResult, find, find_by_key, parameter_count, render, stored, sync
from .cli import register as register_cli
from .documents import DOCUMENTS, MessageTemplate

__all__ = ["DOCUMENTS", "MessageTemplate", "SyncFailed", "SyncResult", "find", "find_by_key", "parameter_count",
           "register_cli", "render", "stored", "sync"]
