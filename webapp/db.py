"""Connecting to MongoDB (or FerretDB) and creating the indexes, at start-up."""

from __future__ import annotations

import re

import mongoengine
from pymongo import uri_parser
from pymongo.errors import ConfigurationError, PyMongoError

from .config import ConfigError
from .models import ALL_DOCUMENTS

DEFAULT_DATABASE = "whatsapp_inbox"


class DatabaseUnavailable(RuntimeError):
    pass


def redact(uri: str) -> str:
    return re.sub(r"//[^@/]*@", "//***@", uri)


def connect(uri: str, timeout_ms: int) -> None:
    """Connect, check the server answers, and create every document's indexes."""
    try:
        database = uri_parser.parse_uri(uri).get("database") or DEFAULT_DATABASE
    except (ConfigurationError, ValueError) as exc:
        raise ConfigError(f"MONGODB_URI is not a valid MongoDB URI: {exc}") from None
    mongoengine.disconnect_all()
    for document in ALL_DOCUMENTS:
        document._collection = None  # forget a collection bound to a previous connection
    mongoengine.connect(
        host=uri,
        db=database,
        tz_aware=True,
        uuidRepresentation="standard",
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
    )
    try:
        mongoengine.get_db().command("ping")
        for document in ALL_DOCUMENTS:
            document.ensure_indexes()
    except PyMongoError as exc:
        reason = str(exc).split(",")[0].split("\n")[0]
        raise DatabaseUnavailable(f"cannot reach the database at {redact(uri)}: {reason}") from None
