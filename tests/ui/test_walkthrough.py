"""The seed README's walk-through: Ravi Kumar writes, the business replies, Ravi reads it."""

from __future__ import annotations

from tests.helpers.app import BUSINESS_NUMBER
from tests.helpers.payloads import RAVI, status, text, value, wrapper_body

MSG_1 = "wamid.HBgMOTE5OTY3NTc4NzIwFQIAEhggMTIzQURFRjEyMzQ1Njc4OTA="
MSG_2 = "wamid.HBgMOTE5OTY3NTc4NzIwFQIAEhggNDc4NzZBQ0YxMjdCQ0VFOTk2NzA3MTI4RkZCNjYyMjc="


def test_ravi_message_reply_and_read_receipt(client):
    ravi = [(RAVI, "Ravi Kumar")]
    first = wrapper_body(value(contacts=ravi, messages=[
        text("Hi, I'd like to know more about your services.", id=MSG_1, timestamp=1754400000)]))
    reply = wrapper_body(value(contacts=ravi, messages=[
        text("Hi Ravi! Sure, I'd be happy to help you with that.", sender=BUSINESS_NUMBER, id=MSG_2,
             timestamp=1754400020)]), payload_id="conv1-msg2-api")
    receipt = wrapper_body(value(statuses=[status(MSG_2, "read", timestamp=1754400040)]),
                           payload_id="conv1-msg2-status")

    for body in (first, reply, receipt):
        response = client.post("/webhook", json=body)
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["status"] == "success"

    conversations = client.get("/api/conversations").get_json()["data"]
    assert len(conversations) == 1
    row = conversations[0]
    assert row["wa_id"] == RAVI and row["contactName"] == "Ravi Kumar"
    assert row["id"] == MSG_2 and row["direction"] == "outbound" and row["status"] == "read"
    assert row["text"]["body"].startswith("Hi Ravi!")
    assert row["timestamp"] == "2025-08-05T13:20:20Z"
    assert row["unreadCount"] == 1

    messages = client.get(f"/api/messages/{RAVI}").get_json()["data"]
    assert [m["id"] for m in messages] == [MSG_1, MSG_2]
    assert messages[0]["direction"] == "inbound" and messages[0]["from"] == RAVI
    assert messages[1]["direction"] == "outbound" and messages[1]["from"] == BUSINESS_NUMBER
    assert messages[1]["to"] == RAVI
    assert messages[1]["status"] == "read"
    assert messages[1]["statusTimestamps"]["read"] == "2025-08-05T13:20:40Z"
    # WhatsApp's own timestamp is never overwritten by the status's
    assert messages[1]["timestamp"] == "2025-08-05T13:20:20Z"
