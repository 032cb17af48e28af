"""POST /webhook through the Flask test client into the real database, checked through the JSON API."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from devdb.launcher import DevDB
from tests.helpers.app import BUSINESS_NUMBER, PHONE_NUMBER_ID, settings
from tests.helpers.auth import signed_in
from tests.helpers.http import assert_error, post_webhook, webhook_ok
from tests.helpers.payloads import (
    NEHA,
    RAVI,
    SAMPLE_CONTENT,
    failure,
    inbound,
    message,
    meta_body,
    outbound,
    raw,
    reaction,
    status,
    statuses,
    text,
    value,
    wamid,
    wrapper_body,
)
from webapp.inbox.documents import Conversation, Message, PendingUpdate
from webapp.inbox.indexes import RecentChunk
from webapp.webhooks.documents import WebhookEvent
from webapp.whatsapp.signature import sign

T0 = 1754400000  # 2025-08-05T13:20:00Z


def conversations(client: FlaskClient) -> list[dict[str, Any]]:
    response = client.get("/api/conversations")
    assert response.status_code == 200
    return response.get_json()["data"]


def conversation(client: FlaskClient, wa_id: str) -> dict[str, Any]:
    rows = [c for c in conversations(client) if c["wa_id"] == wa_id]
    assert len(rows) == 1, rows
    return rows[0]


def messages(client: FlaskClient, wa_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/api/messages/{wa_id}?limit=200")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


def by_id(client: FlaskClient, wa_id: str) -> dict[str, dict[str, Any]]:
    return {m["id"]: m for m in messages(client, wa_id)}


def assert_nothing_stored(client: FlaskClient) -> None:
    assert WebhookEvent.objects.count() == 0
    assert Message.objects.count() == 0
    assert conversations(client) == []


def send_outbound(client: FlaskClient, wamid_: str, *, to: str = RAVI, timestamp: int = T0) -> None:
    webhook_ok(client, meta_body(value(messages=[outbound("Your order shipped", to=to, id=wamid_, timestamp=timestamp)],
                               contacts=[(to, "Ravi Kumar")])))


# --- verification handshake ---------------------------------------------------------------------------


def test_handshake_echoes_the_challenge(client):
    response = client.get("/webhook?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.get_data(as_text=True) == "1158201444"


@pytest.mark.parametrize(
    "query",
    [
        "hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1",
        "hub.mode=unsubscribe&hub.verify_token=verify-me&hub.challenge=1",
        "hub.mode=subscribe&hub.verify_token=verify-me",
        "hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=",
        "hub.verify_token=verify-me&hub.challenge=1",
        "",
    ],
    ids=["wrong-token", "wrong-mode", "no-challenge", "empty-challenge", "no-mode", "nothing"],
)
def test_handshake_refused(client, query):
    body = assert_error(client.get(f"/webhook?{query}"), 403)
    assert "verify_token" in body["message"]


def test_handshake_refused_when_no_token_is_configured(make_app):
    client = make_app(WHATSAPP_VERIFY_TOKEN="").test_client()
    assert_error(client.get("/webhook?hub.mode=subscribe&hub.verify_token=&hub.challenge=1"), 403)


# --- batches, types, context ----------------------------------------------------------------------------


def test_a_batch_is_stored_whole(client):
    out1, out2 = wamid("OUT"), wamid("OUT")
    webhook_ok(client, meta_body(value(messages=[outbound("Earlier reply", to=NEHA, id=out2, timestamp=T0 - 50)],
                               contacts=[(NEHA, "Neha Singh")])))
    ravi_ids = [wamid() for _ in range(3)]
    body = meta_body(
        value(messages=[text("Hi", id=ravi_ids[0], timestamp=T0), text("Anyone there?", id=ravi_ids[1],
                                                                          timestamp=T0 + 5)],
              contacts=[(RAVI, "Ravi Kumar")]),
        value(messages=[outbound("Yes, how can we help?", to=RAVI, id=out1, timestamp=T0 + 10)],
              contacts=[(RAVI, "Ravi Kumar")]),
        value(statuses=[status(out1, "delivered", timestamp=T0 + 12), status(out2, "read", timestamp=T0 + 13)]),
        value(messages=[text("Hello from Neha", sender=NEHA, id="wamid.NEHA1", timestamp=T0 + 20)],
              contacts=[(NEHA, "Neha Singh")]),
        value(messages=[text("I want to order", id=ravi_ids[2], timestamp=T0 + 30)], contacts=[(RAVI, "Ravi Kumar")]),
        entries=3,
    )
    assert len(body["entry"]) == 3
    report = webhook_ok(client, body)
    assert report["stored"] == 5 and report["duplicates"] == 0 and report["statusesApplied"] == 2

    rows = conversations(client)
    assert [(r["wa_id"], r["contactName"]) for r in rows] == [(RAVI, "Ravi Kumar"), (NEHA, "Neha Singh")]
    assert rows[0]["id"] == ravi_ids[2] and rows[0]["unreadCount"] == 3
    assert rows[1]["id"] == "wamid.NEHA1" and rows[1]["unreadCount"] == 1

    ravi = messages(client, RAVI)
    assert [m["id"] for m in ravi] == [ravi_ids[0], ravi_ids[1], out1, ravi_ids[2]]
    assert [m["direction"] for m in ravi] == ["inbound", "inbound", "outbound", "inbound"]
    assert ravi[2]["status"] == "delivered" and ravi[2]["to"] == RAVI and ravi[2]["from"] == BUSINESS_NUMBER
    neha = messages(client, NEHA)
    assert [(m["id"], m["status"]) for m in neha] == [(out2, "read"), ("wamid.NEHA1", None)]


def test_the_wrapper_shape_is_stored_like_meta(client):
    webhook_ok(client, wrapper_body(value(messages=[text("via wrapper", id="wamid.W1")],
                                          contacts=[(RAVI, "Ravi Kumar")])))
    assert [m["text"]["body"] for m in messages(client, RAVI)] == ["via wrapper"]
    assert conversation(client, RAVI)["contactName"] == "Ravi Kumar"


TYPES = sorted(SAMPLE_CONTENT)


def test_every_message_type_is_stored_with_its_content_and_preview(client):
    ids = {mtype: f"wamid.TYPE.{mtype}" for mtype in TYPES}
    list_reply = {"type": "list_reply", "list_reply": {"id": "slot-2", "title": "Tomorrow 10am", "description": "B"}}
    unsupported = message("unsupported", None, id="wamid.TYPE.unsupported", timestamp=T0 + 100)
    unsupported["errors"] = [{"code": 131051, "title": "Message type unknown", "message": "Message type unknown",
                              "error_data": {"details": "Message type is currently not supported."}}]
    body = inbound(
        *[message(mtype, SAMPLE_CONTENT[mtype][0], id=ids[mtype], timestamp=T0 + i) for i, mtype in enumerate(TYPES)],
        message("interactive", list_reply, id="wamid.TYPE.list", timestamp=T0 + 99),
        unsupported,
    )
    assert webhook_ok(client, body)["stored"] == len(TYPES) + 2
    stored = by_id(client, RAVI)
    for mtype in TYPES:
        content, expected_preview = SAMPLE_CONTENT[mtype]
        item = stored[ids[mtype]]
        assert item["type"] == mtype
        assert item[mtype] == content, mtype
        assert item["preview"] == expected_preview, mtype
    assert stored["wamid.TYPE.list"]["interactive"] == list_reply
    assert stored["wamid.TYPE.list"]["preview"] == "Tomorrow 10am"
    item = stored["wamid.TYPE.unsupported"]
    assert item["type"] == "unsupported" and item["preview"] == "Unsupported message"
    assert item["errors"] == unsupported["errors"]
    # the newest one is the unsupported message: the list shows its preview
    row = conversation(client, RAVI)
    assert row["id"] == "wamid.TYPE.unsupported" and row["type"] == "unsupported"
    assert row["text"]["body"] == "Unsupported message"


def test_a_text_message_appears_in_the_summary(client):
    webhook_ok(client, inbound(text("  Is the   store open\ntoday?  ", id="wamid.SUM", timestamp=T0)))
    row = conversation(client, RAVI)
    assert row["text"]["body"] == "Is the store open today?" and row["type"] == "text"
    assert row["from"] == RAVI and row["to"] == BUSINESS_NUMBER and row["direction"] == "inbound"
    assert row["status"] is None
    # the bubble keeps the text exactly as sent
    assert messages(client, RAVI)[0]["text"] == {"body": "  Is the   store open\ntoday?  "}


def test_a_reply_and_a_forward_keep_their_context(client):
    first = wamid()
    webhook_ok(client, inbound(text("Do you deliver?", id=first, timestamp=T0)))
    webhook_ok(client, inbound(text("to Pune, I mean", id="wamid.REPLY", timestamp=T0 + 5,
                                    context={"from": RAVI, "id": first}),
                       message("image", {"id": "M1"}, id="wamid.FWD", timestamp=T0 + 6,
                               context={"forwarded": True})))
    stored = by_id(client, RAVI)
    assert stored["wamid.REPLY"]["context"] == {"from": RAVI, "id": first}
    assert stored["wamid.FWD"]["context"] == {"forwarded": True}
    assert stored[first]["context"] is None


# --- reactions --------------------------------------------------------------------------------------------


def react(client: FlaskClient, target: str, emoji: str, at: int, sender: str = RAVI) -> dict[str, Any]:
    return webhook_ok(client, inbound(reaction(target, emoji, sender=sender, timestamp=at), wa_id=sender))


def reactions_on(client: FlaskClient, target: str, wa_id: str = RAVI) -> list[tuple[str, str]]:
    return [(r["from"], r["emoji"]) for r in by_id(client, wa_id)[target]["reactions"]]


def test_a_reaction_attaches_to_its_target_and_is_not_a_bubble(client):
    target = wamid("OUT")
    send_outbound(client, target, timestamp=T0)
    report = react(client, target, "❤️", T0 + 10)
    assert report["reactionsApplied"] == 1
    listed = messages(client, RAVI)
    assert [m["id"] for m in listed] == [target]
    assert listed[0]["reactions"] == [{"emoji": "❤️", "from": RAVI, "timestamp": "2025-08-05T13:20:10Z"}]
    # the summary still shows the message, not the reaction, and a reaction is not an unread message
    row = conversation(client, RAVI)
    assert row["id"] == target and row["unreadCount"] == 0


def test_reactions_from_two_people_are_both_shown(client):
    target = wamid()
    webhook_ok(client, inbound(text("Group photo", id=target, timestamp=T0)))
    react(client, target, "👍", T0 + 5)
    webhook_ok(client, meta_body(value(messages=[reaction(target, "😂", sender=BUSINESS_NUMBER, to=RAVI,
                                                  timestamp=T0 + 6)])))
    assert reactions_on(client, target) == [(RAVI, "👍"), (BUSINESS_NUMBER, "😂")]


def test_a_later_reaction_replaces_and_an_empty_one_removes(client):
    target = wamid("OUT")
    send_outbound(client, target)
    react(client, target, "👍", T0 + 10)
    react(client, target, "🙏", T0 + 20)
    assert reactions_on(client, target) == [(RAVI, "🙏")]
    report = react(client, target, "", T0 + 30)
    assert report["reactionsApplied"] == 1
    assert reactions_on(client, target) == []


def test_an_older_reaction_arriving_late_neither_overrides_nor_resurrects(client):
    target = wamid("OUT")
    send_outbound(client, target)
    react(client, target, "🙏", T0 + 20)
    react(client, target, "👍", T0 + 10)  # older, late
    assert reactions_on(client, target) == [(RAVI, "🙏")]
    react(client, target, "", T0 + 30)
    react(client, target, "😮", T0 + 25)  # older than the removal, late
    assert reactions_on(client, target) == []
    react(client, target, "🎉", T0 + 40)
    assert reactions_on(client, target) == [(RAVI, "🎉")]


def test_the_same_reaction_delivered_twice_counts_once(client):
    target = wamid("OUT")
    send_outbound(client, target)
    body = inbound(reaction(target, "👍", timestamp=T0 + 10))
    assert webhook_ok(client, body)["reactionsApplied"] == 1
    second = webhook_ok(client, body)
    assert second["duplicates"] == 1 and second["reactionsApplied"] == 0
    assert reactions_on(client, target) == [(RAVI, "👍")]


def test_a_reaction_before_its_target_is_applied_when_the_target_arrives(client):
    target = wamid("OUT")
    report = react(client, target, "👍", T0 + 10)
    assert report["reactionsDeferred"] == 1 and report["reactionsApplied"] == 0
    send_outbound(client, target, timestamp=T0)
    assert reactions_on(client, target) == [(RAVI, "👍")]
    assert PendingUpdate.objects.count() == 0


def test_reactions_before_the_target_keep_only_the_latest(client):
    target = wamid("OUT")
    react(client, target, "😂", T0 + 20)
    react(client, target, "👍", T0 + 10)
    send_outbound(client, target, timestamp=T0)
    assert reactions_on(client, target) == [(RAVI, "😂")]


# --- statuses ------------------------------------------------------------------------------------------


RANK = {"sent": 1, "delivered": 3, "read": 4}
STAMPS = {"sent": T0 + 1, "delivered": T0 + 2, "read": T0 + 3}


def iso_at(seconds: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize("order", list(itertools.permutations(["sent", "delivered", "read"])),
                         ids=lambda order: "-".join(order))
def test_every_order_of_statuses_ends_at_read(client, order):
    target = wamid("OUT")
    send_outbound(client, target, timestamp=T0)
    assert by_id(client, RAVI)[target]["status"] == "sent"
    best = "sent"
    for name in order:
        webhook_ok(client, statuses(status(target, name, timestamp=STAMPS[name])))
        best = max(best, name, key=RANK.__getitem__)
        assert by_id(client, RAVI)[target]["status"] == best
        assert conversation(client, RAVI)["status"] == best
    item = by_id(client, RAVI)[target]
    assert item["status"] == "read"
    assert item["statusTimestamps"] == {
        "sent": iso_at(T0),  # the message left at its own timestamp, before the `sent` webhook's
        "delivered": iso_at(STAMPS["delivered"]),
        "read": iso_at(STAMPS["read"]),
    }
    assert item["timestamp"] == iso_at(T0)
    assert item["error"] is None


def test_a_status_delivered_again_later_keeps_the_first_time(client):
    target = wamid("OUT")
    send_outbound(client, target)
    webhook_ok(client, statuses(status(target, "delivered", timestamp=T0 + 5)))
    report = webhook_ok(client, statuses(status(target, "delivered", timestamp=T0 + 50)))
    assert report["statusesStale"] == 1 and report["statusesApplied"] == 0
    assert by_id(client, RAVI)[target]["statusTimestamps"]["delivered"] == iso_at(T0 + 5)


def test_failed_after_sent_shows_failed_with_its_error(client):
    target = wamid("OUT")
    send_outbound(client, target)
    webhook_ok(client, statuses(status(target, "sent", timestamp=T0 + 1)))
    webhook_ok(client, statuses(status(target, "failed", timestamp=T0 + 2, errors=[failure()])))
    item = by_id(client, RAVI)[target]
    assert item["status"] == "failed"
    assert item["error"] == {"code": 131047, "title": "Re-engagement message",
                             "details": "More than 24 hours have passed since the customer last replied."}
    assert item["statusTimestamps"]["failed"] == iso_at(T0 + 2)
    assert conversation(client, RAVI)["status"] == "failed"


def test_failed_without_errors_still_explains(client):
    target = wamid("OUT")
    send_outbound(client, target)
    webhook_ok(client, statuses(status(target, "failed", timestamp=T0 + 2)))
    item = by_id(client, RAVI)[target]
    assert item["status"] == "failed" and item["error"]["title"] == "Message failed to send"


@pytest.mark.parametrize("reached", ["delivered", "read"])
def test_failed_after_delivered_or_read_does_not_change_the_shown_status(client, reached):
    target = wamid("OUT")
    send_outbound(client, target)
    webhook_ok(client, statuses(status(target, reached, timestamp=T0 + 2)))
    report = webhook_ok(client, statuses(status(target, "failed", timestamp=T0 + 3, errors=[failure()])))
    assert report["statusesStale"] == 1
    item = by_id(client, RAVI)[target]
    assert item["status"] == reached
    assert item["error"] is None  # a delivered message is not shown with a failure
    assert Message.objects.get(pk=target).error["code"] == 131047  # but the failure is recorded
    assert conversation(client, RAVI)["status"] == reached


def test_delivered_after_failed_shows_delivered_without_the_error(client):
    target = wamid("OUT")
    send_outbound(client, target)
    webhook_ok(client, statuses(status(target, "failed", timestamp=T0 + 2, errors=[failure()])))
    webhook_ok(client, statuses(status(target, "delivered", timestamp=T0 + 3)))
    item = by_id(client, RAVI)[target]
    assert item["status"] == "delivered" and item["error"] is None


def test_a_status_before_its_message_is_applied_when_it_arrives(client):
    target = wamid("OUT")
    report = webhook_ok(client, statuses(status(target, "delivered", timestamp=T0 + 2), status(target, "read",
                                                                                       timestamp=T0 + 3)))
    assert report["statusesDeferred"] == 2 and report["statusesApplied"] == 0
    assert Message.objects.count() == 0 and conversations(client) == []
    report = webhook_ok(client, meta_body(value(messages=[outbound("hello", to=RAVI, id=target, timestamp=T0)])))
    assert report["stored"] == 1 and report["statusesApplied"] == 2
    item = by_id(client, RAVI)[target]
    assert item["status"] == "read"
    assert set(item["statusTimestamps"]) == {"sent", "delivered", "read"}
    assert conversation(client, RAVI)["status"] == "read"
    assert PendingUpdate.objects.count() == 0


def test_a_status_before_its_message_in_the_same_body(client):
    target = wamid("OUT")
    body = meta_body(
        value(statuses=[status(target, "read", timestamp=T0 + 3)]),
        value(messages=[outbound("hello", to=RAVI, id=target, timestamp=T0)], contacts=[(RAVI, "Ravi Kumar")]),
    )
    report = webhook_ok(client, body)
    assert report["stored"] == 1 and report["statusesDeferred"] == 1 and report["statusesApplied"] == 1
    item = by_id(client, RAVI)[target]
    assert item["status"] == "read" and item["statusTimestamps"]["read"] == iso_at(T0 + 3)
    assert conversation(client, RAVI)["status"] == "read"


def test_a_failure_before_its_message_keeps_its_error(client):
    target = wamid("OUT")
    webhook_ok(client, statuses(status(target, "failed", timestamp=T0 + 3, errors=[failure(131026, "Undeliverable")])))
    send_outbound(client, target)
    item = by_id(client, RAVI)[target]
    assert item["status"] == "failed" and item["error"]["code"] == 131026
    assert item["error"]["title"] == "Undeliverable"


def test_the_summary_status_follows_the_latest_message(client):
    older, newer = wamid("OUT"), wamid("OUT")
    send_outbound(client, older, timestamp=T0)
    send_outbound(client, newer, timestamp=T0 + 10)
    assert conversation(client, RAVI)["status"] == "sent"
    webhook_ok(client, statuses(status(older, "read", timestamp=T0 + 20)))
    row = conversation(client, RAVI)
    assert row["id"] == newer and row["status"] == "sent"  # the older message's tick is not the summary's
    webhook_ok(client, statuses(status(newer, "delivered", timestamp=T0 + 21)))
    assert conversation(client, RAVI)["status"] == "delivered"
    webhook_ok(client, inbound(text("thanks", id="wamid.IN", timestamp=T0 + 30)))
    row = conversation(client, RAVI)
    assert row["id"] == "wamid.IN" and row["status"] is None and row["direction"] == "inbound"
    webhook_ok(client, statuses(status(newer, "read", timestamp=T0 + 31)))
    assert conversation(client, RAVI)["status"] is None
    assert by_id(client, RAVI)[newer]["status"] == "read"


def test_unknown_statuses_are_ignored(client):
    target = wamid("OUT")
    send_outbound(client, target)
    report = webhook_ok(client, statuses(status(target, "deleted"), status(target, "delivered", timestamp=T0 + 2)))
    assert report["ignored"] == ["status:deleted"] and report["statusesApplied"] == 1
    assert by_id(client, RAVI)[target]["status"] == "delivered"


# --- idempotency -------------------------------------------------------------------------------------


def test_the_same_body_twice_is_stored_once(client):
    target = wamid("OUT")
    body = meta_body(
        value(messages=[text("one", timestamp=T0), text("two", timestamp=T0 + 1)], contacts=[(RAVI, "Ravi Kumar")]),
        value(messages=[outbound("reply", to=RAVI, id=target, timestamp=T0 + 2)]),
        value(statuses=[status(target, "delivered", timestamp=T0 + 3)]),
    )
    first = webhook_ok(client, body)
    assert (first["stored"], first["duplicates"], first["statusesApplied"]) == (3, 0, 1)
    second = webhook_ok(client, body)
    assert (second["stored"], second["duplicates"], second["statusesApplied"]) == (0, 3, 0)
    assert second["statusesStale"] == 1
    assert len(messages(client, RAVI)) == 3
    row = conversation(client, RAVI)
    assert row["unreadCount"] == 2 and row["id"] == target and row["status"] == "delivered"
    # both deliveries are in the raw log
    assert WebhookEvent.objects.count() == 2


def test_a_retried_delivery_repairs_a_half_applied_message(client):
    """A delivery that failed between storing its message and folding it into the conversation (the
    database went away between the two writes; the caller got a 503 and WhatsApp retries) must not
    leave the message invisible when the retry comes."""
    body = inbound(text("Did this arrive?", id="wamid.HALF", timestamp=T0), name="Ravi Kumar")
    webhook_ok(client, body)
    # the state such a failure leaves: the conversation not told (no summary, no row in the list)
    Conversation.objects(pk=f"{PHONE_NUMBER_ID}:{RAVI}").delete()
    RecentChunk.objects.delete()
    assert conversations(client) == []
    second = webhook_ok(client, body)
    assert second["duplicates"] == 1 and second["stored"] == 0
    row = conversation(client, RAVI)
    assert row["id"] == "wamid.HALF" and row["contactName"] == "Ravi Kumar"
    assert row["text"]["body"] == "Did this arrive?"
    assert [m["id"] for m in messages(client, RAVI)] == ["wamid.HALF"]


def test_a_duplicate_does_not_roll_back_the_summary(client):
    target, later = wamid("OUT"), wamid()
    send_outbound(client, target, timestamp=T0)
    webhook_ok(client, statuses(status(target, "read", timestamp=T0 + 5)))
    send_outbound(client, target, timestamp=T0)  # WhatsApp delivers the message again
    row = conversation(client, RAVI)
    assert row["id"] == target and row["status"] == "read"
    webhook_ok(client, inbound(text("newer", id=later, timestamp=T0 + 10)))
    send_outbound(client, target, timestamp=T0)  # and again, now that it is not the latest
    row = conversation(client, RAVI)
    assert row["id"] == later and row["unreadCount"] == 1


# --- signatures ----------------------------------------------------------------------------------------


@pytest.fixture
def signed_client(make_app) -> FlaskClient:
    return make_app(WHATSAPP_APP_SECRET="s3cret").test_client()


def test_a_good_signature_is_accepted(signed_client):
    body = raw(inbound(text("signed", id="wamid.SIGNED")))
    response = post_webhook(signed_client, body, **{"X-Hub-Signature-256": sign(body, "s3cret")})
    assert response.status_code == 200, response.get_json()
    assert [m["id"] for m in messages(signed_client, RAVI)] == ["wamid.SIGNED"]
    assert WebhookEvent.objects.get().signature == "valid"


@pytest.mark.parametrize(
    "header",
    [None, "", sign(b"{}", "s3cret"), sign(raw(inbound(text("x", id="wamid.SIGNED"))), "wrong"), "sha256=zz"],
    ids=["missing", "empty", "other-body", "other-secret", "garbage"],
)
def test_a_missing_or_wrong_signature_stores_nothing(signed_client, header):
    body = raw(inbound(text("signed", id="wamid.SIGNED")))
    headers = {} if header is None else {"X-Hub-Signature-256": header}
    response = post_webhook(signed_client, body, **headers)
    error = assert_error(response, 401)
    assert "X-Hub-Signature-256" in error["message"] and "nothing was stored" in error["message"]
    assert_nothing_stored(signed_client)


def test_a_signature_over_a_reformatted_body_is_refused(signed_client):
    body = raw(inbound(text("signed", id="wamid.SIGNED")))
    compact = json.dumps(json.loads(body), separators=(",", ":")).encode()
    assert_error(post_webhook(signed_client, compact, **{"X-Hub-Signature-256": sign(body, "s3cret")}), 401)
    assert_nothing_stored(signed_client)


def test_without_a_secret_signatures_are_not_checked(client):
    webhook_ok(client, inbound(text("unsigned", id="wamid.UNSIGNED")))
    assert WebhookEvent.objects.get().signature == "not_checked"


# --- bad input: 400, nothing stored ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b'{"object": "whatsapp_business_account", "entry": [', "not valid JSON"),
        (b"", "empty"),
        (b"   ", "empty"),
        (b"[]", "JSON object"),
        (b'[{"object": "whatsapp_business_account"}]', "JSON object"),
        (b'"entry"', "JSON object"),
        (b"42", "JSON object"),
        (b"null", "JSON object"),
        (b'{"hello": "world"}', "Not a WhatsApp webhook"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b'{"object": "whatsapp_business_account"}', "problem"),
    ],
    ids=["truncated", "empty", "blank", "array", "array-of-body", "string", "number", "null", "neither-shape",
         "not-utf8", "no-entry"],
)
def test_bad_bodies_are_refused_and_nothing_is_stored(client, data, words):
    error = assert_error(post_webhook(client, data), 400)
    assert words in error["message"]
    assert_nothing_stored(client)


def test_one_bad_message_deep_in_a_batch_rejects_the_whole_body(client):
    good = [text(f"good {i}", id=f"wamid.GOOD{i}", timestamp=T0 + i) for i in range(4)]
    bad = text("bad", id="wamid.BAD", timestamp=T0 + 9)
    bad["from"] = "not-a-number"
    body = meta_body(value(messages=good[:2], contacts=[(RAVI, "Ravi Kumar")]),
                     value(statuses=[status("wamid.X", "read")]),
                     value(messages=[good[2], bad, good[3]]), entries=2)
    error = assert_error(post_webhook(client, body), 400)
    assert error["errors"] == {"entry[1].changes[0].value.messages[1].from":
                               "must be a phone number: 5 to 20 digits, optionally after a +"}
    assert "nothing was stored" in error["message"]
    assert_nothing_stored(client)
    assert PendingUpdate.objects.count() == 0


def test_a_malformed_status_rejects_the_body(client):
    body = meta_body(value(messages=[text("fine", id="wamid.FINE")], statuses=[{"id": "wamid.S", "status": "read"}]))
    error = assert_error(post_webhook(client, body), 400)
    assert error["errors"] == {"entry[0].changes[0].value.statuses[0].timestamp": "is required"}
    assert_nothing_stored(client)


def test_a_body_over_the_size_limit_is_refused(make_app):
    client = make_app(MAX_CONTENT_LENGTH=4096).test_client()
    body = raw(inbound(text("x" * 5000, id="wamid.BIG")))
    error = assert_error(post_webhook(client, body), 413)
    assert "4096" in error["message"]
    assert_nothing_stored(client)
    # just under the limit is fine
    webhook_ok(client, inbound(text("x" * 3000, id="wamid.FITS")))


def test_an_unknown_api_route_is_a_json_404(client):
    error = assert_error(client.get("/api/nothing-here"), 404)
    assert "/api/nothing-here" in error["message"]
    assert_error(client.post("/api/conversations/919937320320/unknown"), 404)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [("DELETE", "/webhook", {"GET", "POST"}), ("PUT", "/webhook", {"GET", "POST"}),
     ("PUT", "/api/conversations", {"GET"}), ("DELETE", "/api/messages", {"POST"}),
     ("GET", f"/api/conversations/{RAVI}/read", {"POST"})],
)
def test_a_wrong_method_is_a_json_405(client, method, path, allowed):
    response = client.open(path, method=method)
    error = assert_error(response, 405)
    assert method in error["message"] and path in error["message"]
    assert allowed <= {m.strip() for m in response.headers["Allow"].split(",")}


# --- the raw log -------------------------------------------------------------------------------------------


def test_the_raw_body_is_stored_exactly_as_received(client):
    body = json.dumps(inbound(text("Namaste 🙏 \u00e9", id="wamid.RAW")), indent=3, ensure_ascii=True).encode()
    body = b"\n  " + body + b"\r\n"
    data = webhook_ok(client, body)
    event = WebhookEvent.objects.get()
    assert bytes(event.raw_body) == body
    assert event.outcome == "processed" and event.source == "webhook" and event.error is None
    assert str(event.pk) == data["eventId"]
    assert event.result["stored"] == 1
    assert messages(client, RAVI)[0]["text"]["body"] == "Namaste 🙏 é"


def test_other_change_fields_are_logged_and_ignored(client):
    body = meta_body(value(messages=[text("hi", id="wamid.WITH_OTHER")]))
    body["entry"][0]["changes"].insert(0, {"field": "account_update", "value": {"event": "VERIFIED_ACCOUNT"}})
    data = webhook_ok(client, body)
    assert data["ignored"] == ["account_update"] and data["stored"] == 1
    only_other = meta_body({"phone_number": BUSINESS_NUMBER, "event": "FLAGGED"}, field="phone_number_quality_update")
    data = webhook_ok(client, only_other)
    assert data["ignored"] == ["phone_number_quality_update"] and data["stored"] == 0
    events = list(WebhookEvent.objects.order_by("received_at"))
    assert len(events) == 2 and json.loads(events[1].raw_body) == only_other
    assert all(e.outcome == "processed" for e in events)
    assert [m["id"] for m in messages(client, RAVI)] == ["wamid.WITH_OTHER"]


# --- unread counts and the conversation summary --------------------------------------------------------------


def test_unread_counts_inbound_messages_and_read_resets_it(client):
    webhook_ok(client, inbound(text("one", timestamp=T0), text("two", timestamp=T0 + 1)))
    assert conversation(client, RAVI)["unreadCount"] == 2
    webhook_ok(client, meta_body(value(messages=[outbound("reply", to=RAVI, timestamp=T0 + 2)])))
    assert conversation(client, RAVI)["unreadCount"] == 2  # a reply sent from the phone does not read them
    webhook_ok(client, inbound(text("three", timestamp=T0 + 3)))
    assert conversation(client, RAVI)["unreadCount"] == 3
    response = client.post(f"/api/conversations/{RAVI}/read")
    assert response.status_code == 200 and response.get_json()["data"]["unreadCount"] == 0
    assert conversation(client, RAVI)["unreadCount"] == 0
    webhook_ok(client, inbound(text("four", timestamp=T0 + 4)))
    assert conversation(client, RAVI)["unreadCount"] == 1


def test_an_older_message_arriving_late_does_not_replace_the_summary(client):
    webhook_ok(client, inbound(text("newest", id="wamid.NEW", timestamp=T0 + 60), name="Ravi Kumar"))
    webhook_ok(client, inbound(text("older", id="wamid.OLD", timestamp=T0), name="Ravi Kumar"))
    row = conversation(client, RAVI)
    assert row["id"] == "wamid.NEW" and row["text"]["body"] == "newest"
    assert row["timestamp"] == iso_at(T0 + 60) and row["lastMessageAt"] == iso_at(T0 + 60)
    assert row["unreadCount"] == 2
    assert [m["id"] for m in messages(client, RAVI)] == ["wamid.OLD", "wamid.NEW"]


def test_conversations_are_per_contact_and_most_recent_first(client):
    webhook_ok(client, inbound(text("from ravi", timestamp=T0)))
    webhook_ok(client, inbound(text("from neha", sender=NEHA, timestamp=T0 + 10), name="Neha Singh", wa_id=NEHA))
    assert [r["wa_id"] for r in conversations(client)] == [NEHA, RAVI]
    webhook_ok(client, inbound(text("ravi again", timestamp=T0 + 20)))
    assert [r["wa_id"] for r in conversations(client)] == [RAVI, NEHA]
    assert Conversation.objects.count() == 2
    assert {c.id for c in Conversation.objects} == {f"{PHONE_NUMBER_ID}:{RAVI}", f"{PHONE_NUMBER_ID}:{NEHA}"}


def test_a_later_profile_name_updates_the_contact(client):
    webhook_ok(client, inbound(text("hi", timestamp=T0), name="Ravi"))
    webhook_ok(client, inbound(text("hi again", timestamp=T0 + 1), name="Ravi Kumar"))
    assert conversation(client, RAVI)["contactName"] == "Ravi Kumar"


# --- the database going away -----------------------------------------------------------------------------


def test_an_unreachable_database_is_a_503(tmp_path: Path):
    from webapp import create_app

    db = DevDB(tmp_path / "db").start()
    try:
        app = create_app(settings(f"{db.uri}unreachable_test", MONGODB_TIMEOUT_MS=500))
        client = signed_in(app)  # signed in while the database answers
        assert post_webhook(client, inbound(text("before", id="wamid.BEFORE"))).status_code == 200
    finally:
        db.stop()
    response = post_webhook(client, inbound(text("after", id="wamid.AFTER")))
    error = assert_error(response, 503)
    assert "database is unavailable" in error["message"]
    assert response.headers["Retry-After"] == "5"
    assert_error(client.get("/api/conversations"), 503)
    # a body that is not a webhook is still a 400: it is refused before the database is needed
    assert_error(post_webhook(client, b"[]"), 400)
