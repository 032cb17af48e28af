"""Resolutions and handoffs counted from the conversation state changes the inbox publishes, through the
real write path: the AI answers, hands the conversation to a person, the agent answers and resolves; the
customer writes again and it is resolved again. And who may read the figures."""

from __future__ import annotations

import time
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient

from tests.helpers.auth import AGENT_EMAIL, make_agent, signed_in
from tests.helpers.http import webhook_ok
from tests.helpers.payloads import RAVI, inbound, text
from webapp.auth import tokens
from webapp.core.bus import bus
from webapp.core.clock import utcnow
from webapp.inbox import sending, writes
from webapp.inbox.documents import Conversation
from webapp.inbox.events import ConversationStateChanged


def around_today() -> str:
    today = utcnow().date()
    return f"/api/analytics?period=custom&from={today - timedelta(days=1)}&to={today}"


def test_resolutions_and_handoffs(app: Flask, client: FlaskClient) -> None:
    heard: list[ConversationStateChanged] = []
    webhook_ok(client, inbound(text("Is my order shipped?", timestamp=int(time.time()) - 300)))
    with app.app_context():
        bus().subscribe(ConversationStateChanged, heard.append)
        cid = Conversation.for_wa_id(RAVI).id
        writes.set_state(cid, by="ai", status="pending")  # the AI takes it
        sending.send_text(RAVI, "Let me check.", sent_by="ai")
        writes.set_state(cid, by="ai", status="open")  # … and hands it to a person
    assert client.post("/api/messages", json={"waId": RAVI, "messageBody": "It ships today."}).status_code == 201
    with app.app_context():
        writes.set_state(cid, by=AGENT_EMAIL, status="resolved", assignee=AGENT_EMAIL)
        bus().publish(heard[-1])  # the same change heard twice
    webhook_ok(client, inbound(text("Thanks!", timestamp=int(time.time()))))  # reopens it: a new cycle
    with app.app_context():
        writes.set_state(cid, by=AGENT_EMAIL, status="resolved")

    data = client.get(around_today()).get_json()["data"]
    totals = data["totals"]
    assert (totals["resolved"], totals["handoffs"], totals["answered"], totals["aiAnswered"]) == (2, 1, 1, 1)
    assert totals["handoffRate"] == 1.0 and totals["aiShare"] == 1.0
    assert 295 <= totals["aiFirstResponse"]["median"] <= 360
    assert 295 <= totals["firstResponse"]["median"] <= 360
    resolution = totals["resolution"]
    assert resolution["count"] == 2
    assert resolution["median"] < resolution["p90"] and 295 <= resolution["p90"] <= 360  # ~5 minutes, ~0
    agents = {row["agent"]: row for row in data["agents"]}
    assert agents[AGENT_EMAIL]["resolved"] == 2 and agents[AGENT_EMAIL]["messagesOut"] == 1
    assert agents["ai"]["messagesOut"] == 1 and agents["ai"]["aiFirstResponse"]["count"] == 1

    # The rebuild replays the recorded changes with the messages: the same figures
    assert app.test_cli_runner().invoke(args=["analytics", "rebuild"]).exit_code == 0
    rebuilt = client.get(around_today()).get_json()["data"]
    assert rebuilt["totals"] == data["totals"], (rebuilt["totals"], data["totals"])
    assert rebuilt == data


def test_admins_only(app: Flask) -> None:
    with app.app_context():
        make_agent()  # the first agent: an admin
        plain = make_agent("plain@example.test", "Plain Agent", role="agent")
        _, agent_token = tokens.issue("reports")
        _, admin_token = tokens.issue("dashboards", role="admin")
    assert signed_in(app).get("/api/analytics").status_code == 200
    assert signed_in(app).get("/analytics").status_code == 200
    client = app.test_client()
    client.sign_in(plain.email)  # type: ignore[attr-defined]
    refused = client.get("/api/analytics")
    assert refused.status_code == 403 and refused.get_json()["status"] == "error"
    assert client.get("/analytics").status_code == 403
    account = client.get("/account")
    assert account.status_code == 200 and 'aria-label="Pages"' in account.get_data(as_text=True)
    assert "Analytics" not in account.get_data(as_text=True)  # not in the top bar either
    anonymous = app.test_client(anonymous=True)
    assert anonymous.get("/api/analytics", headers={"Authorization": f"Bearer {agent_token}"}).status_code == 403
    assert anonymous.get("/api/analytics", headers={"Authorization": f"Bearer {admin_token}"}).status_code == 200
