"""Acknowledged means recoverable, and counters exact after any failure (issue 11, items 1 and 2).

- What the database refuses is refused up front (400, nothing stored), never after the 200.
- Each event of a body is applied on its own: one that fails is recorded with its reason, the others
  are applied, and a replay applies just it.
- A delivery left `received` (the process died, the database went away) is applied again by
  `flask webhooks replay --failed` and, on its own, by a worker's sweep.
- The database killed (the real FerretDB process) between two writes of a message or a status: once it
  is back, WhatsApp's retry leaves the unread count, the summary and the tick exact.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pymongo
import pytest
import redis
from flask import Flask

from devdb.launcher import DevDB
from tests.helpers.app import BUSINESS_NUMBER, settings, with_database
from tests.helpers.http import assert_error, post_webhook, run_cli, webhook_ok
from tests.helpers.payloads import (
    NEHA,
    RAVI,
    inbound,
    meta_body,
    outbound,
    raw,
    reaction,
    status,
    statuses,
    text,
    value,
)
from tests.helpers.services import RedisServer, StartWorker
from tests.helpers.wait import eventually
from webapp import create_app
from webapp.core import db, storable
from webapp.core.clock import utcnow
from webapp.inbox import writes
from webapp.inbox.audit import audit
from webapp.inbox.documents import Conversation, Message
from webapp.inbox.indexes import UnreadIndex
from webapp.inbox.queries import stored_message_page
from webapp.inbox.writes import apply_each
from webapp.webhooks import receive as webhook_receive
from webapp.webhooks import tasks as webhook_tasks
from webapp.webhooks.documents import WebhookEvent
from webapp.webhooks.tasks import sweep_deliveries
from webapp.whatsapp.events import Business, MessageEvent

T0 = 1754400000


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"id": "wamid.QUOTED"}
    for _ in range(depth - 1):
        value = {"inner": value}
    return value


# --- refused up front -------------------------------------------------------------------------------------------

REFUSED = {
    "a NUL byte in a key": ({"from": RAVI, "id": "wamid.X", "a\x00b": 1}, "context.a\\u0000b", "NUL"),
    "a context nested 300 levels": (nested(300), "context", "nested too deeply"),
    "an array inside an array": ({"id": "wamid.X", "rows": [[1, 2]]}, "context.rows[0]", "array directly inside"),
    "an integer beyond 64 bits": ({"id": "wamid.X", "n": 2**70}, "context.n", "64 bits"),
}


@pytest.mark.parametrize("context, where, problem", REFUSED.values(), ids=REFUSED.keys())
def test_content_the_database_refuses_is_refused_up_front(client: Any, context: Any, where: str,
                                                          problem: str) -> None:
    body = inbound(text("first", id="wamid.ONE"), text("second", id="wamid.TWO", context=context),
                   text("third", id="wamid.THREE"))
    error = assert_error(post_webhook(client, body), 400)
    path = f"entry[0].changes[0].value.messages[1].{where}"
    assert [p for p, text in error["errors"].items() if p.startswith(path) and problem in text], error
    assert WebhookEvent.objects.count() == 0 and Message.objects.count() == 0


def test_nan_and_infinity_are_not_json(client: Any) -> None:
    response = post_webhook(client, b'{"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": '
                                    b'[{"field": "messages", "value": {"messages": [{"from": "919937320320", "id": '
                                    b'"wamid.NAN", "timestamp": "1754400000", "type": "location", "location": '
                                    b'{"latitude": NaN, "longitude": Infinity}}]}}]}]}')
    error = assert_error(response, 400)
    assert "NaN is not a JSON number" in error["message"]
    assert WebhookEvent.objects.count() == 0


def test_the_depth_limit_is_the_same_up_front_and_when_stored() -> None:
    """The parser and the write path call the same check; the deepest part allowed is stored."""
    assert storable.problems(nested(storable.MAX_DEPTH), "context", stored=True) == {}
    assert storable.problems(nested(storable.MAX_DEPTH + 1), "context", stored=True)


def test_the_deepest_context_allowed_is_stored(client: Any) -> None:
    webhook_ok(client, inbound(text("deep", id="wamid.DEEP", context=nested(storable.MAX_DEPTH))))
    assert Message.objects.get(pk="wamid.DEEP").context is not None


# --- each event on its own --------------------------------------------------------------------------------------


def poison(conversation_id: str) -> None:
    """A conversation whose unread list is corrupt: folding a message into it raises (as a bug would)."""
    Conversation._get_collection().insert_one({"_id": conversation_id, "phone_number_id": "629305560276479",
                                              "wa_id": conversation_id.split(":")[1], "unread": "not a list",
                                              "unread_rev": 1})


def test_one_bad_event_does_not_stop_the_others_and_a_replay_applies_just_it(app: Flask, client: Any) -> None:
    neha = f"629305560276479:{NEHA}"
    with app.app_context():
        poison(neha)
    body = meta_body(value(messages=[text("first", id="wamid.R1", timestamp=T0)], contacts=[(RAVI, "Ravi")]),
                     value(messages=[text("poisoned", id="wamid.N1", sender=NEHA, timestamp=T0 + 1)],
                           contacts=[(NEHA, "Neha")]),
                     value(messages=[text("third", id="wamid.R2", timestamp=T0 + 2)], contacts=[(RAVI, "Ravi")]))
    response = post_webhook(client, body)

    assert response.status_code == 200
    data = response.get_json()["data"]
    assert data["outcome"] == "failed" and data["stored"] == 3  # N1 is stored; counting it failed
    assert [(f["index"], f["id"], f["kind"]) for f in data["failures"]] == [(1, "wamid.N1", "message")]
    assert "AttributeError" in data["failures"][0]["error"]
    ravi = Conversation.objects.get(pk=f"629305560276479:{RAVI}")
    assert ravi.unread_count == 2 and ravi.last_message.id == "wamid.R2"  # the third was applied
    event = WebhookEvent.objects.get()
    assert event.outcome == "failed" and event.failures[0]["index"] == 1

    result = run_cli(app, "webhooks", "replay", "--failed")  # still poisoned: still failing, nothing else redone
    assert result.exit_code == 1 and "AttributeError" in result.output
    assert "duplicates 1," in result.output  # only the failed event was applied again

    Conversation._get_collection().update_one({"_id": neha}, {"$unset": {"unread": 1}})  # the data repaired
    result = run_cli(app, "webhooks", "replay", "--failed")
    assert result.exit_code == 0, result.output
    assert WebhookEvent.objects.get().outcome == "processed"
    neha_row = Conversation.objects.get(pk=neha)
    assert neha_row.unread_count == 1 and neha_row.last_message.id == "wamid.N1"
    assert Conversation.objects.get(pk=f"629305560276479:{RAVI}").unread_count == 2  # not counted twice
    with app.app_context():
        assert audit() == []


def test_the_write_path_refuses_what_the_parser_would(app: Flask) -> None:
    """An event built elsewhere (not by the parser) with content the database refuses fails alone."""
    business = Business("629305560276479", BUSINESS_NUMBER)

    def event(wamid: str, content: Any) -> MessageEvent:
        return MessageEvent(wamid=wamid, business=business, contact_wa_id=RAVI, contact_name="Ravi",
                            direction="inbound", sender=RAVI, recipient=BUSINESS_NUMBER, type="text",
                            content=content, timestamp=utcnow())

    with app.app_context():
        report = apply_each([event("wamid.OK1", {"body": "a"}), event("wamid.BAD", {"body": "b", "x": [[1]]}),
                             event("wamid.OK2", {"body": "c"})])
    assert report.stored == 2 and [f.id for f in report.failures] == ["wamid.BAD"]
    assert "Unstorable" in report.failures[0].error and "array directly inside" in report.failures[0].error


# --- deliveries left `received` ---------------------------------------------------------------------------------


def stuck(body: dict[str, Any], seconds_ago: float = 120) -> WebhookEvent:
    """A delivery stored and never processed (the process died in between)."""
    event = WebhookEvent(raw_body=raw(body), signature="not_checked")
    event.received_at = utcnow() - timedelta(seconds=seconds_ago)
    event.save()
    return event


def test_replay_picks_up_deliveries_stuck_in_received(app: Flask) -> None:
    with app.app_context():
        old = stuck(inbound(text("lost?", id="wamid.STUCK")))
        recent = stuck(inbound(text("in flight", id="wamid.FLIGHT")), seconds_ago=1)
    result = run_cli(app, "webhooks", "replay", "--failed")
    assert result.exit_code == 0, result.output
    assert "Replayed 1 failed or stuck delivery(ies): stored 1" in result.output
    assert WebhookEvent.objects.get(pk=old.pk).outcome == "processed"
    assert WebhookEvent.objects.get(pk=recent.pk).outcome == "received"  # may still be under way
    assert Conversation.objects.get().unread_count == 1


def test_the_sweep_retries_a_failed_delivery_a_few_times_then_leaves_it_to_a_person(app: Flask) -> None:
    """A `failed` delivery is applied again by the sweep until WEBHOOK_MAX_ATTEMPTS tries; then only
    `flask webhooks replay --failed` takes it (a poisoned event is not retried for ever)."""
    app.config.update(WEBHOOK_STUCK_AFTER=0, WEBHOOK_MAX_ATTEMPTS=2)
    neha = f"629305560276479:{NEHA}"
    with app.app_context():
        poison(neha)
        event = WebhookEvent(raw_body=raw(inbound(text("hi", id="wamid.SW1", sender=NEHA), wa_id=NEHA)),
                             signature="not_checked", outcome="failed", attempts=1,
                             failures=[{"index": 0, "id": "wamid.SW1", "kind": "message", "error": "earlier"}])
        event.processed_at = utcnow() - timedelta(seconds=5)
        event.save()
        first = sweep_deliveries()
        assert (first.replayed, first.still_failing) == (1, 1)
        assert WebhookEvent.objects.get(pk=event.pk).attempts == 2
        assert sweep_deliveries().replayed == 0  # tried twice: left to a person
        Conversation._get_collection().update_one({"_id": neha}, {"$unset": {"unread": 1}})
    assert run_cli(app, "webhooks", "replay", "--failed").exit_code == 0
    assert WebhookEvent.objects.get(pk=event.pk).outcome == "processed"
    assert Conversation.objects.get(pk=neha).unread_count == 1


def test_a_worker_applies_stuck_deliveries_on_its_own(app: Flask, start_worker: StartWorker) -> None:
    with app.app_context():
        event = stuck(inbound(text("lost?", id="wamid.SWEPT")), seconds_ago=5)
    start_worker(WEBHOOK_SWEEP_SECONDS=0.5, WEBHOOK_STUCK_AFTER=2)
    eventually(lambda: WebhookEvent.objects.get(pk=event.pk).outcome == "processed", timeout=15)
    assert Message.objects.get(pk="wamid.SWEPT")
    assert Conversation.objects.get().unread_count == 1


# --- the database killed between two writes ---------------------------------------------------------------------


@pytest.fixture
def own_db(tmp_path: Path) -> Iterator[DevDB]:
    """A FerretDB of this test's own, which it kills and starts again on the same port and data."""
    db = DevDB(tmp_path / "ferretdb").start()
    yield db
    db.stop()


def kill(db: DevDB) -> None:
    assert db.process is not None
    os.killpg(db.process.pid, signal.SIGKILL)
    db.process.wait()


def app_on(db: DevDB) -> Flask:
    app = create_app(settings(with_database(db.uri, "killed"), MONGODB_TIMEOUT_MS=1500))
    app.testing = True
    return app


def kill_before(monkeypatch: pytest.MonkeyPatch, db: DevDB, owner: type, name: str) -> list[int]:
    """Kill the database the first time `owner.name` is called (after the writes before it)."""
    original = getattr(owner, name)
    calls: list[int] = []

    def killing(*args: Any, **kwargs: Any) -> Any:
        if not calls:
            calls.append(1)
            kill(db)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, killing)
    return calls


WRITES = {
    "message stored, conversation not": "record_message",
    "conversation updated, unread not counted": "count_unread",
}


@pytest.mark.parametrize("second_write", WRITES.values(), ids=WRITES.keys())
def test_database_killed_between_two_writes_of_a_message(own_db: DevDB, monkeypatch: pytest.MonkeyPatch,
                                                         second_write: str) -> None:
    app = app_on(own_db)
    client = app.test_client()
    webhook_ok(client, inbound(text("first", id="wamid.K1", timestamp=T0)))
    kill_before(monkeypatch, own_db, Conversation, second_write)
    body = inbound(text("second", id="wamid.K2", timestamp=T0 + 1))

    assert post_webhook(client, body).status_code == 503  # not acknowledged: WhatsApp delivers it again
    own_db.start()
    data = webhook_ok(client, body)  # WhatsApp's retry

    assert data["duplicates"] == 1  # the message was stored before the database went
    row = Conversation.objects.get()
    assert row.unread_count == 2, "the retry counted the message the failure left uncounted"
    assert row.last_message.id == "wamid.K2"
    webhook_ok(client, body)  # and again: still counted once
    assert Conversation.objects.get().unread_count == 2
    with app.app_context():
        assert audit() == []


def test_database_killed_between_a_messages_tick_and_its_rows(own_db: DevDB, monkeypatch: pytest.MonkeyPatch) -> None:
    app = app_on(own_db)
    client = app.test_client()
    webhook_ok(client, inbound(outbound("Your order shipped", id="wamid.OUT", timestamp=T0)))
    kill_before(monkeypatch, own_db, Conversation, "raise_summary_status")
    body = statuses(status("wamid.OUT", "read", timestamp=T0 + 5))

    assert post_webhook(client, body).status_code == 503
    own_db.start()
    data = webhook_ok(client, body)

    assert data["statusesStale"] == 1  # the message's tick had moved before the database went
    row = Conversation.objects.get()
    assert row.last_message.status_rank == Message.objects.get(pk="wamid.OUT").status_rank == 4
    with app.app_context():
        assert audit() == []


def test_reading_then_a_retry_of_a_message_read_meanwhile_leaves_it_read(app: Flask, client: Any,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A message stored before the agent read the chat, counted only by a retry after: it was read."""
    original: Callable[..., Any] = Conversation.count_unread
    monkeypatch.setattr(Conversation, "count_unread", classmethod(lambda cls, m, **_: False))
    webhook_ok(client, inbound(text("seen", id="wamid.SEEN", timestamp=T0)))
    monkeypatch.setattr(Conversation, "count_unread", original)
    row = Conversation.objects.get()
    assert client.post(f"/api/conversations/{RAVI}/read").status_code == 200
    webhook_ok(client, inbound(text("seen", id="wamid.SEEN", timestamp=T0)))
    assert Conversation.objects.get(pk=row.id).unread_count == 0
    webhook_ok(client, inbound(text("new", id="wamid.NEW", timestamp=T0 + 1)))
    assert Conversation.objects.get(pk=row.id).unread_count == 1
    with app.app_context():
        assert audit() == []


def test_the_audit_names_a_counter_that_drifted(app: Flask, client: Any) -> None:
    webhook_ok(client, inbound(text("one", id="wamid.A1", timestamp=T0), text("two", id="wamid.A2", timestamp=T0 + 1)))
    assert run_cli(app, "inbox", "audit").exit_code == 0
    Conversation._get_collection().update_one({}, {"$set": {"unread_count": 5}})
    result = run_cli(app, "inbox", "audit")
    assert result.exit_code == 1
    assert "unread_count is 5, the messages say 2" in result.output


def test_a_process_killed_holding_the_write_lock_holds_up_writes_for_the_lease_only(
        make_app: Callable[..., Flask], redis_server: RedisServer) -> None:
    """The shared write lock of a process that died (kill -9: it never releases, never renews) frees
    itself after SHARED_LOCK_LEASE, not after the 30 s a writer may wait; a live writer renews it."""
    client = make_app(REDIS_URL=redis_server.url).test_client()
    dead = redis.Redis.from_url(redis_server.url).lock(db.SHARED_WRITE_LOCK, timeout=db.SHARED_LOCK_LEASE)
    assert dead.acquire(blocking=False)
    started = time.monotonic()
    webhook_ok(client, inbound(text("after the crash", id="wamid.LEASE")))
    waited = time.monotonic() - started
    if db._policy.serialize:  # FerretDB: the write waited for the dead holder's lease
        assert 1 < waited < db.SHARED_LOCK_TIMEOUT - 10, waited  # not the 30 s a writer may wait
    assert Conversation.objects.get().unread_count == 1


def test_a_write_longer_than_the_lease_keeps_the_lock(make_app: Callable[..., Flask],
                                                      redis_server: RedisServer) -> None:
    """The lease is renewed while the write lasts (on FerretDB; MongoDB takes no lock)."""
    make_app(REDIS_URL=redis_server.url)
    other = redis.Redis.from_url(redis_server.url).lock(db.SHARED_WRITE_LOCK, timeout=db.SHARED_LOCK_LEASE)
    with db.write_lock():
        time.sleep(db.SHARED_LOCK_LEASE * 1.5)
        got_in = other.acquire(blocking=False)
    assert got_in is not db._policy.serialize, "another process got in while this write was under way"
    assert other.acquire(blocking=False) or got_in


# --- WEBHOOK_APPLY=queued: the 200 once the body is stored, a worker applies it ---------------------------------


def test_a_delivery_is_stored_with_every_field_of_its_document(app: Flask) -> None:
    """The webhook's fast path writes the raw log's fields by hand: the same ones MongoEngine would."""
    with app.app_context():
        fields = WebhookEvent.store(b'{"object": "x"}', source="webhook", signature="valid")
        stored = WebhookEvent._get_collection().find_one({"_id": fields["_id"]})
        document = WebhookEvent(id=fields["_id"], raw_body=b'{"object": "x"}', signature="valid").to_mongo().to_dict()
        assert set(stored) == set(document)
        assert {k: bytes(v) if k == "raw_body" else v for k, v in stored.items() if k != "received_at"} == {
            k: bytes(v) if k == "raw_body" else v for k, v in document.items() if k != "received_at"}
        event = WebhookEvent.objects.get(pk=fields["_id"])
        assert (event.raw_body, event.outcome, event.attempts) == (b'{"object": "x"}', "received", 0)


def test_queued_deliveries_are_answered_once_stored_and_applied_by_a_worker(
    make_app: Callable[..., Flask], redis_server: RedisServer, start_worker: StartWorker
) -> None:
    app = make_app(REDIS_URL=redis_server.url, WEBHOOK_APPLY="queued")
    client = app.test_client()
    answers = [post_webhook(client, inbound(text(f"queued {n}", id=f"wamid.Q{n}"), name="Queued")).get_json()
               for n in range(5)]
    assert {a["data"]["outcome"] for a in answers} == {"queued"}, answers
    assert answers[0]["message"] == "Stored; a worker applies its events"
    with app.app_context():
        assert Message.objects.count() == 0  # nothing applied yet: no worker runs
        assert {e.outcome for e in WebhookEvent.objects} == {"received"}
    start_worker(WEBHOOK_APPLY="queued")
    with app.app_context():
        eventually(lambda: {e.outcome for e in WebhookEvent.objects} == {"processed"}, timeout=20)
        assert sorted(m.id for m in Message.objects) == [f"wamid.Q{n}" for n in range(5)]
        assert Conversation.objects.get().unread_count == 5
        assert audit() == []


def test_a_queued_delivery_that_fails_does_not_hold_up_the_line(
    make_app: Callable[..., Flask], redis_server: RedisServer, start_worker: StartWorker
) -> None:
    """Deliveries wait in one line for a drain job; one that cannot be applied is left to the sweep
    (retried, then left `failed` for a person) and those after it are applied."""
    app = make_app(REDIS_URL=redis_server.url, WEBHOOK_APPLY="queued")
    client = app.test_client()
    with app.app_context():
        poison(f"629305560276479:{NEHA}")
    bodies = [inbound(text("before", id="wamid.L1")),
              inbound(text("poisoned", id="wamid.L2", sender=NEHA), wa_id=NEHA),
              inbound(text("after", id="wamid.L3"))]
    answers = [post_webhook(client, body).get_json()["data"]["outcome"] for body in bodies]
    assert answers == ["queued"] * 3
    start_worker(WEBHOOK_APPLY="queued", WEBHOOK_SWEEP_SECONDS=0.5, WEBHOOK_STUCK_AFTER=0.5, WEBHOOK_MAX_ATTEMPTS=2)
    with app.app_context():
        eventually(lambda: [e.attempts for e in WebhookEvent.objects(outcome="failed")] == [2], timeout=20)
        assert [e.outcome for e in WebhookEvent.objects.order_by("received_at")] == ["processed", "failed", "processed"]
        ravi = Conversation.objects.get(wa_id=RAVI)
        assert [m["_id"] for m in stored_message_page(ravi).messages] == ["wamid.L1", "wamid.L3"]
        assert ravi.unread_count == 2


ASHA = "919812345678"
KIRAN = "919898989898"


def queued_line() -> list[dict[str, Any]]:
    """Deliveries as they queue up: a customer's messages one per delivery (one repeated, one older
    than the rest arriving last), two in one body, a reaction, a lone message, and a conversation whose
    messages cannot be stored (see `poison`)."""
    return [
        inbound(text("R1", id="wamid.D.R1", timestamp=T0 + 1)),
        inbound(text("N1", id="wamid.D.N1", sender=NEHA, timestamp=T0 + 2),
                text("N2", id="wamid.D.N2", sender=NEHA, timestamp=T0 + 3), name="Neha", wa_id=NEHA),
        inbound(text("R2", id="wamid.D.R2", timestamp=T0 + 4)),
        inbound(text("K1", id="wamid.D.K1", sender=KIRAN, timestamp=T0 + 5), name="Kiran", wa_id=KIRAN),
        inbound(text("R2", id="wamid.D.R2", timestamp=T0 + 4)),  # WhatsApp delivers it again
        inbound(text("A1", id="wamid.D.A1", sender=ASHA, timestamp=T0 + 6), name="Asha", wa_id=ASHA),
        inbound(reaction("wamid.D.R1", "👍", id="wamid.D.X1", timestamp=T0 + 7)),
        inbound(text("N3", id="wamid.D.N3", sender=NEHA, timestamp=T0 + 8), name="Neha", wa_id=NEHA),
        inbound(text("K2", id="wamid.D.K2", sender=KIRAN, timestamp=T0 + 9), name="Kiran", wa_id=KIRAN),
        inbound(text("R0", id="wamid.D.R0", timestamp=T0 - 10)),  # older than the rest, arriving last
        inbound(text("R3", id="wamid.D.R3", timestamp=T0 + 11)),
    ]


def inbox_as_shown(client: Any) -> dict[str, Any]:
    """The conversation list and every chat's messages as the API answers them (without the times this run
    stored them at)."""
    drop = {"createdAt", "receivedAt", "statusChangedAt", "readAt"}

    def clean(item: Any) -> Any:
        if isinstance(item, dict):
            return {k: clean(v) for k, v in item.items() if k not in drop}
        if isinstance(item, list):
            return [clean(v) for v in item]
        return item

    conversations = client.get("/api/conversations").get_json()["data"]
    return clean({"list": conversations, **{c["wa_id"]: client.get(f"/api/messages/{c['wa_id']}").get_json()["data"]
                                             for c in conversations}})


def test_queued_deliveries_applied_together_leave_the_inbox_applying_them_one_by_one_does(
    make_app: Callable[..., Flask], mongodb_server: str, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The drain stores a customer's queued messages a conversation at a time; what the agents see after
    it is what applying each delivery on its own shows: the same list, bubbles in the same order, unread
    counts, the reaction. Messages that cannot be stored together are applied one by one and fail as
    they would (left to the sweep)."""
    queued = make_app(REDIS_URL=redis_server.url, WEBHOOK_APPLY="queued")
    client = queued.test_client()
    with queued.app_context():
        poison(f"629305560276479:{KIRAN}")
    assert [post_webhook(client, body).get_json()["data"]["outcome"] for body in queued_line()] == ["queued"] * 11
    stored_together: list[list[str]] = []

    def store_history(events: list[MessageEvent]) -> Any:
        stored_together.append([event.wamid.removeprefix("wamid.D.") for event in events])
        return writes.store_history(events)

    monkeypatch.setattr(webhook_receive, "store_history", store_history)
    with queued.app_context():
        assert webhook_tasks.apply_queued() == 11
        assert stored_together == [["R1", "R2", "R0", "R3"], ["N1", "N2", "N3"], ["K1", "K2"]]  # Asha's alone
        outcomes = [(e.outcome, e.result.get("stored"), e.result.get("duplicates"))
                    for e in WebhookEvent.objects.order_by("id")]  # the order they were stored in
        assert outcomes == [
            ("processed", 1, 0), ("processed", 2, 0), ("processed", 1, 0), ("failed", 0, 1), ("processed", 0, 1),
            ("processed", 1, 0), ("processed", 1, 0), ("processed", 1, 0), ("failed", 0, 1), ("processed", 1, 0),
            ("processed", 1, 0)]  # Kiran's: stored by the try together, a duplicate when applied on its own
        assert Conversation.objects.get(wa_id=RAVI).unread_count == 4
        assert [d for d in audit() if d.conversation_id != f"629305560276479:{KIRAN}"] == []  # Kiran's is broken
    together = inbox_as_shown(client)
    assert [m["preview"] for m in together[RAVI]] == ["R0", "R1", "R2", "R3"]
    assert together[RAVI][1]["reactions"][0]["emoji"] == "👍"
    assert [m["preview"] for m in together[NEHA]] == ["N1", "N2", "N3"]

    name = f"test_{uuid.uuid4().hex[:12]}"
    one_by_one = make_app(MONGODB_URI=with_database(mongodb_server, name))  # WEBHOOK_APPLY=inline
    try:
        with one_by_one.app_context():
            poison(f"629305560276479:{KIRAN}")
        for body in queued_line():
            post_webhook(one_by_one.test_client(), body)
        assert inbox_as_shown(one_by_one.test_client()) == together
    finally:
        with pymongo.MongoClient(mongodb_server) as server:
            server.drop_database(name)


def test_a_delivery_stored_while_redis_is_away_is_applied_once_it_is_back(
    make_app: Callable[..., Flask], redis_server: RedisServer, start_worker: StartWorker
) -> None:
    """Nothing can be queued, and on FerretDB nothing applied (its write lock is in Redis): 503, so
    WhatsApp delivers it again; the stored body stays `received` and the worker's sweep applies it."""
    app = make_app(REDIS_URL=redis_server.url, WEBHOOK_APPLY="queued")
    redis_server.stop()
    response = post_webhook(app.test_client(), inbound(text("no queue", id="wamid.NOQ")))
    assert response.status_code in (200, 503), response.get_json()
    with app.app_context():
        assert WebhookEvent.objects.get().raw_body
    redis_server.start()
    start_worker(WEBHOOK_APPLY="queued", WEBHOOK_SWEEP_SECONDS=0.5, WEBHOOK_STUCK_AFTER=1)
    with app.app_context():
        eventually(lambda: WebhookEvent.objects.get().outcome == "processed", timeout=20)
        assert Message.objects.get(pk="wamid.NOQ").content == {"body": "no queue"}


# --- the unread index (the tab title's total, read by `_id`) -------------------------------------------------


def test_the_unread_index_follows_the_counts_is_built_for_an_older_database_and_is_repaired(
    app: Flask, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    webhook_ok(client, inbound(text("one", id="wamid.U1", timestamp=T0), text("two", id="wamid.U2", timestamp=T0 + 1)))
    webhook_ok(client, inbound(text("hi", id="wamid.U3", sender=NEHA, timestamp=T0 + 2), name="Neha", wa_id=NEHA))
    with app.app_context():
        assert Conversation.unread_counts() == {RAVI: 2, NEHA: 1}
        UnreadIndex.drop_collection()  # a database from before the index: built from the conversations once
        assert Conversation.unread_counts() == {RAVI: 2, NEHA: 1}
        assert UnreadIndex.built()
    assert client.post(f"/api/conversations/{RAVI}/read").status_code == 200
    with app.app_context():
        assert Conversation.unread_counts() == {NEHA: 1}

    # The process fails between counting a message unread and the index: WhatsApp's retry repairs it.
    original = UnreadIndex.put
    monkeypatch.setattr(UnreadIndex, "put", classmethod(lambda cls, c: (_ for _ in ()).throw(RuntimeError("died"))))
    body = inbound(text("three", id="wamid.U4", timestamp=T0 + 3))
    assert post_webhook(client, body).get_json()["data"]["outcome"] == "failed"
    monkeypatch.setattr(UnreadIndex, "put", original)
    with app.app_context():
        assert Conversation.unread_counts() == {NEHA: 1}
        assert [(d.field, d.stored, d.expected) for d in audit()] == [("unread_index", 0, 1)]
    webhook_ok(client, body)
    with app.app_context():
        assert Conversation.unread_counts() == {RAVI: 1, NEHA: 1}
        assert audit() == []


def test_the_sweep_finds_unfinished_deliveries_without_scanning_the_raw_log(
    make_app: Callable[..., Flask], redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With Redis the sweep reads the backlog (a sorted set) and scans the raw log only at its first run
    and then every WEBHOOK_FULL_SWEEP_SECONDS: FerretDB answers that scan by reading every delivery."""
    app = make_app(REDIS_URL=redis_server.url, WEBHOOK_STUCK_AFTER=0, WEBHOOK_FULL_SWEEP_SECONDS=3600)
    client = app.test_client()
    with app.app_context():
        lost = stuck(inbound(text("stored before the backlog", id="wamid.OLD")), seconds_ago=5)  # not in the set
        assert sweep_deliveries().processed == 1  # the first sweep scans: found
        assert WebhookEvent.objects.get(pk=lost.pk).outcome == "processed"

    scans: list[int] = []
    original = webhook_tasks.unfinished
    monkeypatch.setattr(webhook_tasks, "unfinished", lambda *a: scans.append(1) or original(*a))
    monkeypatch.setattr(Conversation, "count_unread", classmethod(lambda cls, m, **_: 1 / 0))
    answer = post_webhook(client, inbound(text("fails once", id="wamid.ONCE"))).get_json()
    assert answer["data"]["outcome"] == "failed"
    monkeypatch.undo()
    monkeypatch.setattr(webhook_tasks, "unfinished", lambda *a: scans.append(1) or original(*a))
    with app.app_context():
        backlog = redis.Redis.from_url(redis_server.url).zrange("inbox:webhooks:unfinished", 0, -1)
        assert backlog == [answer["data"]["eventId"].encode()]  # processed ones left it, the failed one is there
        assert sweep_deliveries().processed == 1 and scans == []
        assert Conversation.objects.get(pk=Message.objects.get(pk="wamid.ONCE").conversation_id).unread_count == 2
        assert redis.Redis.from_url(redis_server.url).zcard("inbox:webhooks:unfinished") == 0
        assert audit() == []
