"""Canned replies: admins keep them, agents insert one with `/shortcut` in the composer."""

from __future__ import annotations

import re

from ..core.clock import utcnow
from ..core.errors import AppError, Invalid, NotFound
from .documents import CannedReply

SHORTCUT = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
SHORTCUT_RULE = "must be 1 to 32 lowercase letters, digits, - or _ (starting with a letter or digit)"
TEXT_MAX_LENGTH = 4096


class Taken(AppError):
    status = 409


def all_replies() -> list[CannedReply]:
    return list(CannedReply.objects.order_by("id"))


def save(shortcut: str, text: str, *, by: str, replace: bool = False) -> CannedReply:
    """Add a canned reply (409 when the shortcut is taken, unless `replace`)."""
    shortcut = shortcut.strip().lstrip("/").lower()
    if not SHORTCUT.fullmatch(shortcut):
        raise Invalid("Invalid canned reply.", {"shortcut": SHORTCUT_RULE})
    if not text.strip():
        raise Invalid("Invalid canned reply.", {"text": "must not be empty"})
    now = utcnow()
    collection = CannedReply._get_collection()
    if replace:
        collection.update_one({"_id": shortcut}, {"$set": {"text": text, "updated_at": now},
                                                 "$setOnInsert": {"created_by": by, "created_at": now}}, upsert=True)
    else:
        if collection.find_one({"_id": shortcut}) is not None:
            raise Taken(f"There is already a canned reply /{shortcut}.", {"shortcut": "is taken"})
        CannedReply(id=shortcut, text=text, created_by=by, created_at=now, updated_at=now).save(force_insert=True)
    return CannedReply.objects(pk=shortcut).first()


def delete(shortcut: str) -> None:
    if CannedReply._get_collection().delete_one({"_id": shortcut.lower()}).deleted_count == 0:
        raise NotFound(f"There is no canned reply /{shortcut}.")
