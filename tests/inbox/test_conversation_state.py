"""A conversation's status (open, pending, resolved) and assignee: one write function that tells the
event bus what changed, and a customer's new message reopens a resolved conversation."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers.http import webhook_ok
from tests.helpers.payloads import RAVI, inbound, now, text
from webapp.core.bus import bus
from webapp.inbox import writes
from webapp.inbox.documents import Conversation
from webapp.inbox.events import ConversationStateChanged


@pytest.fixture
def heard(app: Flask) -> list[ConversationStateChanged]:
    events: list[ConversationStateChanged] = []
    with app.app_context():
        bus().subscribe(ConversationStateChanged, events.append)
    return events


def conversation(client: FlaskClient) -> dict:
    return client.get("/api/conversations").get_json()["data"][0]


def test_status_and_assignee_change_once_and_show_in_the_api(
        app: Flask, client: FlaskClient, heard: list[ConversationStateChanged]) -> None:
    webhook_ok(client, inbound(text("Hello", timestamp=now(60))))
    listed = conversation(client)
    assert (listed["conversationStatus"], listed["assignee"]) == ("open", None)
    with app.app_context():
        cid = Conversation.for_wa_id(RAVI).id
        change = writes.set_state(cid, by="maria@example.test", status="resolved", assignee="maria@example.test")
        assert (change.previous_status, change.status, change.assignee) == ("open", "resolved", "maria@example.test")
        assert writes.set_state(cid, by="maria@example.test", status="resolved") is None  # nothing changed
        unassigned = writes.set_state(cid, by="maria@example.test", assignee=None)
        assert (unassigned.status, unassigned.previous_assignee, unassigned.assignee) == (
            "resolved", "maria@example.test", None)
        with pytest.raises(KeyError):
            writes.set_state("nobody:123456", by="x", status="open")
        with pytest.raises(ValueError):
            writes.set_state(cid, by="x", status="snoozed")
    assert [e.status for e in heard] == ["resolved", "resolved"]
    listed = conversation(client)
    assert (listed["conversationStatus"], listed["assignee"]) == ("resolved", None)


def test_a_new_message_reopens_a_resolved_conversation_with_its_assignee(
        app: Flask, client: FlaskClient, heard: list[ConversationStateChanged]) -> None:
    webhook_ok(client, inbound(text("Hello", timestamp=now(60))))
    with app.app_context():
        writes.set_state(Conversation.for_wa_id(RAVI).id, by="maria@example.test", status="resolved",
                         assignee="maria@example.test")
    webhook_ok(client, inbound(text("One more thing", timestamp=now(30))))
    webhook_ok(client, inbound(text("One more thing", timestamp=now(30))))  # delivered twice: reopened once
    listed = conversation(client)
    assert (listed["conversationStatus"], listed["assignee"]) == ("open", "maria@example.test")
    assert [(e.previous_status, e.status, e.by) for e in heard] == [("open", "resolved", "maria@example.test"),
                                                                  ("resolved", "open", "customer")]
