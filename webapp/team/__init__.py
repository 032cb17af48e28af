"""Working together: the list filters' counts, internal notes, canned replies, presence and drafts."""

from . import canned, counts, drafts, notes, presence
from .cli import register as register_cli
from .documents import DOCUMENTS
from .events import CountsChanged, NoteAdded

__all__ = ["DOCUMENTS", "CountsChanged", "NoteAdded", "canned", "counts", "drafts", "notes", "presence",
           "register_cli"]
