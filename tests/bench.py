"""`make bench`: ingest throughput and API latency on a real server, plus `explain` of hot queries.

Uses $MONGODB_URI when set, else a fresh FerretDB 1.24 (SQLite) started here. Loads
CONVERSATIONS x MESSAGES_EACH messages through POST /webhook, then times the API.
Numbers go to stdout; nothing here is a pass/fail test.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devdb.launcher import DevDB
from webapp import create_app
from webapp.auth.tokens import issue
from webapp.inbox.documents import Message

CONVERSATIONS = int(os.environ.get("BENCH_CONVERSATIONS", "200"))
MESSAGES_EACH = int(os.environ.get("BENCH_MESSAGES_EACH", "50"))
BATCH = 25  # messages per webhook body, as Meta batches them
JSON = "application/json"  # POST /webhook takes nothing else
BUSINESS, PHONE_ID = "15550001111", "100000000000001"


def body(messages: list[dict[str, Any]], contacts: list[dict[str, Any]]) -> bytes:
    return json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [
        {"field": "messages", "value": {"messaging_product": "whatsapp",
                                        "metadata": {"display_phone_number": BUSINESS, "phone_number_id": PHONE_ID},
                                        "contacts": contacts, "messages": messages}}]}]}).encode()


def timed(fn: Callable[[], Any], runs: int) -> dict[str, float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return {"p50": statistics.median(samples), "p95": samples[int(len(samples) * 0.95) - 1], "max": samples[-1]}


def run(uri: str) -> None:
    app = create_app({"APP_ENV": "test", "MONGODB_URI": uri, "SOCKETIO_ASYNC_MODE": "threading",
                      "SIMULATE_DELIVERY": False, "LOG_LEVEL": "WARNING",
                      "BUSINESS_DISPLAY_NUMBER": BUSINESS, "PHONE_NUMBER_ID": PHONE_ID})
    client = app.test_client()
    with app.app_context():  # the API needs a token (webapp.auth); the webhook needs none
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {issue(f'bench-{uuid.uuid4().hex[:8]}')[1]}"
    wa_ids = [f"4479{n:08d}" for n in range(CONVERSATIONS)]
    total = CONVERSATIONS * MESSAGES_EACH
    base = 1754400000

    start = time.perf_counter()
    pending: list[dict[str, Any]] = []
    contacts: dict[str, dict[str, Any]] = {}
    sent = 0
    for i in range(MESSAGES_EACH):
        for c, wa_id in enumerate(wa_ids):
            pending.append({"from": wa_id, "id": f"wamid.BENCH.{c}.{i}", "timestamp": str(base + i * 60 + c),
                            "type": "text", "text": {"body": f"message {i} from {wa_id}"}})
            contacts[wa_id] = {"profile": {"name": f"Customer {c}"}, "wa_id": wa_id}
            if len(pending) == BATCH:
                assert client.post("/webhook", data=body(pending, list(contacts.values())),
                           content_type=JSON).status_code == 200
                sent += len(pending)
                pending, contacts = [], {}
    if pending:
        assert client.post("/webhook", data=body(pending, list(contacts.values())),
                           content_type=JSON).status_code == 200
    ingest_s = time.perf_counter() - start
    assert Message.objects.count() == total

    outbound_ids = []
    for n in range(50):
        response = client.post("/api/messages", json={"waId": wa_ids[n % CONVERSATIONS], "messageBody": "reply"})
        outbound_ids.append(response.get_json()["data"]["id"])
    status_timings = timed(lambda: client.post("/webhook", data=json.dumps({
        "object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
            "metadata": {"display_phone_number": BUSINESS, "phone_number_id": PHONE_ID},
            "statuses": [{"id": outbound_ids.pop(), "status": "read", "timestamp": str(base + 99999),
                          "recipient_id": wa_ids[0]}]}}]}]}), content_type=JSON), 50)

    results = {
        "ingest": f"{total} messages in {ingest_s:.1f}s = {total / ingest_s:.0f} msg/s ({BATCH} per body)",
        "POST /webhook (one read status)": status_timings,
        "GET /api/conversations": timed(lambda: client.get("/api/conversations"), 30),
        "GET /api/conversations?q=": timed(lambda: client.get("/api/conversations?q=Customer%2017"), 30),
        "GET /api/messages/<wa_id> (latest 50)": timed(lambda: client.get(f"/api/messages/{wa_ids[7]}"), 30),
        "POST /api/messages": timed(lambda: client.post("/api/messages", json={"waId": wa_ids[3],
                                                                                 "messageBody": "hi"}), 30),
    }
    print(f"\nServer: {uri.split('@')[-1]}  data: {CONVERSATIONS} conversations x {MESSAGES_EACH} messages")
    for name, value in results.items():
        if isinstance(value, dict):
            print(f"  {name:42s} p50 {value['p50']:7.1f} ms   p95 {value['p95']:7.1f} ms   max {value['max']:7.1f} ms")
        else:
            print(f"  {name:42s} {value}")

    db = Message._get_db()
    print("\nexplain (what the server does for each hot query):")
    queries = {
        "message page": ("messages", {"conversation_id": f"{PHONE_ID}:{wa_ids[7]}", "type": {"$ne": "reaction"}},
                         {"timestamp": -1, "received_at": -1}),
        "conversation list": ("conversations", {"last_message_at": {"$ne": None}},
                              {"last_message_at": -1, "_id": -1}),
        "status write (by _id)": ("messages", {"_id": "wamid.BENCH.7.3"}, None),
        "conversation write (by _id)": ("conversations", {"_id": f"{PHONE_ID}:{wa_ids[7]}"}, None),
    }
    for name, (collection, flt, sort) in queries.items():
        command: dict[str, Any] = {"find": collection, "filter": flt, "limit": 51}
        if sort:
            command["sort"] = sort
        plan = db.command("explain", command, verbosity="queryPlanner")
        if "filterPushdown" in plan:  # FerretDB
            summary = (f"filterPushdown={plan['filterPushdown']} sortPushdown={plan['sortPushdown']} "
                       f"plan={plan['queryPlanner'].get('Plan')}")
        else:  # MongoDB
            winning = plan["queryPlanner"]["winningPlan"]
            summary = json.dumps(winning)[:160]
        print(f"  {name:28s} {summary}")


def main() -> None:
    uri = os.environ.get("MONGODB_URI")
    if uri:
        run(uri.rsplit("/", 1)[0] + f"/bench_{uuid.uuid4().hex[:8]}")
        return
    with tempfile.TemporaryDirectory() as directory, DevDB(Path(directory)) as db:
        run(f"{db.uri}bench")


if __name__ == "__main__":
    main()
