"""Sending to WhatsApp for real: the app pointed at the local Graph API server (WHATSAPP_API_BASE_URL),
with an access token. What Meta receives, how the ticks move, and what an agent sees when it fails."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers.app import LiveServer
from tests.helpers.graph_api import PHONE_NUMBER_ID, TOKEN, WABA_ID, GraphAPI, status_error
from tests.helpers.http import api_message, assert_error, status_becomes, webhook_ok
from tests.helpers.payloads import RAVI, inbound, now, text, wamid
from tests.helpers.services import RedisServer, StartWorker
from tests.helpers.wait import eventually
from webapp.inbox.documents import PendingUpdate

StartServer = Callable[..., LiveServer]


def live_settings(graph_api: GraphAPI, **extra: Any) -> dict[str, Any]:
    return {"WHATSAPP_ACCESS_TOKEN": TOKEN, "WHATSAPP_API_BASE_URL": graph_api.url,
            "WHATSAPP_BUSINESS_ACCOUNT_ID": WABA_ID, "PHONE_NUMBER_ID": PHONE_NUMBER_ID,
            "SEND_RETRY_INTERVALS": (0.2, 0.2, 0.2), **extra}


@pytest.fixture
def live(make_app: Callable[..., Flask], graph_api: GraphAPI) -> FlaskClient:
    """A signed-in client of an app that sends through the local Graph API; Ravi wrote a minute ago."""
    client = make_app(**live_settings(graph_api)).test_client()
    graph_api.add_inbound_message("wamid.RAVI1")  # WhatsApp delivered it, so it knows its id
    webhook_ok(client, inbound(text("Is the blue one in stock?", id="wamid.RAVI1", timestamp=now(60))))
    return client


def send(client: FlaskClient, **body: Any) -> dict[str, Any]:
    response = client.post("/api/messages", json={"waId": RAVI, "messageBody": "Yes, it is!", **body})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["data"]


def test_a_reply_is_stored_pending_then_sent_to_meta_and_keeps_its_id(live: FlaskClient, graph_api: GraphAPI):
    sent = send(live)
    assert sent["status"] == "pending" and sent["wamid"] is None and sent["sentBy"] == "agent@example.test"
    assert status_becomes(live, RAVI, sent["id"], "sent")["text"]["body"] == "Yes, it is!"
    (request,) = graph_api.requests_to("send")
    assert request.json == {"messaging_product": "whatsapp", "recipient_type": "individual", "to": RAVI,
                            "type": "text", "text": {"body": "Yes, it is!", "preview_url": False}}
    meta_id = graph_api.sent_messages()[0].wamid
    assert api_message(live, RAVI, sent["id"])["wamid"] == meta_id

    # Meta's status webhooks name its wamid; the message keeps the id the API gave first.
    for status in ("delivered", "read"):
        body = graph_api.status_body(meta_id, status, RAVI)
        assert webhook_ok(live, body)["statusesApplied"] == 1
    shown = api_message(live, RAVI, sent["id"])
    assert shown["status"] == "read" and set(shown["statusTimestamps"]) == {"sent", "delivered", "read"}
    row = live.get("/api/conversations").get_json()["data"][0]
    assert (row["id"], row["status"]) == (sent["id"], "read")


def test_a_status_that_comes_before_the_send_call_returns_is_not_lost(start_server: StartServer,
                                                                     graph_api: GraphAPI) -> None:
    server = start_server(**live_settings(graph_api))
    graph_api.webhook_url = f"{server.url}/webhook"
    graph_api.auto_statuses(sent=True, sent_before_response=True, delivered_after=0.1, read_after=0.3)
    server.post_webhook(inbound(text("Hello?", id=wamid(), timestamp=now(60))))
    response = server.api_post("/api/messages", {"waId": RAVI, "messageBody": "Hi Ravi"})
    message_id = response["data"]["id"]

    def read() -> bool:
        page = server.api_get(f"/api/messages/{RAVI}")["data"]
        return any(m["id"] == message_id and m["status"] == "read" for m in page)

    eventually(read, timeout=10)
    assert graph_api.wait_for_deliveries(3)  # sent (before the answer), delivered, read: all reached the app
    assert server.api_get(f"/api/messages/{RAVI}")["data"][-1]["wamid"] == graph_api.sent_messages()[0].wamid


def test_a_reply_quotes_by_meta_id_and_a_reaction_names_its_target(live: FlaskClient, graph_api: GraphAPI):
    quoted = send(live, replyTo="wamid.RAVI1")
    status_becomes(live, RAVI, quoted["id"], "sent")
    assert graph_api.requests_to("send")[0].json["context"] == {"message_id": "wamid.RAVI1"}
    # A reply to the business's own message names Meta's id for it, not ours.
    second = send(live, replyTo=quoted["id"])
    status_becomes(live, RAVI, second["id"], "sent")
    assert graph_api.requests_to("send")[1].json["context"] == {"message_id": graph_api.sent_messages()[0].wamid}

    response = live.post("/api/messages/wamid.RAVI1/reaction", json={"emoji": "👍"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["data"]["reactions"][0]["emoji"] == "👍"
    eventually(lambda: len(graph_api.requests_to("send")) == 3)
    assert graph_api.requests_to("send")[2].json["reaction"] == {"message_id": "wamid.RAVI1", "emoji": "👍"}
    removed = live.post("/api/messages/wamid.RAVI1/reaction", json={"emoji": ""}).get_json()["data"]
    assert removed["reactions"] == []
    eventually(lambda: len(graph_api.requests_to("send")) == 4)
    assert graph_api.requests_to("send")[3].json["reaction"]["emoji"] == ""

    refused = live.post("/api/messages", json={"waId": RAVI, "messageBody": "x", "replyTo": "wamid.NOPE"})
    assert assert_error(refused, 400)["errors"] == {"replyTo": "is not a message of this conversation"}


def test_throughput_and_server_errors_are_retried_until_sent(live: FlaskClient, graph_api: GraphAPI) -> None:
    graph_api.fail_next("send", 429, 130429)
    graph_api.fail_next("send", 503)
    sent = send(live)
    status_becomes(live, RAVI, sent["id"], "sent")
    assert len(graph_api.requests_to("send")) == 3
    assert len(graph_api.sent_messages()) == 1


def test_a_longer_retry_after_than_the_next_interval_is_waited_for(live: FlaskClient, graph_api: GraphAPI) -> None:
    graph_api.fail_next("send", 429, 130429, retry_after=2)  # the next interval is 0.2 s here
    sent = send(live)
    status_becomes(live, RAVI, sent["id"], "sent", timeout=10)
    first, second = graph_api.requests_to("send")
    assert second.received_at - first.received_at >= 2


def test_a_permanent_error_is_a_red_tick_with_meta_code_and_a_reason_then_retry_sends(live: FlaskClient,
                                                                                       graph_api: GraphAPI):
    graph_api.fail_next("send", 400, 131026)
    sent = send(live)
    failed = status_becomes(live, RAVI, sent["id"], "failed")
    assert failed["error"]["code"] == 131026
    assert "could not deliver" in failed["error"]["details"]
    assert len(graph_api.requests_to("send")) == 1  # not retried: it would fail the same way

    again = live.post(f"/api/messages/{sent['id']}/retry")
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["data"]["status"] == "pending"
    status_becomes(live, RAVI, sent["id"], "sent")
    assert api_message(live, RAVI, sent["id"])["error"] is None
    assert assert_error(live.post(f"/api/messages/{sent['id']}/retry"), 400)["message"].startswith("Only a failed")


def test_when_every_try_fails_the_message_ends_failed(live: FlaskClient, graph_api: GraphAPI) -> None:
    graph_api.fail_next("send", 500, times=10)
    sent = send(live)
    failed = status_becomes(live, RAVI, sent["id"], "failed", timeout=8)
    assert len(graph_api.requests_to("send")) == 4  # the first try and three retries
    assert failed["error"]["details"]


def test_a_failed_status_webhook_for_a_sent_message_shows_the_reason(live: FlaskClient, graph_api: GraphAPI):
    sent = send(live)
    status_becomes(live, RAVI, sent["id"], "sent")
    meta_id = graph_api.sent_messages()[0].wamid
    webhook_ok(live, graph_api.status_body(meta_id, "failed", RAVI, errors=[status_error(131047, "window")]))
    failed = api_message(live, RAVI, sent["id"])
    assert (failed["status"], failed["error"]["code"]) == ("failed", 131047)


def test_a_refused_token_stops_sending_and_says_so_once(live: FlaskClient, graph_api: GraphAPI) -> None:
    graph_api.revoke_token()
    first = send(live)
    failed = status_becomes(live, RAVI, first["id"], "failed")
    assert "access token" in failed["error"]["details"]
    # Nothing more goes to Meta: the API says why, and so do the page and /readyz.
    refused = live.post("/api/messages", json={"waId": RAVI, "messageBody": "again"})
    assert "access token" in assert_error(refused, 503)["message"]
    assert len(graph_api.requests_to("send")) == 1
    assert "access token" in live.get("/").get_data(as_text=True)
    ready = live.get("/readyz").get_json()
    assert ready["data"]["whatsapp"] == "access token refused"


def test_outside_the_24_hour_window_free_form_text_is_refused_and_nothing_is_sent(
        make_app: Callable[..., Flask], graph_api: GraphAPI) -> None:
    client = make_app(**live_settings(graph_api)).test_client()
    webhook_ok(client, inbound(text("Thanks!", id="wamid.OLD", timestamp=int(time.time()) - 25 * 3600)))
    refused = client.post("/api/messages", json={"waId": RAVI, "messageBody": "Hello again"})
    body = assert_error(refused, 422)
    assert "24-hour customer-service window is closed" in body["message"] and body["errors"] == {"window": "closed"}
    never = client.post("/api/messages", json={"waId": "447700900999", "messageBody": "Hello"})
    assert "has not written yet" in assert_error(never, 422)["message"]
    time.sleep(0.3)
    assert graph_api.requests_to("send") == []


def test_demo_mode_sends_nothing_and_says_so(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    assert "Demo mode: replies are not sent to WhatsApp" in page
    assert client.get("/readyz").get_json()["data"]["whatsapp"] == "demo mode"
    assert PendingUpdate.objects.count() == 0


def test_marking_read_tells_whatsapp_about_the_latest_message(live: FlaskClient, graph_api: GraphAPI) -> None:
    graph_api.add_inbound_message("wamid.RAVI2")
    webhook_ok(live, inbound(text("And the red one?", id="wamid.RAVI2", timestamp=now(90))))
    assert live.get(f"/c/{RAVI}").status_code == 200  # showing the chat changes nothing
    assert live.get("/api/conversations").get_json()["data"][0]["unreadCount"] == 2
    assert graph_api.read_receipts() == []

    assert live.post(f"/api/conversations/{RAVI}/read").status_code == 200
    eventually(lambda: len(graph_api.read_receipts()) == 1)
    assert graph_api.read_receipts()[0]["message_id"] == "wamid.RAVI2"
    assert "typing_indicator" not in graph_api.read_receipts()[0]
    # Already read: nothing more goes to WhatsApp.
    live.post(f"/api/conversations/{RAVI}/read")
    time.sleep(0.3)
    assert len(graph_api.read_receipts()) == 1


def test_typing_shows_the_indicator_at_most_every_20_seconds(live: FlaskClient, graph_api: GraphAPI) -> None:
    headers = {"HX-Request": "true"}
    assert live.post(f"/c/{RAVI}/typing", headers=headers).status_code == 204
    assert live.post(f"/c/{RAVI}/typing", headers=headers).status_code == 204
    eventually(lambda: len(graph_api.read_receipts()) == 1)
    time.sleep(0.3)
    (receipt,) = graph_api.read_receipts()
    assert receipt["message_id"] == "wamid.RAVI1" and receipt["typing_indicator"] == {"type": "text"}


def test_with_redis_a_worker_process_sends_and_retries(start_server: StartServer, start_worker: StartWorker,
                                                       redis_server: RedisServer, graph_api: GraphAPI) -> None:
    """The Procfile's layout: the web process only stores and queues; a `flask worker` sends to Meta."""
    live = {**live_settings(graph_api), "REDIS_URL": redis_server.url}
    live.pop("SEND_RETRY_INTERVALS")  # the worker reads its settings from the environment: Meta's real waits
    server = start_server(**live)
    graph_api.webhook_url = f"{server.url}/webhook"
    graph_api.auto_statuses(sent=True, delivered_after=0.2)
    server.post_webhook(inbound(text("Hello?", id=wamid(), timestamp=now(60))))
    graph_api.fail_next("send", 503)
    message_id = server.api_post("/api/messages", {"waId": RAVI, "messageBody": "Hi Ravi"})["data"]["id"]
    time.sleep(1)
    assert graph_api.requests_to("send") == []  # nothing is sent from the web process

    worker = start_worker(**live)

    def delivered() -> bool:
        page = server.api_get(f"/api/messages/{RAVI}")["data"]
        return any(m["id"] == message_id and m["status"] == "delivered" for m in page)

    eventually(delivered, timeout=20)  # the 503, then the retry 6 s later (Meta's pair-rate wait)
    assert len(graph_api.requests_to("send")) == 2 and len(graph_api.sent_messages()) == 1
    assert "send_message" in worker.log()
    # Meta asks for a longer wait than the job's next retry interval: the worker waits that long
    graph_api.fail_next("send", 429, 130429, retry_after=9)
    second_id = server.api_post("/api/messages", {"waId": RAVI, "messageBody": "And again"})["data"]["id"]
    eventually(lambda: len(graph_api.requests_to("send")) == 4, timeout=25)
    refused, accepted = graph_api.requests_to("send")[2:]
    assert accepted.json["text"]["body"] == "And again" and accepted.received_at - refused.received_at >= 9
    assert any(m["id"] == second_id for m in server.api_get(f"/api/messages/{RAVI}")["data"])
