"""Leads from conversations: made when a customer shows intent, details proposed and confirmed or
discarded by an agent, stages with their history, notes, the list's filters, and the CSV export."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.helpers.http import assert_error, webhook_ok
from tests.helpers.payloads import RAVI, inbound, now, text
from tests.helpers.wait import eventually
from webapp.leads import capture
from webapp.leads.documents import Lead

NEHA = "919812345678"


def lead(client: FlaskClient, wa_id: str = RAVI) -> dict[str, Any]:
    response = client.get(f"/api/leads/{wa_id}")
    assert response.status_code == 200, response.text
    return response.get_json()["data"]


def has_lead(client: FlaskClient, wa_id: str = RAVI) -> bool:
    return client.get(f"/api/leads/{wa_id}").status_code == 200


def test_small_talk_makes_no_lead_and_intent_makes_one_with_proposals(client: FlaskClient) -> None:
    webhook_ok(client, inbound(text("hi there", timestamp=now(120))))
    webhook_ok(client, inbound(text("Hello!", timestamp=now(110), sender=NEHA), name="Neha Gupta", wa_id=NEHA))
    webhook_ok(client, inbound(text("What's the price? Mail me at ravi.k@example.com or call 022 2778 1234",
                                    timestamp=now(100))))
    eventually(lambda: has_lead(client) and len(lead(client)["proposals"]) == 2)
    found = lead(client)
    assert (found["name"], found["phone"], found["stage"], found["source"]) == ("Ravi Kumar", "+919937320320",
                                                                               "new", "customer")
    assert [(p["field"], p["value"], p["status"]) for p in found["proposals"]] == [
        ("email", "ravi.k@example.com", "proposed"), ("phone", "+912227781234", "proposed")]
    assert found["emails"] == [] and found["score"] == 10
    assert client.get(f"/api/leads/{NEHA}").status_code == 404
    # the same details again are not proposed twice
    webhook_ok(client, inbound(text("again: ravi.k@example.com", timestamp=now(90))))
    eventually(lambda: lead(client)["lastMessageAt"] is not None)
    assert len(lead(client)["proposals"]) == 2


def test_an_agent_confirms_and_discards_changes_stage_tags_owner_and_notes(client: FlaskClient) -> None:
    webhook_ok(client, inbound(text("quote please: ravi.k@example.com, 022 2778 1234", timestamp=now(100))))
    eventually(lambda: has_lead(client) and len(lead(client)["proposals"]) == 2)
    email, phone = lead(client)["proposals"]
    confirmed = client.post(f"/api/leads/{RAVI}/proposals/{email['id']}", json={"action": "confirm"})
    assert confirmed.status_code == 200 and confirmed.get_json()["data"]["emails"] == ["ravi.k@example.com"]
    discarded = client.post(f"/api/leads/{RAVI}/proposals/{phone['id']}", json={"action": "discard"}).get_json()
    assert discarded["data"]["phones"] == [] and [p["status"] for p in discarded["data"]["proposals"]] == [
        "confirmed", "discarded"]
    undecided = client.post(f"/api/leads/{RAVI}/proposals/{phone['id']}", json={"action": "maybe"})
    assert "action" in assert_error(undecided, 400)["errors"]
    assert client.post(f"/api/leads/{RAVI}/proposals/abc123", json={"action": "confirm"}).status_code == 404

    changed = client.patch(f"/api/leads/{RAVI}", json={"stage": "qualified", "tags": ["VIP", " vip ", "Wholesale"],
                                                       "owner": client.agent.email})
    assert changed.status_code == 200, changed.text
    data = changed.get_json()["data"]
    assert (data["stage"], data["tags"], data["owner"], data["score"]) == (
        "qualified", ["vip", "wholesale"], client.agent.email, 50)  # 40 for the stage + 10 for the email
    assert [(h["from"], h["stage"], h["by"]) for h in data["stageHistory"]] == [
        (None, "new", "customer"), ("new", "qualified", client.agent.email)]
    assert "stage" in assert_error(client.patch(f"/api/leads/{RAVI}", json={"stage": "maybe"}), 400)["errors"]
    stranger = client.patch(f"/api/leads/{RAVI}", json={"owner": "nobody@example.test"})
    assert "owner" in assert_error(stranger, 400)["errors"]
    assert "colour" in assert_error(client.patch(f"/api/leads/{RAVI}", json={"colour": "red"}), 400)["errors"]
    assert client.patch(f"/api/leads/{RAVI}", json={"owner": None}).get_json()["data"]["owner"] is None
    assert client.patch("/api/leads/123456789", json={"stage": "won"}).status_code == 404

    note = client.post(f"/api/leads/{RAVI}/notes", json={"text": "Wants 40 units by Friday"})
    assert note.status_code == 201 and note.get_json()["data"]["author"] == client.agent.email
    assert "text" in assert_error(client.post(f"/api/leads/{RAVI}/notes", json={"text": "  "}), 400)["errors"]
    assert [n["text"] for n in lead(client)["notes"]] == ["Wants 40 units by Friday"]
    assert client.patch(f"/api/leads/{RAVI}", json={"stage": "lost"}).get_json()["data"]["score"] == 0


def test_an_agent_makes_a_lead_from_a_chat(client: FlaskClient) -> None:
    webhook_ok(client, inbound(text("hello", timestamp=now(100), sender=NEHA), name="Neha Gupta", wa_id=NEHA))
    made = client.post("/api/leads", json={"waId": NEHA})
    assert made.status_code == 201 and made.get_json()["data"]["source"] == "agent"
    assert client.post("/api/leads", json={"waId": NEHA}).get_json()["message"] == "Already a lead"
    assert client.post("/api/leads", json={"waId": "4915112345678"}).status_code == 404


def make_leads(app: Flask) -> None:
    with app.app_context():
        for wa_id, name, stage, tags in [(RAVI, "Ravi Kumar", "qualified", ["vip"]),
                                         (NEHA, "=HYPERLINK(\"http://evil\")", "new", []),
                                         ("5215512345678", "María José", "won", ["vip", "retail"])]:
            capture.ensure(wa_id, name=name, source="agent")
            capture.update(wa_id, by="agent@example.test", stage=stage, tags=tags)
        capture.add_note(NEHA, "-2+3", author="agent@example.test")


def test_the_list_filters_and_pages(app: Flask, client: FlaskClient) -> None:
    make_leads(app)
    every = client.get("/api/leads").get_json()
    assert every["meta"] == {"total": 3, "page": 1, "count": 3, "hasMore": False}
    assert [x["id"] for x in client.get("/api/leads?stage=won").get_json()["data"]] == ["5215512345678"]
    assert {x["id"] for x in client.get("/api/leads?tag=VIP").get_json()["data"]} == {RAVI, "5215512345678"}
    assert [x["id"] for x in client.get("/api/leads?q=ravi").get_json()["data"]] == [RAVI]
    assert [x["id"] for x in client.get("/api/leads?q=+91 98123").get_json()["data"]] == [NEHA]
    assert client.get("/api/leads?owner=none").get_json()["meta"]["total"] == 3
    first = client.get("/api/leads?limit=2").get_json()
    second = client.get("/api/leads?limit=2&page=2").get_json()
    assert first["meta"]["hasMore"] and not second["meta"]["hasMore"]
    assert len({x["id"] for x in first["data"] + second["data"]}) == 3
    assert client.get("/api/leads?from=2000-01-01&to=2999-12-31").get_json()["meta"]["total"] == 3
    assert client.get("/api/leads?to=2000-01-01").get_json()["meta"]["total"] == 0
    assert "stage" in assert_error(client.get("/api/leads?stage=maybe"), 400)["errors"]
    assert "from" in assert_error(client.get("/api/leads?from=yesterday"), 400)["errors"]
    assert "to" in assert_error(client.get("/api/leads?to=2025-02-30"), 400)["errors"]
    assert "page" in assert_error(client.get("/api/leads?page=0"), 400)["errors"]


def test_the_csv_export_is_rfc4180_utf8_with_bom_and_neutralises_formulas(app: Flask, client: FlaskClient) -> None:
    make_leads(app)
    response = client.get("/api/leads/export?tag=vip")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="leads.csv"'
    body = response.data
    assert body.startswith(b"\xef\xbb\xbf") and b"\r\n" in body and b"\n" not in body.replace(b"\r\n", b"")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert rows[0][:3] == ["WhatsApp number", "Name", "Emails"] and len(rows) == 3  # header + the two VIPs
    assert {row[1] for row in rows[1:]} == {"Ravi Kumar", "María José"}
    assert all(row[9].endswith("Z") and "T" in row[9] for row in rows[1:])  # ISO-8601 UTC

    everyone = list(csv.reader(io.StringIO(client.get("/api/leads/export").data.decode("utf-8-sig"), newline="")))
    evil = next(row for row in everyone if row[0] == NEHA)
    assert evil[1] == "'=HYPERLINK(\"http://evil\")"
    raw_csv = client.get("/api/leads/export").data.decode("utf-8-sig")
    assert '"\'=HYPERLINK(""http://evil"")"' in raw_csv  # quoted, the quotes inside doubled
    with app.app_context():
        lead_doc = Lead.objects(pk=NEHA).get()
        assert lead_doc.name.startswith("=")  # stored as given: only the export neutralises
