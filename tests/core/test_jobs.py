"""Background jobs on RQ over a real redis-server, run by real `flask worker` processes: the app
context in the worker, retries with backoff, the failed registry and its CLI, Socket.IO pushes from
the worker reaching a browser's socket on the web server, and writes from both processes at once."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pymongo
import pytest
import redis
import requests
from flask import Flask
from rq import Queue
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

from devdb.launcher import RedisServer
from tests.helpers.app import LiveServer
from tests.helpers.browser import Listener
from tests.helpers.jobs import record_attempt
from tests.helpers.payloads import RAVI, inbound, outbound, raw, text
from tests.helpers.services import StartWorker
from tests.helpers.wait import eventually
from webapp.core.db import is_ferretdb
from webapp.core.jobs import QUEUE_NAME, enqueue
from webapp.demo.tasks import deliver_status
from webapp.inbox.sending import send_text
from webapp.webhooks.documents import WebhookEvent

StartServer = Callable[..., LiveServer]
T0 = 1754400000
JSON = {"Content-Type": "application/json"}  # POST /webhook takes nothing else


@pytest.fixture
def db(mongodb_uri: str):
    client: pymongo.MongoClient[Any] = pymongo.MongoClient(mongodb_uri, serverSelectionTimeoutMS=5000)
    yield client.get_default_database()
    client.close()


def queue_of(server: RedisServer) -> Queue:
    return Queue(QUEUE_NAME, connection=redis.Redis.from_url(server.url))


def drained(queue: Queue) -> bool:
    """Nothing waiting, scheduled or running."""
    return (queue.count == 0 and ScheduledJobRegistry(queue=queue).count == 0
            and StartedJobRegistry(queue=queue).count == 0)


def test_a_worker_runs_a_job_with_the_app_context(make_app: Callable[..., Flask], redis_server: RedisServer,
                                                  start_worker: StartWorker) -> None:
    """A simulated `delivered` status, enqueued by this process, is applied by the worker through the
    webhook path: it needed the app's settings (the business) and its database."""
    app = make_app(REDIS_URL=redis_server.url)
    worker = start_worker()
    with app.app_context():
        sent = send_text(RAVI, "Your order ships today", sent_by="token:jobs-test")
        job_id = enqueue(deliver_status, sent.id, RAVI, "delivered")
    assert job_id is not None  # it went to Redis, not to a thread here
    client = app.test_client()
    item = eventually(lambda: next((m for m in client.get(f"/api/messages/{RAVI}").get_json()["data"]
                                    if m["status"] == "delivered"), None))
    assert item["id"] == sent.id
    # the delivery's outcome is recorded just after its status is applied
    eventually(lambda: [(e.source, e.outcome) for e in WebhookEvent.objects] == [("simulation", "processed")])
    assert "deliver_status" in worker.log() and job_id in worker.log()
    # RQ marks the job finished just after the worker logs it.
    eventually(lambda: queue_of(redis_server).fetch_job(job_id).get_status() == "finished")


def test_a_failing_job_is_retried_with_backoff_then_listed_and_requeued(
    make_app: Callable[..., Flask], redis_server: RedisServer, start_worker: StartWorker, db: Any
) -> None:
    app = make_app(REDIS_URL=redis_server.url)
    runner = app.test_cli_runner()
    start_worker()
    key = f"flaky-{uuid.uuid4().hex[:8]}"
    with app.app_context():
        job_id = enqueue(record_attempt, key, retry_intervals=(1, 2))
    assert job_id is not None
    failed = FailedJobRegistry(queue=queue_of(redis_server))
    eventually(lambda: job_id in failed.get_job_ids(), timeout=15)

    attempts = [a["at"] for a in db.job_attempts.find({"key": key}).sort("at", 1)]
    assert len(attempts) == 3  # the first try and two retries, then no more
    assert attempts[1] - attempts[0] >= 0.9 and attempts[2] - attempts[1] >= 1.9  # waited 1 s, then 2 s
    assert {a["app"] for a in db.job_attempts.find({"key": key})} == {"webapp"}

    listed = runner.invoke(args=["jobs", "failed"])
    assert listed.exit_code == 0, listed.output
    line = next(row for row in listed.output.splitlines() if row.startswith(job_id))
    assert "tests.helpers.jobs.record_attempt" in line
    assert line.endswith(f"RuntimeError: {key} is not fixed yet (attempt 3)")
    assert time.strftime("%Y-%m-%d", time.gmtime()) in line  # when it failed

    db.job_fixes.insert_one({"_id": key})
    requeued = runner.invoke(args=["jobs", "requeue", job_id])
    assert requeued.exit_code == 0, requeued.output
    eventually(lambda: db.job_attempts.count_documents({"key": key}) == 4, timeout=10)
    eventually(lambda: queue_of(redis_server).fetch_job(job_id).get_status() == "finished")
    assert failed.get_job_ids() == []
    assert runner.invoke(args=["jobs", "failed"]).output.strip() == "No failed jobs."

    unknown = runner.invoke(args=["jobs", "requeue", "no-such-job"])
    assert unknown.exit_code == 1 and "no failed job 'no-such-job'" in unknown.output


def test_requeue_all_and_the_commands_without_redis(make_app: Callable[..., Flask], redis_server: RedisServer,
                                                    start_worker: StartWorker, db: Any) -> None:
    app = make_app(REDIS_URL=redis_server.url)
    start_worker()
    keys = [f"flaky-{n}-{uuid.uuid4().hex[:6]}" for n in range(2)]
    with app.app_context():
        for key in keys:
            enqueue(record_attempt, key, retry_intervals=())
    failed = FailedJobRegistry(queue=queue_of(redis_server))
    eventually(lambda: failed.count == 2, timeout=10)
    db.job_fixes.insert_many([{"_id": key} for key in keys])
    result = app.test_cli_runner().invoke(args=["jobs", "requeue", "--all"])
    assert result.exit_code == 0 and "Requeued 2 job(s)." in result.output
    eventually(lambda: all(db.job_attempts.count_documents({"key": key}) == 2 for key in keys))
    eventually(lambda: failed.count == 0)

    without_redis = make_app().test_cli_runner()
    for args in (["jobs", "failed"], ["jobs", "requeue", "--all"], ["worker"]):
        result = without_redis.invoke(args=args)
        assert result.exit_code == 1 and "REDIS_URL is not set" in result.output, (args, result.output)


def test_without_redis_jobs_run_in_the_web_process(make_app: Callable[..., Flask], db: Any,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="webapp.core.jobs")
    app = make_app()
    assert "jobs run in this process; set REDIS_URL for workers" in caplog.text
    key = f"here-{uuid.uuid4().hex[:8]}"
    db.job_fixes.insert_one({"_id": key})
    with app.app_context():
        assert enqueue(record_attempt, key) is None  # no Redis job: a thread here
    eventually(lambda: db.job_attempts.count_documents({"key": key}) == 1)


# --- Socket.IO across processes -------------------------------------------------------------------------------


def test_the_workers_simulated_statuses_reach_a_socket_on_the_web_server(
    start_server: StartServer, redis_server: RedisServer, start_worker: StartWorker
) -> None:
    """An agent sends a reply on the web server; the web server only queues its delivery. The ticks
    come from the worker's jobs, pushed through Redis to the web server's sockets."""
    timing = {"REDIS_URL": redis_server.url, "SIMULATE_DELIVERY": True,
              "SIMULATE_DELIVERED_AFTER": 0.2, "SIMULATE_READ_AFTER": 0.6}
    server = start_server(**timing)
    listener = Listener(server.url, auth={"token": server.token}).connect()
    # The web server subscribes to Redis when its first socket connects; what is published before
    # that reaches no one, so wait for the subscription.
    pubsub = redis.Redis.from_url(redis_server.url)
    eventually(lambda: pubsub.pubsub_numsub("flask-socketio")[0][1] >= 1)
    pubsub.close()
    try:
        response = requests.post(f"{server.url}/api/messages", json={"waId": RAVI, "messageBody": "On its way"},
                                 headers=server.auth_headers, timeout=10)
        assert response.status_code == 201, response.text
        wamid = response.json()["data"]["id"]
        listener.wait_for("message:new", id=wamid)
        time.sleep(2)  # long past both delays: with no worker running, nothing moves
        assert listener.of("message:status", id=wamid) == []
        assert queue_of(redis_server).count + ScheduledJobRegistry(queue=queue_of(redis_server)).count == 2

        worker = start_worker(**timing)
        try:
            # Both jobs are due by now, so the worker may apply `read` first; `delivered` is then
            # stale (ticks only move forward) and is never pushed. What a user sees: the tick ends at read.
            read = listener.wait_for("message:status", id=wamid, status="read", timeout=10)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nevents: {listener.names()}\n--- worker:\n{worker.log()}\n"
                                 f"--- server:\n{server.log()}") from None
        pushed = [d["status"] for d in listener.of("message:status", id=wamid)]
        assert pushed in (["delivered", "read"], ["read"])
        assert 'aria-label="Read"' in read["html"]
        eventually(lambda: worker.log().count("deliver_status") >= 2)  # both jobs ran, in whichever order
    finally:
        listener.disconnect()


# --- writes from two processes at once --------------------------------------------------------------------------


def test_the_web_server_and_a_worker_writing_the_same_conversations_lose_nothing(
    start_server: StartServer, make_app: Callable[..., Flask], redis_server: RedisServer,
    start_worker: StartWorker, db: Any
) -> None:
    """FerretDB's updates are read-modify-write: without a lock shared by both processes, a message
    counted by the web server and one counted (or a tick moved) by the worker on the same
    conversation at the same moment lose one of the two. With it, every count and tick is exact.

    At once: the web server receives customers' messages; the worker processes deliveries of the same
    customers that had failed (`flask webhooks replay --failed --queue`) and ticks the business's replies."""
    contacts = [f"9199000{n:05d}" for n in range(2)]
    per_contact = 20  # messages received by the web server, and as many replayed by the worker
    server = start_server(REDIS_URL=redis_server.url)
    app = make_app(REDIS_URL=redis_server.url)
    worker = start_worker()

    def customer_message(wa_id: str, label: str, i: int) -> bytes:
        return raw(inbound(text(f"{label} {i}", id=f"wamid.{label}{wa_id}{i:02d}", timestamp=T0 + i, sender=wa_id),
                           wa_id=wa_id, name=f"Customer {contacts.index(wa_id)}"))

    latest = {}  # each contact's newest message: the business's reply, which the worker ticks
    for n, wa_id in enumerate(contacts):
        latest[wa_id] = f"wamid.REPLY{n:03d}"
        body = raw(inbound(outbound("Thanks, we're on it", to=wa_id, id=latest[wa_id], timestamp=T0 + 1000),
                           wa_id=wa_id, name=f"Customer {n}"))
        assert requests.post(f"{server.url}/webhook", data=body, timeout=10, headers=JSON).status_code == 200
    with app.app_context():  # deliveries stored while the database was away, not yet applied
        for wa_id in contacts:
            for i in range(per_contact):
                WebhookEvent(raw_body=customer_message(wa_id, "QUEUED", i), signature="not_checked",
                             outcome="failed", error="database error while processing; retry or replay").save()

    bodies = [customer_message(wa_id, "POSTED", i) for wa_id in contacts for i in range(per_contact)]
    random.Random(7).shuffle(bodies)
    start = threading.Barrier(5)

    def post(chunk: list[bytes]) -> list[int]:
        start.wait()
        return [requests.post(f"{server.url}/webhook", data=body, timeout=30, headers=JSON).status_code
                for body in chunk]

    queue = queue_of(redis_server)
    with ThreadPoolExecutor(max_workers=4) as pool:
        posted = [pool.submit(post, bodies[i::4]) for i in range(4)]
        start.wait()  # the worker's jobs and the web server's deliveries start together
        replay = app.test_cli_runner().invoke(args=["webhooks", "replay", "--failed", "--queue"])
        assert f"Queued {len(contacts) * per_contact} failed or stuck delivery(ies)" in replay.output, replay.output
        with app.app_context():
            for wa_id in contacts:
                for status in ("delivered", "read"):
                    enqueue(deliver_status, latest[wa_id], wa_id, status)
        assert all(code == 200 for future in posted for code in future.result())
    eventually(lambda: drained(queue), timeout=20)
    assert FailedJobRegistry(queue=queue).count == 0, worker.log()

    rows = {row["wa_id"]: row for row in requests.get(f"{server.url}/api/conversations?limit=50",
                                                      headers=server.auth_headers, timeout=10).json()["data"]}
    for wa_id in contacts:
        assert rows[wa_id]["unreadCount"] == 2 * per_contact, rows[wa_id]
        assert rows[wa_id]["id"] == latest[wa_id] and rows[wa_id]["status"] == "read", rows[wa_id]
        reply = db.messages.find_one({"_id": latest[wa_id]})
        assert set(reply["status_times"]) == {"sent", "delivered", "read"}, reply
    assert db.messages.count_documents({}) == len(contacts) * (1 + 2 * per_contact)
    assert db.webhook_events.count_documents({"outcome": {"$ne": "processed"}}) == 0


def test_without_the_shared_write_lock_a_webhook_is_refused_for_a_retry(
    make_app: Callable[..., Flask], redis_server: RedisServer, db: Any
) -> None:
    """On FerretDB no write goes ahead without the lock the other processes hold: with Redis away a
    delivery is stored, left `received` (the worker's sweep applies it later) and answered 503, so
    WhatsApp sends it again. MongoDB needs no lock and takes it."""
    client = make_app(REDIS_URL=redis_server.url).test_client()
    ferretdb = is_ferretdb(db.client.admin.command("buildInfo"))
    redis_server.stop()
    response = client.post("/webhook", data=raw(inbound(text("Anyone there?", id="wamid.AWAY"))),
                           content_type="application/json")
    if ferretdb:
        assert response.status_code == 503, response.get_json()
        assert response.headers["Retry-After"] == "5"
        assert [e.outcome for e in WebhookEvent.objects] == ["received"]
        assert db.messages.count_documents({}) == 0
    else:
        assert response.status_code == 200
