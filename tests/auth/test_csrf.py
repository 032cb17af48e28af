"""CSRF: a change made with the session cookie needs the session's token (the page's meta tag,
sent as X-CSRFToken, or a form's csrf_token field); API tokens and the webhook do not."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from tests.helpers.auth import AGENT_EMAIL, TEST_PASSWORD, AgentClient, make_agent
from tests.helpers.payloads import RAVI, inbound, raw, text
from webapp.inbox.documents import Conversation, Message

META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


@pytest.fixture
def chat(client: AgentClient) -> AgentClient:
    """A signed-in client, with a message from Ravi in the inbox."""
    response = client.post("/webhook", data=raw(inbound(text("Hello"))), content_type="application/json", csrf=False)
    assert response.status_code == 200
    return client


def outbound_count() -> int:
    return Message.objects(direction="outbound").count()


@pytest.mark.parametrize("header", [None, "", "wrong-token"], ids=["missing", "empty", "wrong"])
def test_an_api_change_without_the_right_token_is_refused(chat: AgentClient, header: str | None) -> None:
    headers = {} if header is None else {"X-CSRFToken": header}
    sent = chat.post("/api/messages", json={"waId": RAVI, "messageBody": "forged"}, headers=headers, csrf=False)
    assert sent.status_code == 403 and sent.mimetype == "application/json"
    body = sent.get_json()
    assert body["status"] == "error" and "CSRF token" in body["message"]
    read = chat.post(f"/api/conversations/{RAVI}/read", headers=headers, csrf=False)
    assert read.status_code == 403
    assert outbound_count() == 0
    assert Conversation.objects.get().unread_count == 1


def test_the_right_token_is_accepted(chat: AgentClient) -> None:
    page = chat.get("/")
    token = META.search(page.text).group(1)  # the page carries the session's token
    sent = chat.post("/api/messages", json={"waId": RAVI, "messageBody": "real"}, headers={"X-CSRFToken": token},
                     csrf=False)
    assert sent.status_code == 201
    assert chat.post(f"/api/conversations/{RAVI}/read", headers={"X-CSRFToken": token}, csrf=False).status_code == 200
    assert outbound_count() == 1 and Conversation.objects.get().unread_count == 0


def test_another_sessions_token_is_refused(app: Flask, chat: AgentClient) -> None:
    other = app.test_client()
    assert other.csrf_token != chat.csrf_token
    response = chat.post("/api/messages", json={"waId": RAVI, "messageBody": "x"},
                         headers={"X-CSRFToken": other.csrf_token}, csrf=False)
    assert response.status_code == 403 and outbound_count() == 0


def test_the_composer_without_the_token_is_refused_in_the_composer(chat: AgentClient) -> None:
    refused = chat.post(f"/c/{RAVI}/messages", data={"body": "forged"}, headers={"HX-Request": "true"}, csrf=False)
    assert refused.status_code == 422 and refused.headers["HX-Retarget"] == "#composer-error"
    assert "CSRF token is missing or wrong" in refused.text and "reload the page" in refused.text
    assert outbound_count() == 0
    sent = chat.post(f"/c/{RAVI}/messages", data={"body": "real", "csrf_token": chat.csrf_token},
                     headers={"HX-Request": "true"}, csrf=False)
    assert sent.status_code == 200 and outbound_count() == 1


def test_signing_out_without_the_token_is_a_plain_error_page(chat: AgentClient) -> None:
    response = chat.post("/logout", csrf=False)
    assert response.status_code == 403 and response.mimetype == "text/html"
    assert "This page is out of date" in response.text and "<form" not in response.text
    assert chat.get("/").status_code == 200  # still signed in


def test_the_sign_in_form_needs_its_token(app: Flask) -> None:

    with app.app_context():
        make_agent()
    client = app.test_client(anonymous=True)
    client.get("/login")
    response = client.post("/login", data={"email": AGENT_EMAIL, "password": TEST_PASSWORD})
    assert response.status_code == 400 and "The sign-in form expired" in response.text
    assert client.get("/").status_code == 302


def test_a_bearer_call_needs_no_csrf_token(app: Flask, chat: AgentClient) -> None:
    result = app.test_cli_runner().invoke(args=["create-token", "script"])
    token = re.search(r"^(wai_\S+)$", result.output, re.MULTILINE).group(1)
    response = chat.post("/api/messages", json={"waId": RAVI, "messageBody": "by token"},
                         headers={"Authorization": f"Bearer {token}"}, csrf=False)
    assert response.status_code == 201 and response.get_json()["data"]["sentBy"] == "token:script"


def test_the_webhook_needs_neither_sign_in_nor_csrf(app: Flask) -> None:
    response = app.test_client(anonymous=True).post("/webhook", data=raw(inbound(text("Hi"))),
                                                    content_type="application/json")
    assert response.status_code == 200 and Message.objects.count() == 1


def test_reads_need_no_token(chat: AgentClient) -> None:
    assert chat.get("/api/conversations").status_code == 200
    assert chat.get(f"/c/{RAVI}", headers={"HX-Request": "true"}).status_code == 200
