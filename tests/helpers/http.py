"""Talking to the app through Flask's test client: the webhook, the JSON envelope, the CLI."""

from __future__ import annotations

from typing import Any

from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.helpers.payloads import raw


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
