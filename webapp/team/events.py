"""What the team package publishes on the event bus (the realtime push tells every open page)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CountsChanged:
    """The list filters' counts changed."""


@dataclass(frozen=True)
class NoteAdded:
    note_id: str
