"""Message templates against the local Graph API: `flask templates sync` stores the approved ones (every
page, removed ones gone), and a template goes out with its parameters, also outside the 24-hour window."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers.graph_api import PHONE_NUMBER_ID, TOKEN, WABA_ID, GraphAPI
from tests.helpers.http import webhook_ok
from tests.helpers.payloads import RAVI, inbound, text
from tests.helpers.wait import eventually
from webapp.whatsapp import message_types

ORDER_UPDATE = "Hi {{1}}, your order {{2}} is on its way."


def live_settings(graph_api: GraphAPI, **extra: Any) -> dict[str, Any]:
    return {"WHATSAPP_ACCESS_TOKEN": TOKEN, "WHATSAPP_API_BASE_URL": graph_api.url,
            "WHATSAPP_BUSINESS_ACCOUNT_ID": WABA_ID, "PHONE_NUMBER_ID": PHONE_NUMBER_ID,
            "SEND_RETRY_INTERVALS": (0.2, 0.2, 0.2), **extra}


def sync(app: Flask) -> Any:
    return app.test_cli_runner().invoke(args=["templates", "sync"])


@pytest.fixture
def live_app(make_app: Callable[..., Flask], graph_api: GraphAPI) -> Flask:
    graph_api.add_template("order_update", ORDER_UPDATE)
    graph_api.add_template("hello_world", "Hello! Thanks for contacting us.", category="MARKETING")
    app = make_app(**live_settings(graph_api))
    assert sync(app).exit_code == 0
    return app


def conversation_with(client: FlaskClient, seconds_ago: int) -> None:
    """Ravi wrote `seconds_ago` seconds ago."""
    webhook_ok(client, inbound(text("Where is my order?", id=f"wamid.RAVI{seconds_ago}",
                                    timestamp=int(time.time()) - seconds_ago)))


def messages(client: FlaskClient) -> list[dict[str, Any]]:
    return client.get(f"/api/messages/{RAVI}?limit=200").get_json()["data"]


def test_sync_stores_every_page_and_forgets_removed_templates(make_app, graph_api: GraphAPI):
    for number in range(104):  # the client asks for 100 a page: two pages
        graph_api.add_template(f"notice_{number:03}", f"Notice {number} for {{{{1}}}}.", language="en_US")
    graph_api.add_template("order_update", ORDER_UPDATE, language="pt_BR", category="UTILITY")
    graph_api.add_template("pending_review", "Not yet", status="PENDING")
    graph_api.add_template("with_image", "Look", components=[{"type": "HEADER", "format": "IMAGE"},
                                                               {"type": "BODY", "text": "Look at this, {{1}}"}])
    app = make_app(**live_settings(graph_api))
    client = app.test_client()

    result = sync(app)
    assert result.exit_code == 0, result.output
    assert "105 template(s) stored, 0 removed, 1 skipped" in result.output and "with_image:en_US" in result.output
    assert len(graph_api.requests_to("templates")) == 2
    listed = client.get("/api/templates").get_json()["data"]
    assert len(listed) == 105
    order = next(t for t in listed if t["name"] == "order_update")
    assert (order["language"], order["body"], order["parameterCount"], order["category"], order["status"]) == (
        "pt_BR", ORDER_UPDATE, 2, "UTILITY", "APPROVED")

    # Removed at Meta: gone here after the next sync.
    graph_api.templates[:] = [t for t in graph_api.templates if t["name"] not in ("notice_000", "notice_050")]
    result = sync(app)
    assert "103 template(s) stored, 2 removed" in result.output
    names = {t["name"] for t in client.get("/api/templates").get_json()["data"]}
    assert len(names) == 103 and "notice_000" not in names and "notice_050" not in names and "notice_103" in names


def test_sync_says_why_it_cannot_run(make_app, graph_api: GraphAPI):
    demo = sync(make_app())
    assert demo.exit_code != 0 and "Demo mode" in demo.output and "WHATSAPP_ACCESS_TOKEN" in demo.output
    no_account = sync(make_app(**live_settings(graph_api, WHATSAPP_BUSINESS_ACCOUNT_ID="")))
    assert no_account.exit_code != 0 and "WHATSAPP_BUSINESS_ACCOUNT_ID" in no_account.output
    graph_api.revoke_token()
    refused = sync(make_app(**live_settings(graph_api)))
    assert refused.exit_code != 0 and "WhatsApp did not list the templates" in refused.output


def test_a_template_goes_to_meta_with_its_parameters(live_app: Flask, graph_api: GraphAPI):
    client = live_app.test_client()
    conversation_with(client, 60)
    response = client.post("/api/messages/template", json={"waId": RAVI, "name": "order_update",
                                                           "language": "en_US", "parameters": ["Ravi", "#1042"]})
    assert response.status_code == 201, response.get_json()
    sent = response.get_json()["data"]
    rendered = "Hi Ravi, your order #1042 is on its way."
    assert sent["type"] == "template" and sent["status"] == "pending" and sent["preview"] == rendered
    assert sent["template"] == {"name": "order_update", "language": "en_US", "parameters": ["Ravi", "#1042"],
                                "text": rendered}
    (request,) = graph_api.wait_for(1)
    assert request.json == {
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": RAVI, "type": "template",
        "template": {"name": "order_update", "language": {"code": "en_US"},
                     "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ravi"},
                                                                    {"type": "text", "text": "#1042"}]}]}}
    eventually(lambda: next(m for m in messages(client) if m["id"] == sent["id"])["status"] == "sent")
    row = client.get("/api/conversations").get_json()["data"][0]
    assert row["preview"] == rendered


@pytest.mark.parametrize(("body", "status", "field", "words"), [
    ({"name": "order_update", "parameters": ["Ravi"]}, 400, "parameters", "takes 2 parameter(s), not 1"),
    ({"name": "order_update", "parameters": ["Ravi", "#1", "extra"]}, 400, "parameters", "not 3"),
    ({"name": "order_update", "parameters": ["Ravi", "  "]}, 400, "parameters[1]", "parameters[1]"),
    ({"name": "no_such_template", "parameters": []}, 404, "name", "no approved template 'no_such_template'"),
    ({"name": "order_update", "language": "de_DE", "parameters": ["a", "b"]}, 404, "name", "in 'de_DE'"),
    ({"name": "Order Update!", "parameters": []}, 400, "name", "Invalid"),
])
def test_a_wrong_template_or_parameter_count_is_refused_and_nothing_is_sent(live_app: Flask, graph_api: GraphAPI,
                                                                           body, status, field, words):
    client = live_app.test_client()
    conversation_with(client, 60)
    response = client.post("/api/messages/template", json={"waId": RAVI, "language": "en_US", **body})
    answer = response.get_json()
    assert response.status_code == status, answer
    assert answer["status"] == "error" and field in answer["errors"] and words in answer["message"]
    assert [m["type"] for m in messages(client)] == ["text"]
    assert graph_api.requests_to("send") == []


def test_outside_the_window_only_a_template_goes(live_app: Flask, graph_api: GraphAPI):
    client = live_app.test_client()
    conversation_with(client, 25 * 3600)
    refused = client.post("/api/messages", json={"waId": RAVI, "messageBody": "Hello?"})
    assert refused.status_code == 422 and refused.get_json()["errors"] == {"window": "closed"}
    response = client.post("/api/messages/template", json={"waId": RAVI, "name": "hello_world", "language": "en_US"})
    assert response.status_code == 201, response.get_json()
    (request,) = graph_api.wait_for(1)
    assert request.json["template"] == {"name": "hello_world", "language": {"code": "en_US"}}
    sent = eventually(lambda: (m := messages(client)[-1])["status"] == "sent" and m)
    assert sent["preview"] == "Hello! Thanks for contacting us." and sent["wamid"] == graph_api.sent_messages()[0].wamid


def test_a_template_can_be_sent_to_someone_who_never_wrote(live_app: Flask, graph_api: GraphAPI):
    client = live_app.test_client()
    response = client.post("/api/messages/template", json={"waId": RAVI, "name": "order_update",
                                                           "language": "en_US", "parameters": ["Ravi", "#7"]})
    assert response.status_code == 201, response.get_json()
    graph_api.wait_for(1)
    assert client.get("/api/conversations").get_json()["data"][0]["preview"] == "Hi Ravi, your order #7 is on its way."


HTMX = {"HX-Request": "true"}


def test_the_pages_sync_button_and_send_form(live_app: Flask, make_app, graph_api: GraphAPI):
    client = live_app.test_client()
    conversation_with(client, 25 * 3600)
    graph_api.add_template("welcome", "Welcome {{1}}!")
    synced = client.post(f"/c/{RAVI}/templates/sync", headers=HTMX)
    assert synced.status_code == 200 and "3 template(s) stored, 0 removed" in synced.text
    picker = client.get(f"/c/{RAVI}/templates?template=welcome:en_US").text
    assert 'name="p1"' in picker and 'name="p2"' not in picker and "Welcome {{1}}!" in picker

    missing = client.post(f"/c/{RAVI}/templates/send", data={"template": "welcome:en_US", "p1": " "}, headers=HTMX)
    assert missing.status_code == 422 and missing.headers["HX-Retarget"] == "#template-error"
    assert "Fill in {{1}}" in missing.text
    assert client.post(f"/c/{RAVI}/templates/send", data={"template": "welcome:en_US", "p1": "Ravi"}).status_code == 400
    assert graph_api.requests_to("send") == []
    sent = client.post(f"/c/{RAVI}/templates/send", data={"template": "welcome:en_US", "p1": "Ravi"}, headers=HTMX)
    assert sent.status_code == 200 and "Welcome Ravi!" in sent.text
    assert graph_api.wait_for(1)[0].json["template"]["name"] == "welcome"
    eventually(lambda: messages(client)[-1]["status"] == "sent")  # before another app reconnects the database

    demo = make_app().test_client()
    refused = demo.post(f"/c/{RAVI}/templates/sync", headers=HTMX)
    assert refused.status_code == 200 and "Demo mode" in refused.text
    without_csrf = client.post(f"/c/{RAVI}/templates/sync", headers=HTMX, csrf=False)
    assert without_csrf.status_code == 422 and "CSRF token" in without_csrf.text

    agent = live_app.test_client()  # not an admin: may send templates, not sync them
    agent.sign_in("sam@example.test", "Sam Agent")
    assert "Sync templates" not in agent.get(f"/c/{RAVI}/templates").text
    syncs = len(graph_api.requests_to("templates"))
    refused = agent.post(f"/c/{RAVI}/templates/sync", headers=HTMX)
    assert refused.status_code == 403 and "Only admins" in refused.text
    assert len(graph_api.requests_to("templates")) == syncs


def test_a_template_message_from_meta_without_our_text_is_previewed_by_name():
    assert message_types.preview("template", {"name": "order_update", "language": {"code": "en_US"}}) == (
        "Template order_update")
    assert message_types.display("template", {"name": "x", "text": "Hi Ravi"}).text == "Hi Ravi"
