"""The lead list: search and filters, newest activity first, in pages; the same filter feeds the CSV
export. Leads are few beside messages (one per interested contact), so the filter runs over the
collection (on FerretDB in Go; on MongoDB the `recent_first` index orders it)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from bson.regex import Regex
from mongoengine.queryset.visitor import Q

from .documents import Lead


@dataclass(frozen=True)
class LeadFilter:
    q: str | None = None  # name, number or email
    stage: str | None = None
    tag: str | None = None
    owner: str | None = None  # an email, or "none" for leads nobody owns
    since: datetime | None = None  # created at or after
    until: datetime | None = None  # created before

    def query(self) -> Q:
        found = Q()
        if self.q:
            text = re.escape(self.q.strip())
            digits = re.sub(r"\D", "", self.q)
            found &= Q(name=Regex(text, "i")) | Q(emails=Regex(text, "i")) | (
                Q(id=Regex(digits)) | Q(phones=Regex(digits)) if len(digits) >= 3 else Q(id=Regex(text)))
        if self.stage:
            found &= Q(stage=self.stage)
        if self.tag:
            found &= Q(tags=self.tag.strip().lower())
        if self.owner == "none":
            found &= Q(owner=None)
        elif self.owner:
            found &= Q(owner=self.owner.strip().lower())
        if self.since:
            found &= Q(created_at__gte=self.since)
        if self.until:
            found &= Q(created_at__lt=self.until)
        return found


def page(filters: LeadFilter, *, limit: int, offset: int = 0) -> tuple[list[Lead], int]:
    """A page of leads (most recently changed first) and how many match in all."""
    matching = Lead.objects(filters.query())
    total = matching.count()
    return list(matching.order_by("-updated_at", "id").skip(offset).limit(limit)), total


def every(filters: LeadFilter, batch: int = 500) -> Iterator[Lead]:
    """Every matching lead, in batches (the export streams them)."""
    offset = 0
    while True:
        chunk = list(Lead.objects(filters.query()).order_by("-updated_at", "id").skip(offset).limit(batch))
        yield from chunk
        if len(chunk) < batch:
            return
        offset += batch


def tags_in_use() -> list[str]:
    return sorted({tag for lead in Lead.objects.only("tags") for tag in lead.tags})


def owners_in_use() -> list[str]:
    return sorted({lead.owner for lead in Lead.objects.only("owner") if lead.owner})
