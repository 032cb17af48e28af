"""API tokens for programs: made by `flask create-token NAME`, sent as `Authorization: Bearer`.

A token is shown once when it is made; only its SHA-256 is stored (as the document's `_id`, the
one lookup FerretDB serves from an index), with a short prefix to recognise it in `flask tokens list`."""

from __future__ import annotations

import hashlib
import re
import secrets

from mongoengine import NotUniqueError

from .documents import AGENT, ROLES, ApiToken

TOKEN_PREFIX = "wai_"  # "WhatsApp inbox": makes a leaked token easy to recognise and search for
SHOWN_PREFIX = len(TOKEN_PREFIX) + 6
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}")
MAX_TOKEN_LENGTH = 200


class TokenError(ValueError):
    """The token or name cannot be used; the message says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(name: str, role: str = AGENT) -> tuple[ApiToken, str]:
    """A new token named `name` acting with `role`: the document, and the token itself (not stored anywhere)."""
    name = name.strip()
    if not NAME_RE.fullmatch(name):
        raise TokenError("A token name is 1 to 64 letters, digits, spaces, dots, dashes or underscores.")
    if ApiToken.by_name(name) is not None:
        raise TokenError(f"There is already a token named {name!r} (names are never reused); pick another name.")
    if role not in ROLES:
        raise TokenError(f"A role is one of {', '.join(ROLES)}, not {role!r}.")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(id=digest(secret), name=name, prefix=secret[:SHOWN_PREFIX], role=role)
    try:
        token.save(force_insert=True)
    except NotUniqueError:
        raise TokenError(f"There is already a token named {name!r}; pick another name.") from None
    return token, secret


def check(secret: str) -> ApiToken:
    """The live token for `secret` (its use recorded), or TokenError saying why not."""
    secret = secret.strip()
    token = ApiToken.by_hash(digest(secret)) if 0 < len(secret) <= MAX_TOKEN_LENGTH else None
    if token is None:
        raise TokenError("Unknown API token: check it, or make one with `flask create-token NAME`.")
    if token.revoked:
        raise TokenError(f"The API token {token.name!r} was revoked; make a new one with `flask create-token NAME`.")
    token.touch()
    return token


def revoke(name: str) -> tuple[ApiToken, bool]:
    """Revoke the token named `name`: (the token, whether it was live until now)."""
    token = ApiToken.by_name(name.strip())
    if token is None:
        raise TokenError(f"There is no token named {name!r}; `flask tokens list` shows them.")
    if token.revoked:
        return token, False
    token.revoke()
    return token, True


def all_tokens() -> list[ApiToken]:
    return list(ApiToken.objects.order_by("created_at"))
