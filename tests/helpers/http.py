"""Talking to the app through Flask's test client: the webhook, the JSON envelope, the CLI."""

from __future__ import annotations

from typing import Any

from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.helpers.payloads import raw
from tests.helpers.wait import eventually


def post_webhook(client: FlaskClient, body: Any, **headers: str) -> TestResponse:
    """POST a webhook body (a dict, or bytes/str sent as they are)."""
    data = body if isinstance(body, bytes | str) else raw(body)
    return client.post("/webhook", data=data, content_type="application/json", headers=headers)


def webhook_ok(client: FlaskClient, body: Any) -> dict[str, Any]:
    """POST a webhook body that must be stored and processed; its result (`data`)."""
    response = post_webhook(client, body)
    assert response.status_code == 200, response.get_json()
    payload = response.get_json()
    assert payload["status"] == "success" and payload["data"]["outcome"] == "processed", payload
    return payload["data"]


def get_ok(client: FlaskClient, url: str) -> dict[str, Any]:
    """GET that must succeed: the whole envelope."""
    response = client.get(url)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "success"
    return body


def assert_error(response: TestResponse, status: int) -> dict[str, Any]:
    """An error in the JSON envelope: `status`, `data: null` and a message a person can read."""
    assert response.status_code == status, response.data
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["status"] == "error" and body["data"] is None and body["message"]
    return body


def run_cli(app: Flask, *args: str) -> Result:
    """A `flask` command, run in this process against `app`."""
    return app.test_cli_runner().invoke(args=list(args))


def api_message(client: FlaskClient, wa_id: str, message_id: str) -> dict[str, Any]:
    """One message as GET /api/messages/<wa_id> shows it."""
    found = [m for m in client.get(f"/api/messages/{wa_id}?limit=200").get_json()["data"] if m["id"] == message_id]
    assert len(found) == 1, found
    return found[0]


def status_becomes(client: FlaskClient, wa_id: str, message_id: str, status: str,
                   timeout: float = 8.0) -> dict[str, Any]:
    """Wait until the message's tick is `status` (a job moves it); the message then."""
    return eventually(lambda: (m := api_message(client, wa_id, message_id))["status"] == status and m,
                      timeout=timeout)

