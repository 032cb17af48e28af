"""The team's page routes through the Flask client: the header's state form, notes, drafts, the contact
panel and the canned replies page (admins only), with what each refuses."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers.auth import make_agent
from tests.helpers.http import get_ok, webhook_ok
from tests.helpers.payloads import RAVI, inbound, message, now, text
from webapp.inbox import queries
from webapp.inbox.documents import Conversation
from webapp.team.documents import Note

HX = {"HX-Request": "true"}
MARIA = "maria@example.test"


def conversation(client: FlaskClient) -> dict:
    return get_ok(client, "/api/conversations")["data"][0]


def test_the_header_resolves_reopens_and_assigns(app: Flask, client: FlaskClient) -> None:
    webhook_ok(client, inbound(text("Hello", timestamp=now())))
    with app.app_context():
        make_agent(MARIA, "Maria Lopez")
    page = client.get(f"/c/{RAVI}").get_data(as_text=True)
    assert 'name="status" value="resolved"' in page and ">Maria Lopez</option>" in page
    answer = client.post(f"/c/{RAVI}/state", data={"status": "resolved"}, headers=HX)
    assert answer.status_code == 200 and 'value="open"' in answer.get_data(as_text=True)  # Reopen now
    client.post(f"/c/{RAVI}/state", data={"assignee": MARIA}, headers=HX)
    assert (conversation(client)["conversationStatus"], conversation(client)["assignee"]) == ("resolved", MARIA)
    assert client.post(f"/c/{RAVI}/state", data={"assignee": "nobody@example.test"}, headers=HX).status_code == 422
    assert client.post(f"/c/{RAVI}/state", data={"status": "snoozed"}, headers=HX).status_code == 422
    assert client.post(f"/c/{RAVI}/state", data={"status": "open"}).status_code == 400  # not from the page
    client.post(f"/c/{RAVI}/state", data={"assignee": "", "status": "open"}, headers=HX)
    assert (conversation(client)["conversationStatus"], conversation(client)["assignee"]) == ("open", None)
    # the list's filters on the page
    assert 'data-count="unassigned">1<' in client.get("/").get_data(as_text=True)
    assert "No chats here." in client.get("/ui/conversations?filter=resolved").get_data(as_text=True)
    assert f'data-wa-id="{RAVI}"' in client.get("/ui/conversations?filter=unassigned").get_data(as_text=True)
    assert f'data-wa-id="{RAVI}"' in client.get("/?filter=whatever").get_data(as_text=True)  # unknown: all


def test_notes_are_stored_for_agents_only(app: Flask, client: FlaskClient) -> None:
    webhook_ok(client, inbound(text("Hello", timestamp=now())))
    answer = client.post(f"/c/{RAVI}/notes", data={"text": "Call back after 5"}, headers=HX)
    assert answer.status_code == 200 and "Call back after 5" in answer.get_data(as_text=True)
    assert client.post(f"/c/{RAVI}/notes", data={"text": "  "}, headers=HX).status_code == 422
    assert client.post(f"/c/{RAVI}/notes", data={"text": "x"}).status_code == 400
    with app.app_context():
        assert [n.text for n in Note.objects] == ["Call back after 5"]
        assert Conversation.for_wa_id(RAVI).last_message.preview == "Hello"  # not a message
    assert "Call back after 5" in client.get(f"/c/{RAVI}").get_data(as_text=True)
    assert [m["type"] for m in get_ok(client, f"/api/messages/{RAVI}")["data"]] == ["text"]


def test_drafts_are_per_agent(app: Flask, client: FlaskClient) -> None:
    webhook_ok(client, inbound(text("Hello", timestamp=now())))
    assert client.put(f"/c/{RAVI}/draft", data={"text": "Half a reply"}).status_code == 204
    assert 'data-draft="Half a reply"' in client.get(f"/c/{RAVI}").get_data(as_text=True)
    assert client.put(f"/c/{RAVI}/draft", data={"text": "x"}, csrf=False).status_code == 403
    other = app.test_client()
    other.sign_in(MARIA, "Maria Lopez")
    assert 'data-draft=""' in other.get(f"/c/{RAVI}").get_data(as_text=True)
    client.post(f"/c/{RAVI}/messages", data={"body": "Sent now"}, headers=HX)
    assert 'data-draft=""' in client.get(f"/c/{RAVI}").get_data(as_text=True)


def test_the_contact_panel_and_the_canned_page(app: Flask, client: FlaskClient) -> None:
    webhook_ok(client, inbound(text("Hello", timestamp=now())))
    panel = client.get(f"/c/{RAVI}/contact", headers=HX).get_data(as_text=True)
    assert "Ravi Kumar" in panel and "+919937320320" in panel and "No media shared yet." in panel
    assert client.get("/settings/canned").status_code == 200  # the first agent: an admin
    answer = client.post("/settings/canned", data={"shortcut": "hi", "text": "Hello!"})
    assert answer.status_code == 302
    assert client.post("/settings/canned", data={"shortcut": "Hi There", "text": "x"}).status_code == 400
    agent = app.test_client()
    agent.sign_in(MARIA, "Maria Lopez")
    assert agent.get("/settings/canned").status_code == 403
    assert agent.post("/settings/canned", data={"shortcut": "yo", "text": "x"}).status_code == 403
    assert agent.post("/settings/canned/hi/delete").status_code == 403
    assert client.post("/settings/canned/hi/delete").status_code == 302
    assert get_ok(client, "/api/canned-replies")["data"] == []


def test_the_contact_panel_lists_the_latest_files_from_the_timeline(client: FlaskClient,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Newest first, at most 24, read from the chat's latest bubbles (a walk of its timeline by `_id`)."""
    bodies = []
    for n in range(30):
        bodies.append(message("document", {"id": f"media.{n}", "filename": f"invoice-{n}.pdf",
                                           "mime_type": "application/pdf"}, id=f"wamid.DOC{n}", timestamp=now(2 * n)))
        bodies.append(text(f"about invoice {n}", id=f"wamid.T{n}", timestamp=now(2 * n + 1)))
    for start in range(0, 60, 20):
        webhook_ok(client, inbound(*bodies[start:start + 20]))
    panel = client.get(f"/c/{RAVI}/contact", headers=HX).get_data(as_text=True)
    names = re.findall(r"invoice-(\d+)\.pdf", panel.split("Shared media")[1])
    assert names == [str(n) for n in range(29, 5, -1)]  # the 24 latest, newest first

    monkeypatch.setattr(queries, "SHARED_FILES_WITHIN", 10)  # only the latest ~10 bubbles (a chunk of 25) are read
    panel = client.get(f"/c/{RAVI}/contact", headers=HX).get_data(as_text=True)
    names = re.findall(r"invoice-(\d+)\.pdf", panel.split("Shared media")[1])
    assert names and len(names) < 24 and names[0] == "29"
