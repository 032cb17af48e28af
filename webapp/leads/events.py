"""What the leads package tells the event bus after a write."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LeadChanged:
    """A lead was created or changed (stage, fields, proposals, tags, owner, notes)."""

    lead_id: str
    created: bool = False
