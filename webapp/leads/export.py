"""Leads as CSV for spreadsheets: RFC 4180 (CRLF, quotes doubled), UTF-8 with a byte-order mark so
Excel reads it as UTF-8, ISO-8601 UTC times, and every cell that a spreadsheet would run as a formula
(starting with =, +, -, @, tab or carriage return) prefixed with an apostrophe."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from ..core.clock import iso
from .documents import Lead

BOM = "\ufeff"
COLUMNS = ("WhatsApp number", "Name", "Emails", "Phones", "Stage", "Score", "Owner", "Tags", "Details",
           "Created (UTC)", "Updated (UTC)", "Last message (UTC)", "Notes")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value: str) -> str:
    """A cell a spreadsheet shows as text, never runs (OWASP's CSV injection advice)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def row(lead: Lead) -> list[str]:
    cells = [
        lead.id, lead.name or "", "; ".join(lead.emails), "; ".join(lead.phones), lead.stage, str(lead.score),
        lead.owner or "", "; ".join(lead.tags), "; ".join(f"{k}: {v}" for k, v in sorted(lead.fields.items())),
        iso(lead.created_at) or "", iso(lead.updated_at) or "", iso(lead.last_message_at) or "",
        str(len(lead.notes)),
    ]
    return [neutralize(cell) for cell in cells]


def lines(leads: Iterable[Lead]) -> Iterator[str]:
    """The file, a few rows at a time: the header (after the BOM), then one record per lead."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(COLUMNS)
    yield BOM + flush()
    for count, lead in enumerate(leads, 1):
        writer.writerow(row(lead))
        if count % 100 == 0:
            yield flush()
    yield flush()
