"""The production layout in small: two web processes and a job worker on one database and one Redis.
Webhooks land on both web processes at once, agents reply from both, the worker ticks the replies
delivered and read; a Socket.IO client on each web process gets every event, and every count is exact
(on FerretDB every read-modify-write takes the Redis write lock; MongoDB's updates are atomic)."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.helpers.app import LiveServer
from tests.helpers.browser import Listener
from tests.helpers.payloads import NEHA, RAVI, inbound, raw, text, wamid
from tests.helpers.services import RedisServer, StartWorker
from tests.helpers.wait import eventually

StartServer = Callable[..., LiveServer]
Listen = Callable[[LiveServer], Listener]
CONTACTS = {RAVI: "Ravi Kumar", NEHA: "Neha", "14155550142": "Maria Lopez"}
EACH = 16  # inbound messages per contact, half through each web process


def test_two_web_processes_and_a_worker_lose_nothing(
    start_server: StartServer, redis_server: RedisServer, start_worker: StartWorker, listen: Listen
) -> None:
    shared = {"REDIS_URL": redis_server.url, "SIMULATE_DELIVERY": True, "SIMULATE_DELIVERED_AFTER": 0.2,
              "SIMULATE_READ_AFTER": 0.5}
    web = [start_server(**shared), start_server(**shared)]
    start_worker(**shared)
    listeners = [listen(server) for server in web]

    now = int(time.time())
    inbound_ids = {wa_id: [wamid() for _ in range(EACH)] for wa_id in CONTACTS}
    deliveries = [(web[i % 2], raw(inbound(text(f"message {i}", id=message_id, sender=wa_id, timestamp=now - 60 + i),
                                           name=name, wa_id=wa_id)))
                  for wa_id, name in CONTACTS.items() for i, message_id in enumerate(inbound_ids[wa_id])]

    def deliver(delivery: tuple[LiveServer, bytes]) -> None:
        server, body = delivery
        response = requests.post(f"{server.url}/webhook", data=body, headers={"Content-Type": "application/json"},
                                 timeout=30)
        assert response.status_code == 200 and response.json()["data"]["outcome"] == "processed", response.text

    with ThreadPoolExecutor(max_workers=12) as pool:  # every delivery at once, on both processes
        list(pool.map(deliver, deliveries))

    for listener in listeners:  # every client, whichever process it is connected to, gets every message
        eventually(lambda listener=listener: all(listener.of("message:new", id=m)
                                                 for ids in inbound_ids.values() for m in ids), timeout=20)
    rows = {row["wa_id"]: row for row in web[0].api_get("/api/conversations")["data"]}
    for wa_id in CONTACTS:  # exact counts: no increment lost between processes
        assert rows[wa_id]["unreadCount"] == EACH, rows[wa_id]
        stored = web[1].api_get(f"/api/messages/{wa_id}?limit=200")["data"]
        assert {m["id"] for m in stored} == set(inbound_ids[wa_id])
        for listener in listeners:  # and the rows pushed to every page reached the same count
            eventually(lambda listener=listener, wa_id=wa_id: _pushed_unread(listener, wa_id) == EACH)

    def reply(job: tuple[LiveServer, str]) -> str:
        server, wa_id = job
        sent = server.api_post("/api/messages", {"waId": wa_id, "messageBody": f"Hello from :{server.port}"})
        return sent["data"]["id"]

    with ThreadPoolExecutor(max_workers=6) as pool:  # agents on both processes reply at once
        replies = list(pool.map(reply, [(server, wa_id) for wa_id in CONTACTS for server in web]))
    for listener in listeners:
        for message_id in replies:  # stored by either process, ticked by the worker, pushed through Redis
            listener.wait_for("message:new", id=message_id, timeout=20)
            listener.wait_for("message:status", id=message_id, status="read", timeout=20)
    for wa_id in CONTACTS:
        stored = web[0].api_get(f"/api/messages/{wa_id}?limit=200")["data"]
        assert len(stored) == EACH + 2 and all(m["status"] == "read" for m in stored if m["direction"] == "outbound")
        row = next(r for r in web[1].api_get("/api/conversations")["data"] if r["wa_id"] == wa_id)
        assert row["unreadCount"] == 0  # a reply reads the chat


def _pushed_unread(listener: Listener, wa_id: str) -> int:
    """The highest unread count pushed for the chat (pushes from two processes may arrive in either order)."""
    return max((row["unreadCount"] for row in listener.of("conversation:update", wa_id=wa_id)), default=-1)
