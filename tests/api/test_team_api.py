"""The team's API: PATCH a conversation's status and assignee, the list filters and their counts, and
canned replies (admins manage them)."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.helpers.auth import AGENT_EMAIL, make_agent, token_headers
from tests.helpers.http import assert_error, get_ok, run_cli, webhook_ok
from tests.helpers.payloads import NEHA, RAVI, inbound, now, text
from webapp.auth import accounts
from webapp.team import counts as team_counts

MARIA = "maria@example.test"
SAM = "sam@example.test"
FILTERS = ("mine", "unassigned", "all", "unread", "resolved")


def listed(client: FlaskClient, list_filter: str) -> list[str]:
    return [c["wa_id"] for c in get_ok(client, f"/api/conversations?filter={list_filter}")["data"]]


def counts(client: FlaskClient) -> dict[str, int]:
    return get_ok(client, "/api/conversations/counts")["data"]


def test_patch_resolves_and_assigns_and_answers_the_conversation(app: Flask, client: FlaskClient) -> None:
    webhook_ok(client, inbound(text("Hello", timestamp=now())))
    with app.app_context():
        make_agent(MARIA, "Maria Lopez")
    response = client.patch(f"/api/conversations/{RAVI}", json={"status": "resolved", "assignee": "Maria@Example.test"})
    assert response.status_code == 200, response.get_json()
    data = response.get_json()["data"]
    assert (data["wa_id"], data["conversationStatus"], data["assignee"]) == (RAVI, "resolved", MARIA)
    # one field at a time; the other stays
    data = client.patch(f"/api/conversations/{RAVI}", json={"status": "open"}).get_json()["data"]
    assert (data["conversationStatus"], data["assignee"]) == ("open", MARIA)
    data = client.patch(f"/api/conversations/{RAVI}", json={"assignee": None}).get_json()["data"]
    assert (data["conversationStatus"], data["assignee"]) == ("open", None)
    # an API token may change it too
    response = client.patch(f"/api/conversations/{RAVI}", json={"status": "pending"}, headers=token_headers(app))
    assert response.get_json()["data"]["conversationStatus"] == "pending"


def test_patch_refuses_a_bad_status_or_assignee_naming_the_field(app: Flask, client: FlaskClient) -> None:
    webhook_ok(client, inbound(text("Hello", timestamp=now())))
    with app.app_context():
        make_agent(MARIA, "Maria Lopez")
        make_agent(SAM, "Sam Doe")
        accounts.set_active(SAM, False)
    url = f"/api/conversations/{RAVI}"
    assert "status" in assert_error(client.patch(url, json={"status": "snoozed"}), 400)["errors"]
    assert "status" in assert_error(client.patch(url, json={"status": None}), 400)["errors"]
    assert "status" in assert_error(client.patch(url, json={"status": 3}), 400)["errors"]
    body = assert_error(client.patch(url, json={"assignee": "nobody@example.test"}), 400)
    assert body["errors"] == {"assignee": "must be an active agent's email, or null"}
    assert "assignee" in assert_error(client.patch(url, json={"assignee": SAM}), 400)["errors"]  # switched off
    assert "assignee" in assert_error(client.patch(url, json={"assignee": {"$ne": ""}}), 400)["errors"]
    assert "assignee" in assert_error(client.patch(url, json={"assignee": ["a"]}), 400)["errors"]
    assert "asignee" in assert_error(client.patch(url, json={"asignee": MARIA}), 400)["errors"]
    assert_error(client.patch(url, json={}), 400)
    assert_error(client.patch("/api/conversations/15550009999", json={"status": "resolved"}), 404)
    assert_error(client.patch(url, data="status=resolved", content_type="application/x-www-form-urlencoded"), 415)
    # nothing was half-written
    conversation = get_ok(client, "/api/conversations")["data"][0]
    assert (conversation["conversationStatus"], conversation["assignee"]) == ("open", None)
    assert_error(client.patch(url, json={"status": "resolved"}, csrf=False), 403)  # the cookie needs CSRF


def test_filters_list_and_count_what_each_agent_sees(app: Flask, client: FlaskClient) -> None:
    webhook_ok(client, inbound(text("Hello", timestamp=now())))
    webhook_ok(client, inbound(text("Hi there", timestamp=now(5), sender=NEHA), name="Neha", wa_id=NEHA))
    with app.app_context():
        make_agent(MARIA, "Maria Lopez")
    assert counts(client) == {"mine": 0, "unassigned": 2, "all": 2, "unread": 2, "resolved": 0}
    client.patch(f"/api/conversations/{RAVI}", json={"assignee": AGENT_EMAIL})
    client.patch(f"/api/conversations/{NEHA}", json={"assignee": MARIA, "status": "resolved"})
    client.post(f"/api/conversations/{NEHA}/read")
    assert {f: listed(client, f) for f in FILTERS} == {
        "mine": [RAVI], "unassigned": [], "all": [NEHA, RAVI], "unread": [RAVI], "resolved": [NEHA]}
    assert counts(client) == {"mine": 1, "unassigned": 0, "all": 2, "unread": 1, "resolved": 1}
    # Maria's view of the same inbox
    maria = app.test_client()
    maria.sign_in(MARIA, "Maria Lopez")
    assert counts(maria)["mine"] == 0  # hers is resolved
    # the customer writes again: reopened, still Maria's, unread
    webhook_ok(client, inbound(text("One more thing", timestamp=now(10), sender=NEHA), name="Neha", wa_id=NEHA))
    assert listed(maria, "mine") == [NEHA]
    assert counts(maria) == {"mine": 1, "unassigned": 0, "all": 2, "unread": 2, "resolved": 0}
    # a program's token has no Mine
    response = client.get("/api/conversations?filter=mine", headers=token_headers(app))
    assert response.get_json()["data"] == []
    assert "filter" in assert_error(client.get("/api/conversations?filter=snoozed"), 400)["errors"]


def test_counts_are_counters_not_a_scan(app: Flask, client: FlaskClient) -> None:
    for n in range(5):
        webhook_ok(client, inbound(text(f"Hello {n}", timestamp=now(n), sender=f"91990000{n:02d}"), name=f"C{n}",
                                   wa_id=f"91990000{n:02d}"))
    assert counts(client)["all"] == 5
    # the counters were built from the changes: rebuilding them from a full pass gives the same numbers
    with app.app_context():
        kept = team_counts.all_counts()
        assert team_counts.rebuild() == {k: v for k, v in kept.items() if v}


def test_canned_replies_admins_manage_agents_read(app: Flask, client: FlaskClient) -> None:
    # the test agent is the first one: an admin
    response = client.post("/api/canned-replies", json={"shortcut": "thanks", "text": "Thank you for writing!"})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["data"]["shortcut"] == "thanks"
    assert "shortcut" in assert_error(client.post("/api/canned-replies", json={"shortcut": "thanks", "text": "x"}),
                                      409)["errors"]
    assert "shortcut" in assert_error(client.post("/api/canned-replies", json={"shortcut": "Two words", "text": "x"}),
                                      400)["errors"]
    assert "text" in assert_error(client.post("/api/canned-replies", json={"shortcut": "x"}), 400)["errors"]
    agent = app.test_client()
    agent.sign_in(MARIA, "Maria Lopez")  # a plain agent
    assert [r["shortcut"] for r in get_ok(agent, "/api/canned-replies")["data"]] == ["thanks"]
    assert_error(agent.post("/api/canned-replies", json={"shortcut": "hi", "text": "Hi!"}), 403)
    assert_error(agent.delete("/api/canned-replies/thanks"), 403)
    assert_error(client.delete("/api/canned-replies/nope"), 404)
    assert get_ok(client, "/api/canned-replies")["data"][0]["text"] == "Thank you for writing!"
    response = client.delete("/api/canned-replies/thanks")
    assert response.status_code == 200 and response.get_json()["data"] == []


def test_flask_team_recount_counts_again(app: Flask, client: FlaskClient) -> None:
    webhook_ok(client, inbound(text("Hello", timestamp=now())))
    result = run_cli(app, "team", "recount")
    assert result.exit_code == 0 and "all 1" in result.output and "unread 1" in result.output
    assert counts(client)["all"] == 1
