"""Group commit (core.group_insert) against the real test database: callers that arrive while a batch is
written are stored together by the next one, each is answered for its own document."""

from __future__ import annotations

import threading
import time
from typing import Any

import pymongo
import pytest
from pymongo import WriteConcern, monitoring
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError, PyMongoError, ServerSelectionTimeoutError, WriteError

from webapp.core.group_insert import GroupInsert

CALLERS = 8


class HoldFirstInsert(monitoring.CommandListener):
    """Holds the first insert (before it is sent) until the other callers are waiting for the next batch."""

    def __init__(self, group: GroupInsert, waiting: int) -> None:
        self.group, self.waiting = group, waiting
        self.inserts: list[int] = []  # documents per insert command, in order

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name != "insert":
            return
        self.inserts.append(len(event.command["documents"]))
        if len(self.inserts) == 1:
            deadline = time.monotonic() + 10
            while len(self.group._waiting) < self.waiting and time.monotonic() < deadline:
                time.sleep(0.005)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def insert_together(group: GroupInsert, collection: Any, documents: list[dict[str, Any]]) -> list[Any]:
    """Each document from its own thread, the first one started first; what each call returned or raised.
    `collection`: one, or a function of the document's place giving its collection."""
    outcomes: list[Any] = [None] * len(documents)

    def insert(i: int) -> None:
        try:
            group.insert(collection if isinstance(collection, Collection) else collection(i), documents[i])
            outcomes[i] = "stored"
        except PyMongoError as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=insert, args=(i,)) for i in range(len(documents))]
    threads[0].start()
    time.sleep(0.05)
    for thread in threads[1:]:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


@pytest.fixture
def client_and_listener(mongodb_uri: str) -> Any:
    group = GroupInsert()
    listener = HoldFirstInsert(group, CALLERS - 1)
    client: pymongo.MongoClient[Any] = pymongo.MongoClient(mongodb_uri, event_listeners=[listener])
    yield client, group, listener
    client.close()


def test_inserts_that_arrive_while_one_is_written_are_stored_together_and_each_caller_answered(
        client_and_listener: Any) -> None:
    client, group, listener = client_and_listener
    collection = client.get_default_database()["deliveries"].with_options(write_concern=WriteConcern(w=1, j=True))
    documents = [{"_id": f"d{i}", "body": "x" * i} for i in range(CALLERS)]

    outcomes = insert_together(group, collection, documents)

    assert outcomes == ["stored"] * CALLERS
    assert listener.inserts == [1, CALLERS - 1]  # the first alone, then everyone who came meanwhile in one
    assert sorted(collection.find(), key=lambda d: d["_id"]) == documents
    assert not group._writing and not group._waiting


def test_a_document_the_database_refuses_fails_only_its_own_caller(client_and_listener: Any, mongodb_uri: str) -> None:
    client, group, listener = client_and_listener
    collection = client.get_default_database()["deliveries"]
    with pymongo.MongoClient(mongodb_uri) as other:
        other.get_default_database()["deliveries"].insert_one({"_id": "taken"})
    documents = [{"_id": f"d{i}"} for i in range(CALLERS)]
    documents[3] = {"_id": "taken", "again": True}

    outcomes = insert_together(group, collection, documents)

    assert isinstance(outcomes[3], WriteError) and outcomes[3].code == DuplicateKeyError(" ", 11000).code
    assert outcomes[:3] + outcomes[4:] == ["stored"] * (CALLERS - 1)
    assert listener.inserts == [1, CALLERS - 1]
    assert collection.find_one({"_id": "taken"}) == {"_id": "taken"}
    assert collection.count_documents({}) == CALLERS


def test_when_the_database_is_away_every_caller_gets_the_error_and_later_inserts_go_on(mongodb_uri: str) -> None:
    group = GroupInsert()
    away: pymongo.MongoClient[Any] = pymongo.MongoClient("mongodb://127.0.0.1:9/", serverSelectionTimeoutMS=300)
    try:
        outcomes = insert_together(group, away.db.deliveries, [{"_id": i} for i in range(4)])
    finally:
        away.close()
    assert all(isinstance(outcome, ServerSelectionTimeoutError) for outcome in outcomes)
    assert not group._writing and not group._waiting

    back: pymongo.MongoClient[Any] = pymongo.MongoClient(mongodb_uri)
    try:
        group.insert(back.get_default_database().deliveries, {"_id": "after"})
        assert back.get_default_database().deliveries.find_one({"_id": "after"}) == {"_id": "after"}
    finally:
        back.close()


def test_a_batch_holds_documents_of_one_collection(client_and_listener: Any) -> None:
    client, group, listener = client_and_listener
    database = client.get_default_database()
    documents = [{"_id": f"d{i}"} for i in range(CALLERS)]

    outcomes = insert_together(group, lambda i: database["odd" if i % 2 else "even"], documents)

    assert outcomes == ["stored"] * CALLERS
    assert sorted(d["_id"] for d in database["even"].find()) == ["d0", "d2", "d4", "d6"]
    assert sorted(d["_id"] for d in database["odd"].find()) == ["d1", "d3", "d5", "d7"]
    assert listener.inserts == [1, 4, 3]  # even's first alone; then every odd one; then the other evens
