"""Analytics: rollups kept up to date as messages are written (bus subscribers), the figures for a
period read from them, and `flask analytics rebuild`."""

from .cli import register as register_cli
from .documents import DOCUMENTS
from .figures import figures, period
from .subscribers import subscribe

__all__ = ["DOCUMENTS", "figures", "period", "register_cli", "subscribe"]
