"""`make bench`: how the hot reads and ingest behave as the database grows. Nothing here is a pass/fail test.

Uses $MONGODB_URI when set, else a fresh FerretDB 1.24 (SQLite) started here. It grows one dataset through the
write path itself (`store_history`: a conversation's messages in batches, the same documents as applying them
one by one, which tests/inbox/test_timeline.py checks; not one HTTP call each) to 10k, 100k and (with `make
bench SIZE=1000000`) 1M messages, an agent reading each chat after each batch: a tenth of them in one
conversation, a hundred per conversation on average (10,000 conversations at 1M). At each size it times the
API (Flask's test client: the full request, without the network) and prints a table; then the ingest figures:
the raw driver insert rate on the same database (the limit), the write path's rate, and webhooks (one message
each at concurrency 8, and 25 per body), applied before the answer (WEBHOOK_APPLY=inline, the default) and
queued (WEBHOOK_APPLY=queued: answered once stored, then applied by one `flask worker` on a redis-server
started here). `SIZE=0` skips the read table and measures ingest only (`make bench-ingest`).
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from devdb.launcher import DevDB, RedisServer, Worker
from webapp import create_app
from webapp.auth.tokens import issue
from webapp.inbox.documents import Conversation, Message
from webapp.inbox.writes import store_history
from webapp.webhooks.documents import WebhookEvent
from webapp.whatsapp.events import Business, MessageEvent

SIZES = [size for size in (10_000, 100_000, 1_000_000) if size <= int(os.environ.get("SIZE", "100000"))]
BUILD_BATCH = 500  # messages of one conversation per apply_events call while building
BUSINESS, PHONE_ID = "15550001111", "100000000000001"
T0 = datetime(2025, 1, 1, tzinfo=UTC)
BIG = "447000000000"  # the conversation with a tenth of all messages


def wa_id(n: int) -> str:
    return f"4479{n:08d}"


def timed(fn: Callable[[], Any], runs: int) -> dict[str, float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return {"p50": statistics.median(samples), "p95": samples[max(int(len(samples) * 0.95) - 1, 0)]}


class Dataset:
    """The growing dataset: how many messages each conversation has so far, and the clock."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.clock = 0  # seconds after T0 of the next message
        self.business = Business(PHONE_ID, BUSINESS)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def grow(self, size: int) -> float:
        """Add messages until there are `size`; the write path's rate (messages per second)."""
        conversations = max(size // 100, 2)
        targets = {BIG: size // 10}
        rest = size - targets[BIG]
        for n in range(conversations - 1):
            targets[wa_id(n)] = rest // (conversations - 1) + (1 if n < rest % (conversations - 1) else 0)
        added, start = 0, time.perf_counter()
        # round after round, each conversation gets its next batch, so recency keeps moving
        while True:
            progressed = False
            for contact, target in targets.items():
                missing = target - self.counts.get(contact, 0)
                if missing <= 0:
                    continue
                batch = min(missing, BUILD_BATCH if contact == BIG else 50)
                events = [self.event(contact) for _ in range(batch)]
                store_history(events)
                Conversation.mark_read(events[0].conversation_id)
                added += batch
                progressed = True
            if not progressed:
                break
        return added / (time.perf_counter() - start)

    def event(self, contact: str) -> MessageEvent:
        n = self.counts.get(contact, 0)
        self.counts[contact] = n + 1
        self.clock += 1
        inbound = n % 3 != 2
        return MessageEvent(
            wamid=f"wamid.BENCH.{contact}.{n}", business=self.business, contact_wa_id=contact,
            contact_name=f"Customer {contact[-4:]}", direction="inbound" if inbound else "outbound",
            sender=contact if inbound else BUSINESS, recipient=BUSINESS if inbound else contact, type="text",
            content={"body": f"message {n} in this chat, about an order and its delivery"},
            timestamp=T0 + timedelta(seconds=self.clock))


def webhook(messages: list[dict[str, Any]]) -> bytes:
    contacts = [{"profile": {"name": "Webhook customer"}, "wa_id": m["from"]} for m in messages]
    return json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [
        {"field": "messages", "value": {"messaging_product": "whatsapp",
                                        "metadata": {"display_phone_number": BUSINESS, "phone_number_id": PHONE_ID},
                                        "contacts": contacts[:1], "messages": messages}}]}]}).encode()


def text(sender: str, wamid: str, at: int) -> dict[str, Any]:
    return {"from": sender, "id": wamid, "timestamp": str(at), "type": "text", "text": {"body": "hello"}}


def raw_insert_rate(app: Any) -> tuple[float, float]:
    """Message-shaped documents straight through pymongo into a scratch collection of the same database:
    one insert_one each, and insert_many of 25."""
    with app.app_context():
        collection = Message._get_db()[f"bench_raw_{uuid.uuid4().hex[:6]}"]
        sample = Message.objects.first().to_mongo().to_dict()
        n = 2000
        start = time.perf_counter()
        for i in range(n):
            collection.insert_one({**sample, "_id": f"raw.{i}"})
        single = n / (time.perf_counter() - start)
        start = time.perf_counter()
        for b in range(n // 25):
            collection.insert_many([{**sample, "_id": f"raw.many.{b}.{i}"} for i in range(25)])
        many = n / (time.perf_counter() - start)
        collection.drop()
    return single, many


def webhook_rates(app: Any, label: str = "HOOK") -> tuple[float, float]:
    """Single-message webhooks from 8 threads; then bodies of 25 messages (25 conversations) one after another."""
    client = app.test_client()
    base = int((T0 + timedelta(days=400)).timestamp())
    per_thread, threads = 60, 8

    def post(t: int) -> None:
        own = app.test_client()
        for i in range(per_thread):
            assert own.post("/webhook", data=webhook([text(wa_id(900000 + t), f"wamid.{label}.{t}.{i}", base + i)]),
                            content_type="application/json").status_code == 200

    start = time.perf_counter()
    workers = [threading.Thread(target=post, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    single = per_thread * threads / (time.perf_counter() - start)
    bodies = 20
    start = time.perf_counter()
    for b in range(bodies):
        batch = [text(wa_id(910000 + i), f"wamid.{label}25.{b}.{i}", base + b) for i in range(25)]
        assert client.post("/webhook", data=webhook(batch), content_type="application/json").status_code == 200
    batched = bodies * 25 / (time.perf_counter() - start)
    return single, batched


def queued_rates(uri: str, directory: Path) -> tuple[float, float, float]:
    """WEBHOOK_APPLY=queued: the rate webhooks are answered (single-message at concurrency 8, and 25 per
    body) with no worker running, then the rate one worker applies the backlog (messages per second)."""
    redis_server = RedisServer(directory / "redis").start()
    settings = {"APP_ENV": "test", "MONGODB_URI": uri, "SOCKETIO_ASYNC_MODE": "threading", "SIMULATE_DELIVERY": False,
                "LOG_LEVEL": "WARNING", "BUSINESS_DISPLAY_NUMBER": BUSINESS, "PHONE_NUMBER_ID": PHONE_ID,
                "REDIS_URL": redis_server.url, "WEBHOOK_APPLY": "queued", "RATELIMIT_ENABLED": False}
    try:
        app = create_app(settings)
        with app.app_context():
            waiting = WebhookEvent.objects(outcome="received").count()
        single, batched = webhook_rates(app, "QUEUED")
        with app.app_context():
            backlog = WebhookEvent.objects(outcome="received").count() - waiting
            messages = backlog - 20 + 20 * 25  # the 25-message bodies among them
            env = {**os.environ, **{k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in settings.items()},
                   "WEBHOOK_SWEEP_SECONDS": "0"}
            worker = Worker(env, directory / "worker.log")
            start = time.perf_counter()
            worker.start()
            try:
                while WebhookEvent.objects(outcome="received").count() > waiting:
                    time.sleep(0.5)
                applied = messages / (time.perf_counter() - start)
            finally:
                worker.stop()
    finally:
        redis_server.stop()
    return single, batched, applied


def measure(client: Any, data: Dataset) -> dict[str, dict[str, float]]:
    first = client.get(f"/api/messages/{BIG}").get_json()
    deep = client.get(f"/api/messages/{BIG}?before={first['meta']['before']}").get_json()
    for _ in range(10):  # a cursor a few pages back in the big conversation
        deep = client.get(f"/api/messages/{BIG}?before={deep['meta']['before']}").get_json()
    cursor = deep["meta"]["before"]
    listing = client.get("/api/conversations").get_json()
    small = wa_id(len(data.counts) // 2)
    return {
        "GET /api/messages (big chat, latest 50)": timed(lambda: client.get(f"/api/messages/{BIG}"), 30),
        "GET /api/messages?before= (big chat)": timed(lambda: client.get(f"/api/messages/{BIG}?before={cursor}"), 30),
        "GET /api/messages (a 100-message chat)": timed(lambda: client.get(f"/api/messages/{small}"), 30),
        "GET /api/conversations (first 50)": timed(lambda: client.get("/api/conversations"), 30),
        "GET /api/conversations?before= (page 2)": timed(
            lambda: client.get(f"/api/conversations?before={listing['meta']['before']}"), 30),
    }


def run(uri: str, directory: Path) -> None:
    app = create_app({"APP_ENV": "test", "MONGODB_URI": uri, "SOCKETIO_ASYNC_MODE": "threading",
                      "SIMULATE_DELIVERY": False, "LOG_LEVEL": "WARNING",
                      "BUSINESS_DISPLAY_NUMBER": BUSINESS, "PHONE_NUMBER_ID": PHONE_ID})
    client = app.test_client()
    with app.app_context():  # the API needs a token (webapp.auth); the webhook needs none
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {issue(f'bench-{uuid.uuid4().hex[:8]}')[1]}"
    data = Dataset()
    table: dict[int, dict[str, Any]] = {}
    for size in SIZES:
        with app.app_context():
            rate = data.grow(size)
        table[size] = {"write path (msg/s)": rate, **measure(client, data)}
        print(f"  {size:>9,} messages, {len(data.counts):,} conversations: built at {rate:,.0f} msg/s", flush=True)
    if not table:  # SIZE=0: ingest only, on a small dataset
        with app.app_context():
            data.grow(1000)
    names = list(next(iter(table.values()))) if table else []
    if table:
        print(f"\nServer: {uri.split('@')[-1]}   p50 / p95 in ms")
        print(f"| {'':44s} | " + " | ".join(f"{size:>13,}" for size in table) + " |")
        print(f"|{'-' * 46}|" + "|".join("-" * 15 for _ in table) + "|")
        for name in names:
            cells = []
            for row in table.values():
                value = row[name]
                shown = f"{value:,.0f}" if isinstance(value, float) else f"{value['p50']:.1f} / {value['p95']:.0f}"
                cells.append(f"{shown:>13}")
            print(f"| {name:44s} | " + " | ".join(cells) + " |")
    single, many = raw_insert_rate(app)
    hooks_single, hooks_batched = webhook_rates(app)
    print(f"\ningest (msg/s): raw insert_one {single:,.0f}, raw insert_many(25) {many:,.0f}; "
          f"webhooks applied before the answer: 1 message each at concurrency 8 {hooks_single:,.0f}, "
          f"25 per body {hooks_batched:,.0f}", flush=True)
    queued_single, queued_batched, applied = queued_rates(uri, directory)
    print(f"webhooks answered with WEBHOOK_APPLY=queued: 1 message each at concurrency 8 {queued_single:,.0f}, "
          f"25 per body {queued_batched:,.0f}; then applied by one worker at {applied:,.0f} msg/s")


def main() -> None:
    uri = os.environ.get("MONGODB_URI")
    if uri:
        with tempfile.TemporaryDirectory() as directory:
            run(uri.rsplit("/", 1)[0] + f"/bench_{uuid.uuid4().hex[:8]}", Path(directory))
        return
    with tempfile.TemporaryDirectory() as directory, DevDB(Path(directory)) as db:
        run(f"{db.uri}bench", Path(directory))


if __name__ == "__main__":
    main()
