"""GET /api/analytics: the figures from known conversations, counted once however often the events
come, and the same after `flask analytics rebuild`."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.helpers.analytics import (
    AGENT,
    EXPECTED_AGENTS,
    EXPECTED_TOTALS,
    FROM,
    KNOWN,
    TO,
    at,
    customer,
    reply,
    write_known,
)
from webapp.analytics import documents
from webapp.analytics.documents import DayRollup
from webapp.core import bus
from webapp.inbox.events import MessageStored
from webapp.inbox.writes import apply_events, publish

PERIOD = f"/api/analytics?period=custom&from={FROM}&to={TO}"


def figures(client: FlaskClient, url: str = PERIOD) -> dict:
    response = client.get(url)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


def test_the_figures_of_known_conversations(app: Flask, client: FlaskClient) -> None:
    write_known(app)
    data = figures(client)
    assert data["period"] == {"name": "custom", "from": FROM, "to": TO, "days": 2, "timezone": "UTC", "agent": None}
    assert data["totals"] == EXPECTED_TOTALS
    assert [(d["day"], d["messagesIn"], d["messagesOut"], d["newConversations"]) for d in data["daily"]] == [
        (FROM, 3, 3, 2), (TO, 2, 2, 1)]
    cells = data["heatmap"]["cells"]
    assert data["heatmap"]["counts"] == "received"
    assert (cells[0][9], cells[0][10], cells[1][14]) == (2, 1, 2)  # Monday 09h, 10h; Tuesday 14h
    assert sum(map(sum, cells)) == 5
    rows = {row["agent"]: row for row in data["agents"]}
    assert set(rows) == set(EXPECTED_AGENTS)
    for agent, expected in EXPECTED_AGENTS.items():
        assert {k: rows[agent][k] for k in expected} == expected, agent


def test_one_agent(app: Flask, client: FlaskClient) -> None:
    write_known(app)
    data = figures(client, f"{PERIOD}&agent={AGENT}")
    assert data["period"]["agent"] == AGENT
    assert data["totals"]["messagesOut"] == 2
    assert data["totals"]["firstResponse"] == {"count": 2, "median": 210.0, "p90": 300.0}
    assert data["heatmap"]["counts"] == "sent"
    assert (data["heatmap"]["cells"][0][9], data["heatmap"]["cells"][0][10]) == (1, 1)


def test_repeated_events_are_counted_once(app: Flask, client: FlaskClient) -> None:
    write_known(app)
    before = figures(client)
    with app.app_context():
        publish(apply_events(KNOWN))  # WhatsApp delivers them all again: duplicates, nothing new
        bus.publish(*(MessageStored(e.wamid, e.conversation_id) for e in KNOWN))  # the events published twice
    assert figures(client) == before


def test_rebuild_recomputes_the_same_figures(app: Flask, client: FlaskClient) -> None:
    # Messages only: the rebuild orders messages and state changes by when they happened here (a message's
    # received_at), which the known changes' made-up times are not (tests/analytics/test_state.py has both).
    write_known(app, changes=False)
    before = figures(client)
    with app.app_context():
        DayRollup._get_collection().update_one({"_id": FROM}, {"$set": {"in": 99}})  # damaged
    assert figures(client)["totals"]["messagesIn"] == 101
    result = app.test_cli_runner().invoke(args=["analytics", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "from 10 message(s)" in result.output
    assert figures(client) == before


def test_periods(app: Flask, client: FlaskClient) -> None:
    for period, days in (("today", 1), ("7d", 7), ("30d", 30)):
        data = figures(client, f"/api/analytics?period={period}")
        assert data["period"]["days"] == days and len(data["daily"]) == days
        assert data["totals"]["messagesIn"] == 0 and data["totals"]["firstResponse"]["median"] is None


def test_bad_queries_are_refused_by_name(client: FlaskClient) -> None:
    cases = {
        "period=week": "period",
        "period=custom": "from",
        "period=custom&from=2026-03-05&to=2026-03-01": "to",
        "period=custom&from=2026-13-01&to=2026-03-01": "from",
        "period=custom&from=2024-01-01&to=2026-03-01": "to",
        "period=7d&from=2026-03-01": "from",
        "limit=5": "limit",
    }
    for query, field in cases.items():
        response = client.get(f"/api/analytics?{query}")
        assert response.status_code == 400, query
        body = response.get_json()
        assert body["status"] == "error" and body["data"] is None and field in body["errors"], (query, body)


def test_needs_sign_in(app: Flask) -> None:
    response = app.test_client(anonymous=True).get("/api/analytics")
    assert response.status_code == 401


def test_a_conversation_the_business_starts_is_new_once(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        publish(apply_events([reply("wamid.T1", "919900022222", at(FROM, "08:00:00"), AGENT)]))  # a template
        publish(apply_events([customer("wamid.T2", "919900022222", at(FROM, "08:30:00"), "Dev")]))
    totals = figures(client)["totals"]
    assert (totals["newConversations"], totals["messagesIn"], totals["messagesOut"]) == (1, 1, 1)
    assert totals["answered"] == 0  # the customer's message waits for a reply


def test_durations_kept_are_bounded_and_still_counted(app: Flask, client: FlaskClient, monkeypatch) -> None:
    monkeypatch.setattr(documents, "DURATIONS_KEPT", 2)
    with app.app_context():
        for n, wa_id in enumerate(("919900033301", "919900033302", "919900033303")):
            publish(apply_events([customer(f"wamid.K{n}", wa_id, at(FROM, "12:00:00"), "K")]))
            publish(apply_events([reply(f"wamid.L{n}", wa_id, at(FROM, f"12:0{n + 1}:00"), AGENT)]))
        kept = DayRollup._get_collection().find_one({"_id": FROM})
    assert kept["frt"] == [60, 120] and kept["frt_n"] == 3
    assert figures(client)["totals"]["firstResponse"] == {"count": 3, "median": 90.0, "p90": 120.0}


def test_the_wait_starts_at_the_customers_earliest_message_whatever_order_they_come_in(
        app: Flask, client: FlaskClient) -> None:
    """A reply's first response time counts from the customer's first message of the wait: one delivered
    late moves the start back, one written later does not move it."""
    with app.app_context():
        for wamid, clock in (("wamid.W2", "10:05:00"), ("wamid.W3", "10:07:00"), ("wamid.W1", "10:00:00")):
            publish(apply_events([customer(wamid, "919900044444", at(FROM, clock), "Wren")]))
        publish(apply_events([reply("wamid.W4", "919900044444", at(FROM, "10:10:00"), AGENT)]))
    totals = figures(client)["totals"]
    assert totals["firstResponse"] == {"count": 1, "median": 600.0, "p90": 600.0}
    assert (totals["messagesIn"], totals["answered"]) == (3, 1)
