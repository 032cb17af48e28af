"""`X-Hub-Signature-256` verification for Meta's webhooks."""

from __future__ import annotations

import hashlib
import hmac
from enum import StrEnum


class SignatureVerdict(StrEnum):
    VALID = "valid"
    MISSING = "missing"
    INVALID = "invalid"
    NOT_CHECKED = "not_checked"  # no app secret configured


def sign(body: bytes, app_secret: str) -> str:
    """The header value Meta would send for `body`."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, header: str | None, app_secret: str) -> SignatureVerdict:
    if not app_secret:
        return SignatureVerdict.NOT_CHECKED
    if not header:
        return SignatureVerdict.MISSING
    if hmac.compare_digest(sign(body, app_secret).encode(), header.strip().encode()):
        return SignatureVerdict.VALID
    return SignatureVerdict.INVALID
