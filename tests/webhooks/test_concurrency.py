"""Concurrent deliveries against the real eventlet server over real sockets."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pymongo
import pytest
import requests

from tests.helpers.payloads import RAVI, inbound, meta_body, outbound, raw, status, statuses, text, value, wamid

T0 = 1754400000


def post_all(url: str, bodies: list[bytes]) -> list[requests.Response]:
    """POST every body to /webhook at once: the threads start together, one request each."""
    start = threading.Barrier(len(bodies))

    def post(body: bytes) -> requests.Response:
        start.wait()
        return requests.post(f"{url}/webhook", data=body, headers={"Content-Type": "application/json"}, timeout=30)

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        responses = list(pool.map(post, bodies))
    for response in responses:
        assert response.status_code == 200, response.text
        assert response.json()["data"]["outcome"] == "processed"
    return responses


def get(url: str, headers: dict[str, str]) -> dict[str, Any]:
    response = requests.get(url, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def messages(server, wa_id: str = RAVI) -> list[dict[str, Any]]:
    return get(f"{server.url}/api/messages/{wa_id}?limit=200", server.auth_headers)["data"]


def conversation(server, wa_id: str = RAVI) -> dict[str, Any]:
    rows = [r for r in get(f"{server.url}/api/conversations", server.auth_headers)["data"] if r["wa_id"] == wa_id]
    assert len(rows) == 1
    return rows[0]


@pytest.fixture
def db(mongodb_uri: str):
    client: pymongo.MongoClient[Any] = pymongo.MongoClient(mongodb_uri, serverSelectionTimeoutMS=5000)
    yield client.get_default_database()
    client.close()


def test_the_same_body_twenty_times_at_once_is_stored_once(live_server, db):
    body = raw(inbound(text("Is anyone there?", id="wamid.SAME", timestamp=T0), name="Ravi Kumar"))
    responses = post_all(live_server.url, [body] * 20)
    reports = [r.json()["data"] for r in responses]
    assert sum(r["stored"] for r in reports) == 1
    assert sum(r["duplicates"] for r in reports) == 19
    assert [m["id"] for m in messages(live_server)] == ["wamid.SAME"]
    row = conversation(live_server)
    assert row["unreadCount"] == 1 and row["id"] == "wamid.SAME" and row["contactName"] == "Ravi Kumar"
    assert db.webhook_events.count_documents({}) == 20
    assert db.webhook_events.count_documents({"outcome": "processed"}) == 20


def status_bodies(target: str, copies: int) -> list[bytes]:
    bodies = [
        raw(statuses(status(target, name, timestamp=T0 + offset)))
        for name, offset in (("sent", 1), ("delivered", 2), ("read", 3))
        for _ in range(copies)
    ]
    random.shuffle(bodies)
    return bodies


def test_concurrent_statuses_end_at_read(live_server):
    target = wamid("OUT")
    post_all(live_server.url, [raw(meta_body(value(messages=[outbound("Shipped", to=RAVI, id=target,
                                                                      timestamp=T0)])))])
    responses = post_all(live_server.url, status_bodies(target, 5))
    reports = [r.json()["data"] for r in responses]
    # each status was applied or found stale exactly once; only `delivered` and `read` can move the tick
    # (it was `sent` already), and `read` moves it exactly once
    applied = sum(r["statusesApplied"] for r in reports)
    assert applied + sum(r["statusesStale"] for r in reports) == 15
    assert applied in (1, 2)
    item = messages(live_server)[0]
    assert item["status"] == "read"
    assert set(item["statusTimestamps"]) == {"sent", "delivered", "read"}
    assert conversation(live_server)["status"] == "read"


@pytest.mark.parametrize("round_", range(3))
def test_statuses_racing_their_message_end_at_read(live_server, db, round_):
    target = wamid("OUT")
    message_body = raw(meta_body(value(messages=[outbound("Shipped", to=RAVI, id=target, timestamp=T0)],
                                       contacts=[(RAVI, "Ravi Kumar")])))
    bodies = [*status_bodies(target, 3), message_body, message_body]
    random.shuffle(bodies)
    post_all(live_server.url, bodies)
    listed = messages(live_server)
    assert [m["id"] for m in listed] == [target]
    assert listed[0]["status"] == "read"
    assert set(listed[0]["statusTimestamps"]) == {"sent", "delivered", "read"}
    row = conversation(live_server)
    assert row["id"] == target and row["status"] == "read"
    assert db.pending_updates.count_documents({}) == 0


def test_twenty_different_messages_at_once_are_all_stored(live_server):
    ids = [f"wamid.PAR{i:02d}" for i in range(20)]
    # half of them in the same second: arrival order breaks the tie
    bodies = [raw(inbound(text(f"part {i}", id=ids[i], timestamp=T0 + (i if i < 10 else 10)), name="Ravi Kumar"))
              for i in range(20)]
    responses = post_all(live_server.url, bodies)
    assert sum(r.json()["data"]["stored"] for r in responses) == 20
    listed = messages(live_server)
    assert sorted(m["id"] for m in listed) == ids
    assert [m["id"] for m in listed[:10]] == ids[:10]
    row = conversation(live_server)
    assert row["unreadCount"] == 20
    assert row["timestamp"] == "2025-08-05T13:20:10Z" and row["id"] in ids[10:]
    # the summary is the last of the same-second messages as the list orders them
    assert row["id"] == listed[-1]["id"]
    # paging one at a time walks every message once
    seen: list[str] = []
    url = f"{live_server.url}/api/messages/{RAVI}?limit=1"
    for _ in range(25):
        page = get(url, live_server.auth_headers)
        seen = [m["id"] for m in page["data"]] + seen
        if not page["meta"]["hasMore"]:
            break
        url = f"{live_server.url}/api/messages/{RAVI}?limit=1&before={page['meta']['before']}"
    assert seen == [m["id"] for m in listed]


def test_marking_read_while_messages_arrive_loses_nothing(live_server):
    ids = [f"wamid.RD{i:02d}" for i in range(16)]
    bodies = [raw(inbound(text(f"msg {i}", id=ids[i], timestamp=T0 + i), name="Ravi Kumar")) for i in range(16)]
    post_all(live_server.url, bodies[:1])
    start = threading.Barrier(len(bodies) - 1 + 8)

    def deliver(body: bytes) -> int:
        start.wait()
        return requests.post(f"{live_server.url}/webhook", data=body, headers={"Content-Type": "application/json"},
                             timeout=30).status_code

    def mark_read(_: int) -> int:
        start.wait()
        return requests.post(f"{live_server.url}/api/conversations/{RAVI}/read", headers=live_server.auth_headers,
                             timeout=30).status_code

    with ThreadPoolExecutor(max_workers=len(bodies) - 1 + 8) as pool:
        delivered = [pool.submit(deliver, body) for body in bodies[1:]]
        reads = [pool.submit(mark_read, i) for i in range(8)]
        assert [f.result() for f in delivered] == [200] * 15
        assert [f.result() for f in reads] == [200] * 8
    row = conversation(live_server)
    assert row["id"] == ids[-1] and row["timestamp"] == "2025-08-05T13:20:15Z"
    assert 0 <= row["unreadCount"] <= 16
    assert sorted(m["id"] for m in messages(live_server)) == ids
    # a read then a message: exactly one unread
    assert requests.post(f"{live_server.url}/api/conversations/{RAVI}/read", headers=live_server.auth_headers,
                         timeout=10).status_code == 200
    post_all(live_server.url, [raw(inbound(text("after", id="wamid.RDAFTER", timestamp=T0 + 99)))])
    assert conversation(live_server)["unreadCount"] == 1
