"""Connecting to MongoDB (or FerretDB), creating the indexes at start-up, and the write lock."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import mongoengine
import redis
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
# into shared documents runs inside write_lock(): on FerretDB it holds this process's lock (created
# after eventlet's monkey-patching, a green lock in the web server) and, when REDIS_URL is set, a
# Redis lock shared by every process (web servers and workers). On MongoDB, whose updates are
# atomic, it holds nothing.
WRITE_LOCK = threading.Lock()
SHARED_WRITE_LOCK = "inbox:write-lock"
# A writer waits at most this long for the shared lock.
SHARED_LOCK_TIMEOUT = 30.0
# The shared lock's lease: a holder that died (kill -9) frees it after this long. A live holder renews it
# every third of it for as long as its write lasts (a thread; a green one in the eventlet server).
SHARED_LOCK_LEASE = 5.0
SHARED_LOCK_POLL = 0.005  # seconds between tries while another process writes


class _WritePolicy:
    """What write_lock() holds, decided at start-up: connect() finds the server, share_write_lock() Redis."""

    serialize: bool = True  # until connect() has asked the server
    shared: redis.Redis | None = None


_policy = _WritePolicy()


def writes_serialized() -> bool:
    """Whether write_lock() serializes writes (FerretDB): then, inside it, a document read by `_id` stays as
    read until this writer changes it, and an update can be addressed by `_id` alone, which FerretDB looks
    up; any other condition in a filter makes it read the whole collection."""
    return _policy.serialize


@contextmanager
def write_lock() -> Iterator[None]:
    """Hold around a write that folds into shared documents (see WRITE_LOCK)."""
    if not _policy.serialize:
        yield
        return
    with WRITE_LOCK:  # first: one waiter per process polls Redis, not every request
        if _policy.shared is None:
            yield
            return
        # thread_local=False: the renewing thread uses this lock's token too (the lock is this call's own).
        lock = _policy.shared.lock(SHARED_WRITE_LOCK, timeout=SHARED_LOCK_LEASE, sleep=SHARED_LOCK_POLL,
                                   blocking_timeout=SHARED_LOCK_TIMEOUT, thread_local=False)
        try:
            if not lock.acquire():
                raise WriteLockUnavailable(f"another process held the write lock for {SHARED_LOCK_TIMEOUT:.0f}s")
        except redis.RedisError as exc:
            raise WriteLockUnavailable(f"the write lock's Redis is unavailable: {exc}") from exc
        held = threading.Event()
        renewer = threading.Thread(target=_renew, args=(lock, held), daemon=True, name="write-lock-lease")
        renewer.start()
        try:
            yield
        finally:
            held.set()
            with suppress(redis.RedisError):  # expired (the write outlived the lease), or Redis went away
                lock.release()


def _renew(lock: Any, done: threading.Event) -> None:
    """Keep the shared lock's lease while its write lasts."""
    while not done.wait(SHARED_LOCK_LEASE / 3):
        with suppress(redis.RedisError):  # lost (Redis away, or expired): the release says so
            lock.reacquire()


def share_write_lock(redis_url: str) -> None:
    """With REDIS_URL set, write_lock() also takes a Redis lock, so workers and every web process
    write one at a time; without it, the process lock (one process writes) is all there is."""
    if _policy.shared is not None:
        _policy.shared.close()
    _policy.shared = (
        redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=SHARED_LOCK_TIMEOUT + 5)
        if redis_url else None
    )


def is_ferretdb(build_info: dict[str, Any]) -> bool:
    """FerretDB answers buildInfo as MongoDB 7 would, plus its own `ferretdbVersion` (1.24: "unknown"
    in a build from the Go module, the version in a release) and `ferretdbFeatures`."""
    return "ferretdbVersion" in build_info


class DatabaseUnavailable(RuntimeError):
    pass


class WriteLockUnavailable(AutoReconnect):
    """No write could take turns (Redis away, or the lock held too long): handled as the database
    being away (in DB_UNAVAILABLE), so a webhook answers 503 and WhatsApp delivers it again."""


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
        db = mongoengine.get_db()
        db.command("ping")
        _policy.serialize = is_ferretdb(db.client.admin.command("buildInfo"))
        for document in documents:
            document.ensure_indexes()
    except PyMongoError as exc:
        reason = str(exc).split(",")[0].split("\n")[0]
        raise DatabaseUnavailable(f"cannot reach the database at {redact(uri)}: {reason}") from None
