"""Whether the configured access token works, as the last call to Meta found it.

An expired or revoked token (Meta's code 190, HTTP 401) makes every send fail the same way; one
document (`_id` "whatsapp") remembers it, for the banner every agent sees, for /readyz, and so that
no more sends are tried with it. It names the token by a digest: setting a new token (and
restarting) clears the problem, as does any call that works."""

from __future__ import annotations

import hashlib

from flask import current_app
from mongoengine import DateTimeField, Document, StringField

from ..core.clock import utcnow

DOCUMENT_ID = "whatsapp"


class GraphHealth(Document):
    id = StringField(primary_key=True)
    token_digest = StringField(required=True)
    problem = StringField(required=True)
    since = DateTimeField(required=True)

    meta = {"collection": "graph_health"}


def _token_digest() -> str:
    return hashlib.sha256(current_app.config["WHATSAPP_ACCESS_TOKEN"].encode()).hexdigest()


def token_problem() -> str | None:
    """Why the configured token does not work, or None (it works, or nothing says otherwise)."""
    if not current_app.config.get("WHATSAPP_ACCESS_TOKEN"):
        return None
    found = GraphHealth.objects(pk=DOCUMENT_ID).first()
    if found is None or found.token_digest != _token_digest():
        return None
    return found.problem


def report_token_invalid(problem: str) -> bool:
    """Remember that the token was refused; True when this is news (the banner must go up)."""
    digest = _token_digest()
    before = GraphHealth._get_collection().find_one_and_update(
        {"_id": DOCUMENT_ID},
        {"$set": {"token_digest": digest, "problem": problem, "since": utcnow()}},
        upsert=True,
    )
    return before is None or before.get("token_digest") != digest


def report_token_works() -> bool:
    """A call worked: the token is fine. True when that clears a problem."""
    result = GraphHealth._get_collection().delete_one({"_id": DOCUMENT_ID, "token_digest": _token_digest()})
    return result.deleted_count > 0


DOCUMENTS: tuple[type[Document], ...] = (GraphHealth,)
