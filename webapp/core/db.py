"""Connecting to MongoDB (or FerretDB), creating the indexes at start-up, and the write lock."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

import mongoengine
from mongoengine import Document
from pymongo import uri_parser
from pymongo.errors import (
    AutoReconnect,
    ConfigurationError,
    ConnectionFailure,
    PyMongoError,
    ServerSelectionTimeoutError,
)

from .config import ConfigError

DEFAULT_DATABASE = "whatsapp_inbox"

# The database went away (as opposed to refusing one write): callers answer 503 and retry later.
DB_UNAVAILABLE = (ConnectionFailure, ServerSelectionTimeoutError, AutoReconnect)

# FerretDB 1.x (the development and test database) applies an update as read, modify, write with
# no isolation, so two concurrent updates of one document can lose one (an unread count, a status
# time) and two concurrent upserts of one `_id` fail with a duplicate key. Every write that folds
# into shared documents holds this lock; created after eventlet's monkey-patching, it is a green
# lock. On MongoDB, where each update is atomic anyway, it only serializes this process's writes.
WRITE_LOCK = threading.Lock()


class DatabaseUnavailable(RuntimeError):
    pass


def redact(uri: str) -> str:
    return re.sub(r"//[^@/]*@", "//***@", uri)


def connect(uri: str, timeout_ms: int, documents: Iterable[type[Document]]) -> None:
    """Connect, check the server answers, and create every document's indexes."""
    try:
        database = uri_parser.parse_uri(uri).get("database") or DEFAULT_DATABASE
    except (ConfigurationError, ValueError) as exc:
        raise ConfigError(f"MONGODB_URI is not a valid MongoDB URI: {exc}") from None
    documents = tuple(documents)
    mongoengine.disconnect_all()
    for document in documents:
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
        for document in documents:
            document.ensure_indexes()
    except PyMongoError as exc:
        reason = str(exc).split(",")[0].split("\n")[0]
        raise DatabaseUnavailable(f"cannot reach the database at {redact(uri)}: {reason}") from None
