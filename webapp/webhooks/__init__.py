"""Meta's webhook: the verification handshake, deliveries, the raw log and its replay."""

from .cli import register as register_cli
from .documents import DOCUMENTS
from .routes import bp
from .tasks import PRUNE_EVERY, prune_deliveries, sweep_deliveries

__all__ = ["DOCUMENTS", "PRUNE_EVERY", "bp", "prune_deliveries", "register_cli", "sweep_deliveries"]
