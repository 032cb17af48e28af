"""The JSON API: conversation list, message pages, sending, marking read, simulated delivery."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.helpers.app import BUSINESS_NUMBER, PHONE_NUMBER_ID
from tests.helpers.http import assert_error, get_ok, webhook_ok
from tests.helpers.payloads import NEHA, RAVI, inbound, meta_body, outbound, status, statuses, text, value
from webapp.inbox.documents import Conversation, Message
from webapp.webhooks.documents import WebhookEvent

T0 = 1754400000  # 2025-08-05T13:20:00Z
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$")


def contact(i: int) -> str:
    return f"9190000{i:05d}"


def seed_contacts(client: FlaskClient, count: int, *, same_time: bool = False) -> list[str]:
    """`count` conversations, contact i's last message at T0 + i (or all at T0); returns newest first."""
    values = [
        value(messages=[text(f"hello from {i}", sender=contact(i), id=f"wamid.C{i:05d}",
                             timestamp=T0 if same_time else T0 + i)],
              contacts=[(contact(i), f"Contact {i}")])
        for i in range(count)
    ]
    assert webhook_ok(client, meta_body(*values))["stored"] == count
    if same_time:
        return sorted((contact(i) for i in range(count)), reverse=True)
    return [contact(i) for i in reversed(range(count))]


def seed_messages(client: FlaskClient, count: int, wa_id: str = RAVI) -> list[str]:
    """`count` messages, one a second, oldest first."""
    ids = [f"wamid.M{i:05d}" for i in range(count)]
    webhook_ok(client, inbound(*[text(f"message {i}", sender=wa_id, id=ids[i], timestamp=T0 + i) for i in range(count)],
                            wa_id=wa_id))
    return ids


def send(client: FlaskClient, body: Any = None, **kwargs: Any):
    return client.post("/api/messages", json=body if body is not None else kwargs)


# --- GET /api/conversations --------------------------------------------------------------------------------


def test_conversations_are_most_recent_first_with_the_seed_fields(client):
    webhook_ok(client, inbound(text("Hi there", id="wamid.R1", timestamp=T0), name="Ravi Kumar"))
    webhook_ok(client, inbound(text("Namaste", sender=NEHA, id="wamid.N1", timestamp=T0 + 30), name="Neha Singh",
                            wa_id=NEHA))
    webhook_ok(client, meta_body(value(messages=[outbound("On its way", to=RAVI, id="wamid.R2", timestamp=T0 + 60)])))
    body = get_ok(client, "/api/conversations")
    rows = body["data"]
    assert [r["wa_id"] for r in rows] == [RAVI, NEHA]
    assert body["meta"] == {"hasMore": False, "before": None, "count": 2}
    ravi, neha = rows
    assert ravi == {
        "id": "wamid.R2", "wa_id": RAVI, "contactName": "Ravi Kumar", "from": BUSINESS_NUMBER, "to": RAVI,
        "type": "text", "text": {"body": "On its way"}, "preview": "On its way", "timestamp": "2025-08-05T13:21:00Z",
        "status": "sent", "direction": "outbound", "unreadCount": 1, "lastMessageAt": "2025-08-05T13:21:00Z",
        "phoneNumberId": PHONE_NUMBER_ID, "conversationStatus": "open", "assignee": None,
    }
    assert neha["id"] == "wamid.N1" and neha["from"] == NEHA and neha["to"] == BUSINESS_NUMBER
    assert neha["direction"] == "inbound" and neha["status"] is None and neha["text"] == {"body": "Namaste"}
    for row in rows:
        assert ISO_Z.match(row["timestamp"]) and ISO_Z.match(row["lastMessageAt"])


def test_an_empty_inbox(client):
    assert get_ok(client, "/api/conversations") == {
        "status": "success", "message": "0 conversation(s)", "data": [],
        "meta": {"hasMore": False, "before": None, "count": 0},
    }


def test_search_by_name_is_case_insensitive(client):
    seed_contacts(client, 3)
    webhook_ok(client, inbound(text("hi", timestamp=T0 + 100), name="Ravi Kumar"))
    for q in ("ravi", "RAVI", "kuM", "Ravi Kumar"):
        assert [r["wa_id"] for r in get_ok(client, f"/api/conversations?q={q}")["data"]] == [RAVI], q
    assert [r["wa_id"] for r in get_ok(client, "/api/conversations?q=contact%201")["data"]] == [contact(1)]
    assert len(get_ok(client, "/api/conversations?q=contact")["data"]) == 3


def test_search_by_number(client):
    seed_contacts(client, 3)
    webhook_ok(client, inbound(text("hi", timestamp=T0 + 100), name="Ravi Kumar"))
    assert [r["wa_id"] for r in get_ok(client, "/api/conversations?q=99373")["data"]] == [RAVI]
    assert [r["wa_id"] for r in get_ok(client, f"/api/conversations?q={contact(2)}")["data"]] == [contact(2)]
    found = get_ok(client, "/api/conversations?q=9190000")["data"]
    assert {r["wa_id"] for r in found} == {contact(i) for i in range(3)}


@pytest.mark.parametrize("q", [".*", "(", "[a-", "^", "$where", "\\"])
def test_search_treats_its_query_as_text(client, q):
    seed_contacts(client, 2)
    response = client.get("/api/conversations", query_string={"q": q})
    assert response.status_code == 200
    assert response.get_json()["data"] == []


def test_search_finds_nothing(client):
    seed_contacts(client, 2)
    assert get_ok(client, "/api/conversations?q=zzz")["data"] == []


@pytest.mark.parametrize("same_time", [False, True], ids=["distinct-times", "same-time"])
def test_conversation_pages_have_no_overlap_or_gap(client, same_time):
    expected = seed_contacts(client, 23, same_time=same_time)
    seen: list[str] = []
    url = "/api/conversations?limit=5"
    pages = 0
    while True:
        body = get_ok(client, url)
        pages += 1
        seen += [r["wa_id"] for r in body["data"]]
        assert body["meta"]["count"] == len(body["data"])
        if not body["meta"]["hasMore"]:
            assert body["meta"]["before"] is None
            break
        assert len(body["data"]) == 5
        assert body["meta"]["before"] == body["data"][-1]["wa_id"]
        url = f"/api/conversations?limit=5&before={body['meta']['before']}"
        assert pages < 10
    assert pages == 5
    assert seen == expected


def test_the_default_page_is_fifty_conversations(client):
    expected = seed_contacts(client, 55)
    body = get_ok(client, "/api/conversations")
    assert [r["wa_id"] for r in body["data"]] == expected[:50]
    assert body["meta"]["hasMore"] is True
    rest = get_ok(client, f"/api/conversations?before={body['meta']['before']}")
    assert [r["wa_id"] for r in rest["data"]] == expected[50:] and rest["meta"]["hasMore"] is False


def test_search_and_paging_together(client):
    seed_contacts(client, 12)
    first = get_ok(client, "/api/conversations?q=contact 1&limit=2")
    # "Contact 1", "Contact 10", "Contact 11": newest first
    assert [r["wa_id"] for r in first["data"]] == [contact(11), contact(10)]
    rest = get_ok(client, f"/api/conversations?q=contact 1&limit=2&before={first['meta']['before']}")
    assert [r["wa_id"] for r in rest["data"]] == [contact(1)] and rest["meta"]["hasMore"] is False


@pytest.mark.parametrize("limit", ["0", "201", "abc", "-1", "1.5"])
def test_an_invalid_conversation_limit_is_refused(client, limit):
    error = assert_error(client.get(f"/api/conversations?limit={limit}"), 400)
    assert set(error["errors"]) == {"limit"} and "limit" in error["message"]


def test_a_cursor_that_is_no_conversation_is_refused(client):
    seed_contacts(client, 2)
    error = assert_error(client.get("/api/conversations?before=15550009999"), 400)
    assert "before" in error["errors"]
    error = assert_error(client.get("/api/conversations?before=abc"), 400)
    assert "before" in error["errors"]


# --- GET /api/messages/<wa_id> ------------------------------------------------------------------------------


def test_messages_are_oldest_first_and_default_to_the_latest_fifty(client):
    ids = seed_messages(client, 60)
    body = get_ok(client, f"/api/messages/{RAVI}")
    assert [m["id"] for m in body["data"]] == ids[10:]
    assert body["meta"] == {"hasMore": True, "before": ids[10], "count": 50}
    first = body["data"][0]
    assert first["wa_id"] == RAVI and first["contactName"] == "Ravi Kumar" and first["text"] == {"body": "message 10"}
    assert first["timestamp"] == "2025-08-05T13:20:10Z" and first["direction"] == "inbound"
    older = get_ok(client, f"/api/messages/{RAVI}?before={ids[10]}")
    assert [m["id"] for m in older["data"]] == ids[:10]
    assert older["meta"] == {"hasMore": False, "before": None, "count": 10}


def test_message_pages_walk_back_without_overlap_or_gap(client):
    ids = seed_messages(client, 23)
    seen: list[str] = []
    url = f"/api/messages/{RAVI}?limit=5"
    for _ in range(10):
        body = get_ok(client, url)
        seen = [m["id"] for m in body["data"]] + seen
        if not body["meta"]["hasMore"]:
            break
        assert body["meta"]["before"] == body["data"][0]["id"]
        url = f"/api/messages/{RAVI}?limit=5&before={body['meta']['before']}"
    assert seen == ids


def test_limit_up_to_two_hundred(client):
    ids = seed_messages(client, 205)
    body = get_ok(client, f"/api/messages/{RAVI}?limit=200")
    assert [m["id"] for m in body["data"]] == ids[5:] and body["meta"]["hasMore"] is True
    assert [m["id"] for m in get_ok(client, f"/api/messages/{RAVI}?limit=1")["data"]] == ids[-1:]
    for limit in ("201", "0", "x"):
        error = assert_error(client.get(f"/api/messages/{RAVI}?limit={limit}"), 400)
        assert set(error["errors"]) == {"limit"}


def test_messages_in_the_same_second_keep_arrival_order(client):
    # ids chosen so that sorting by id would give the opposite order
    for label in ("Z", "Y", "X"):
        webhook_ok(client, inbound(text(f"separate {label}", id=f"wamid.SEP{label}", timestamp=T0)))
    same_body = [f"wamid.ONE{label}" for label in "EDCBA"]
    webhook_ok(client, inbound(*[text(m, id=m, timestamp=T0 + 1) for m in same_body]))
    expected = ["wamid.SEPZ", "wamid.SEPY", "wamid.SEPX", *same_body]
    assert [m["id"] for m in get_ok(client, f"/api/messages/{RAVI}")["data"]] == expected
    # and paging through them one at a time loses and repeats nothing
    seen: list[str] = []
    url = f"/api/messages/{RAVI}?limit=1"
    for _ in range(len(expected) + 1):
        body = get_ok(client, url)
        seen = [m["id"] for m in body["data"]] + seen
        if not body["meta"]["hasMore"]:
            break
        url = f"/api/messages/{RAVI}?limit=1&before={body['meta']['before']}"
    assert seen == expected


def test_many_messages_in_one_body_at_the_same_second_page_completely(client):
    ids = [f"wamid.BURST{i:03d}" for i in range(40)]
    webhook_ok(client, inbound(*[text(f"burst {i}", id=ids[i], timestamp=T0) for i in range(40)]))
    seen: list[str] = []
    url = f"/api/messages/{RAVI}?limit=3"
    for _ in range(20):
        body = get_ok(client, url)
        seen = [m["id"] for m in body["data"]] + seen
        if not body["meta"]["hasMore"]:
            break
        url = f"/api/messages/{RAVI}?limit=3&before={body['meta']['before']}"
    assert sorted(seen) == ids and len(seen) == len(set(seen))
    assert seen == [m["id"] for m in get_ok(client, f"/api/messages/{RAVI}?limit=200")["data"]]


def test_messages_of_an_unknown_contact_are_a_404(client):
    seed_messages(client, 1)
    error = assert_error(client.get("/api/messages/15550009999"), 404)
    assert "15550009999" in error["message"]


@pytest.mark.parametrize("wa_id", ["abc", "1234", "1" * 21, "91-9937320320", "++919937320320"])
def test_messages_of_a_non_phone_is_a_400(client, wa_id):
    error = assert_error(client.get(f"/api/messages/{wa_id}"), 400)
    assert error["errors"] == {"wa_id": "must be a phone number: 5 to 20 digits, optionally after a +"}


@pytest.mark.parametrize("wa_id", ["12345", "9199373203201234567", "1" * 20])
def test_every_contact_a_webhook_stores_can_be_opened_and_answered(client, wa_id):
    """One number rule (webapp.whatsapp.numbers) for the webhook, the API and the pages: a short code or a
    long id that WhatsApp delivered is not refused where an agent opens it."""
    webhook_ok(client, inbound(text("hi", sender=wa_id, id="wamid.ODD", timestamp=T0), wa_id=wa_id, name="Odd"))
    listed = get_ok(client, f"/api/messages/{wa_id}")["data"]
    assert [(m["id"], m["wa_id"], m["contactName"]) for m in listed] == [("wamid.ODD", wa_id, "Odd")]
    page = client.get(f"/c/{wa_id}")
    assert page.status_code == 200 and "Odd" in page.get_data(as_text=True)
    assert "wamid.ODD" in client.get(f"/c/{wa_id}/messages").get_data(as_text=True)
    sent = client.post("/api/messages", json={"waId": wa_id, "messageBody": "hello"})
    assert sent.status_code == 201, sent.get_json()
    read = client.post(f"/api/conversations/{wa_id}/read")
    assert read.status_code == 200 and read.get_json()["data"]["unreadCount"] == 0


def test_a_leading_plus_is_accepted_in_the_path(client):
    ids = seed_messages(client, 2)
    assert [m["id"] for m in get_ok(client, f"/api/messages/+{RAVI}")["data"]] == ids


def test_a_before_from_another_conversation_is_refused(client):
    seed_messages(client, 3)
    neha_ids = [f"wamid.NEHA{i}" for i in range(2)]
    webhook_ok(client, inbound(*[text("x", sender=NEHA, id=m, timestamp=T0 + i) for i, m in enumerate(neha_ids)],
                            wa_id=NEHA))
    error = assert_error(client.get(f"/api/messages/{RAVI}?before={neha_ids[1]}"), 400)
    assert "before" in error["errors"]
    error = assert_error(client.get(f"/api/messages/{RAVI}?before=wamid.NOPE"), 400)
    assert "before" in error["errors"]


# --- POST /api/messages --------------------------------------------------------------------------------------


def test_sending_a_message(client):
    webhook_ok(client, inbound(text("Where is my order?", id="wamid.Q", timestamp=T0), name="Ravi Kumar"))
    response = send(client, waId=RAVI, messageBody="It ships today.")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "success"
    sent = body["data"]
    assert sent["id"].startswith("wamid.APP_SIMULATION.")
    assert sent["status"] == "sent" and sent["direction"] == "outbound"
    assert sent["from"] == BUSINESS_NUMBER and sent["to"] == RAVI and sent["wa_id"] == RAVI
    assert sent["text"] == {"body": "It ships today."} and sent["type"] == "text"
    assert sent["contactName"] == "Ravi Kumar" and ISO_Z.match(sent["timestamp"])
    assert set(sent["statusTimestamps"]) == {"sent"}

    listed = get_ok(client, f"/api/messages/{RAVI}")["data"]
    assert [m["id"] for m in listed] == ["wamid.Q", sent["id"]]
    assert listed[-1] == sent
    row = get_ok(client, "/api/conversations")["data"][0]
    assert row["id"] == sent["id"] and row["text"]["body"] == "It ships today." and row["status"] == "sent"
    assert row["direction"] == "outbound"
    assert row["unreadCount"] == 0  # answering from the app reads the conversation


def test_sending_to_a_new_number_starts_a_conversation(client):
    response = send(client, waId="+15551234567", messageBody="Hello, new customer")
    assert response.status_code == 201
    rows = get_ok(client, "/api/conversations")["data"]
    assert [(r["wa_id"], r["contactName"], r["unreadCount"]) for r in rows] == [("15551234567", None, 0)]
    assert [m["text"]["body"] for m in get_ok(client, "/api/messages/15551234567")["data"]] == ["Hello, new customer"]


def test_a_message_body_is_kept_exactly(client):
    body = "  Line one\n\n  line two 🙂  "
    sent = send(client, waId=RAVI, messageBody=body).get_json()["data"]
    assert sent["text"]["body"] == body
    assert get_ok(client, f"/api/messages/{RAVI}")["data"][0]["text"]["body"] == body


def test_a_message_of_exactly_the_maximum_length_is_accepted(client):
    assert send(client, waId=RAVI, messageBody="x" * 4096).status_code == 201


def test_from_and_to_may_repeat_the_numbers(client):
    response = send(client, waId=RAVI, messageBody="hi", to=RAVI, **{"from": BUSINESS_NUMBER})
    assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"messageBody": "hi"}, "waId"),
        ({"waId": "abc", "messageBody": "hi"}, "waId"),
        ({"waId": "", "messageBody": "hi"}, "waId"),
        ({"waId": 919937320320, "messageBody": "hi"}, "waId"),
        ({"waId": {"$gt": ""}, "messageBody": "hi"}, "waId"),
        ({"waId": {"$ne": None}, "messageBody": "hi"}, "waId"),
        ({"waId": [RAVI], "messageBody": "hi"}, "waId"),
        ({"waId": RAVI}, "messageBody"),
        ({"waId": RAVI, "messageBody": ""}, "messageBody"),
        ({"waId": RAVI, "messageBody": " \n\t "}, "messageBody"),
        ({"waId": RAVI, "messageBody": "x" * 4097}, "messageBody"),
        ({"waId": RAVI, "messageBody": ["hi"]}, "messageBody"),
        ({"waId": RAVI, "messageBody": {"body": "hi"}}, "messageBody"),
        ({"waId": RAVI, "messageBody": None}, "messageBody"),
        ({"waId": RAVI, "messageBody": "hi", "to": NEHA}, "to"),
        ({"waId": RAVI, "messageBody": "hi", "to": {"$gt": ""}}, "to"),
        ({"waId": RAVI, "messageBody": "hi", "from": "me"}, "from"),
    ],
)
def test_an_invalid_message_is_refused_naming_the_field(client, body, field):
    error = assert_error(send(client, body), 400)
    assert field in error["errors"], error
    assert field in error["message"]
    assert Message.objects.count() == 0 and Conversation.objects.count() == 0


def test_every_bad_field_is_named_at_once(client):
    error = assert_error(send(client, {"waId": "abc", "messageBody": ""}), 400)
    assert set(error["errors"]) == {"waId", "messageBody"}


def test_operator_injection_finds_nothing_and_stores_nothing(client):
    webhook_ok(client, inbound(text("existing", id="wamid.EXISTING", timestamp=T0)))
    assert_error(send(client, {"waId": {"$gt": ""}, "messageBody": "to everyone?"}), 400)
    assert Message.objects.count() == 1
    assert [m["id"] for m in get_ok(client, f"/api/messages/{RAVI}")["data"]] == ["wamid.EXISTING"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_non_json_request_is_a_415(client, content_type):
    kwargs = {"data": f'{{"waId": "{RAVI}", "messageBody": "hi"}}'}
    if content_type:
        kwargs["content_type"] = content_type
    assert_error(client.post("/api/messages", **kwargs), 415)
    assert Message.objects.count() == 0


@pytest.mark.parametrize("data", [f'[{{"waId": "{RAVI}", "messageBody": "hi"}}]', '"hi"', "{not json", "", "null"])
def test_a_json_body_that_is_not_an_object_is_a_400(client, data):
    assert_error(client.post("/api/messages", data=data, content_type="application/json"), 400)
    assert Message.objects.count() == 0


# --- POST /api/conversations/<wa_id>/read ----------------------------------------------------------------------


def test_marking_a_conversation_read(client):
    webhook_ok(client, inbound(text("a", timestamp=T0), text("b", timestamp=T0 + 1)))
    webhook_ok(client, inbound(text("c", sender=NEHA, timestamp=T0 + 2), wa_id=NEHA, name="Neha"))
    counts = {r["wa_id"]: r["unreadCount"] for r in get_ok(client, "/api/conversations")["data"]}
    assert counts == {RAVI: 2, NEHA: 1}
    response = client.post(f"/api/conversations/{RAVI}/read")
    assert response.status_code == 200
    assert response.get_json()["data"]["unreadCount"] == 0 and response.get_json()["data"]["wa_id"] == RAVI
    counts = {r["wa_id"]: r["unreadCount"] for r in get_ok(client, "/api/conversations")["data"]}
    assert counts == {RAVI: 0, NEHA: 1}
    # again: still fine
    assert client.post(f"/api/conversations/{RAVI}/read").status_code == 200


def test_marking_an_unknown_or_invalid_conversation_read(client):
    assert_error(client.post("/api/conversations/15550009999/read"), 404)
    error = assert_error(client.post("/api/conversations/abc/read"), 400)
    assert "wa_id" in error["errors"]


# --- simulated delivery ----------------------------------------------------------------------------------------


def test_simulated_delivery_goes_through_the_webhook_path(make_app):
    client = make_app(SIMULATE_DELIVERY=True, SIMULATE_DELIVERED_AFTER=0.2, SIMULATE_READ_AFTER=0.5).test_client()
    response = send(client, waId=RAVI, messageBody="Your table is booked")
    assert response.status_code == 201
    sent = response.get_json()["data"]
    assert sent["status"] == "sent"
    seen_statuses = {"sent"}
    deadline = time.monotonic() + 10
    while True:
        item = get_ok(client, f"/api/messages/{RAVI}")["data"][0]
        seen_statuses.add(item["status"])
        if item["status"] == "read" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert item["id"] == sent["id"] and item["status"] == "read"
    assert set(item["statusTimestamps"]) == {"sent", "delivered", "read"}
    assert item["statusTimestamps"]["sent"] <= item["statusTimestamps"]["delivered"] <= item["statusTimestamps"]["read"]
    assert get_ok(client, "/api/conversations")["data"][0]["status"] == "read"
    deadline = time.monotonic() + 5
    while WebhookEvent.objects(outcome="processed").count() < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    events = list(WebhookEvent.objects.order_by("received_at"))
    assert [(e.source, e.outcome, e.signature) for e in events] == [("simulation", "processed", "not_checked")] * 2
    assert [e.result["statusesApplied"] for e in events] == [1, 1]
    assert [s["status"] for e in events for s in _statuses_in(e.raw_body)] == ["delivered", "read"]


def _statuses_in(body: bytes) -> list[dict[str, Any]]:
    import json

    return json.loads(body)["entry"][0]["changes"][0]["value"]["statuses"]


def test_without_simulation_a_sent_message_stays_sent(client):
    sent = send(client, waId=RAVI, messageBody="hello").get_json()["data"]
    webhook_ok(client, statuses(status(sent["id"], "delivered", timestamp=int(time.time()) + 1)))
    item = get_ok(client, f"/api/messages/{RAVI}")["data"][0]
    assert item["status"] == "delivered"
    assert WebhookEvent.objects(source="simulation").count() == 0
