"""POST /webhook takes JSON only: a body sent as another type is refused (415, in the envelope) and
nothing is stored."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.helpers.payloads import inbound, raw, text
from webapp.inbox.documents import Message
from webapp.webhooks.documents import WebhookEvent


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_a_body_not_sent_as_json_is_415_and_nothing_is_stored(client: FlaskClient, content_type: str | None) -> None:
    body = raw(inbound(text("Sent as the wrong type")))
    response = client.post("/webhook", data=body, **({"content_type": content_type} if content_type else {}))
    assert response.status_code == 415
    envelope = response.get_json()
    assert envelope["status"] == "error" and envelope["data"] is None and "application/json" in envelope["message"]
    with client.application.app_context():
        assert WebhookEvent.objects.count() == 0 and Message.objects.count() == 0


def test_json_with_a_charset_is_taken(client: FlaskClient) -> None:
    response = client.post("/webhook", data=raw(inbound(text("hi"))), content_type="application/json; charset=utf-8")
    assert response.status_code == 200, response.text
