"""Group commit: concurrent inserts into one collection written together, each caller answered for its own.

A journaled insert costs the database one commit whatever the batch's size (on FerretDB an `insert_many`
of 25 stores about four times as many documents a second as `insert_one`), and pymongo one command. When
requests store documents at the same time, the first to find no batch being written writes every
document waiting then (`insert_many`, unordered), and the others wait for that write; a caller that
arrives while a batch is written waits for the next one, which the first of them writes. Nobody waits
for a timer: a lone caller writes its document at once.

Each caller gets its own outcome: returned when its document is stored, or the error for it (a write
error of that document alone, or the error that failed the whole batch). Works with threads and with
eventlet's green threads alike (the lock and events are created after monkey-patching)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from pymongo.collection import Collection
from pymongo.errors import BulkWriteError, WriteError

# A batch no bigger than this: an insert's size stays far below MongoDB's 48 MB message, and no caller
# waits behind a very long write.
MAX_BATCH = 100


@dataclass(eq=False)
class _Waiting:
    collection: Collection
    document: dict[str, Any]
    written: threading.Event = field(default_factory=threading.Event)
    leads: bool = False  # handed the next batch to write
    error: BaseException | None = None


class GroupInsert:
    """One per process (or per kind of document); `insert` is safe to call from any number of threads. A batch
    holds documents of one collection (of one database and client): others wait for a batch of their own."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: list[_Waiting] = []
        self._writing = False

    def insert(self, collection: Collection, document: dict[str, Any]) -> None:
        """Store `document` (with its `_id` set) in `collection`, with the collection's write concern.
        Returns once it is written; raises what failed it."""
        me = _Waiting(collection, document)
        with self._lock:
            self._waiting.append(me)
            leads = not self._writing
            self._writing = True
        if not leads:
            me.written.wait()
            if not me.leads:
                if me.error is not None:
                    raise me.error
                return
        self._write_batch(me)
        if me.error is not None:
            raise me.error

    def _write_batch(self, me: _Waiting) -> None:
        collection = me.collection
        with self._lock:
            batch = [waiting for waiting in self._waiting if waiting.collection == collection][:MAX_BATCH]
            taken = set(map(id, batch))
            self._waiting = [waiting for waiting in self._waiting if id(waiting) not in taken]
        try:
            if len(batch) == 1:
                collection.insert_one(batch[0].document)
            else:
                collection.insert_many([waiting.document for waiting in batch], ordered=False)
        except BulkWriteError as exc:
            for failure in exc.details.get("writeErrors", []):
                batch[failure["index"]].error = WriteError(failure.get("errmsg", "write error"),
                                                          failure.get("code"), failure)
            if exc.details.get("writeConcernErrors"):
                for waiting in batch:
                    waiting.error = waiting.error or exc
        except BaseException as exc:  # the whole batch failed (the database went away, a timeout)
            for waiting in batch:
                waiting.error = exc
        finally:
            with self._lock:
                next_leader = self._waiting[0] if self._waiting else None
                if next_leader is None:
                    self._writing = False
                else:
                    next_leader.leads = True
            for waiting in batch:
                if waiting is not me:
                    waiting.written.set()
            if next_leader is not None:
                next_leader.written.set()
