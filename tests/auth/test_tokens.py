"""API tokens: made and shown once by `flask create-token`, kept only as a hash, sent as
`Authorization: Bearer`, listed, revoked, and their last use recorded at most once a minute."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from flask import Flask

from tests.helpers.http import run_cli
from tests.helpers.payloads import RAVI, inbound, raw, text
from webapp.auth.documents import ApiToken
from webapp.core.clock import utcnow
from webapp.inbox.documents import Message

TOKEN_LINE = re.compile(r"^(wai_[A-Za-z0-9_-]{40,})$", re.MULTILINE)


def create_token(app: Flask, name: str) -> str:
    result = run_cli(app, "create-token", name)
    assert result.exit_code == 0, result.output
    found = TOKEN_LINE.findall(result.output)
    assert len(found) == 1, result.output
    return found[0]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_create_token_prints_it_once_and_stores_only_its_hash(app: Flask) -> None:
    result = run_cli(app, "create-token", "postman")
    assert result.exit_code == 0, result.output
    token = TOKEN_LINE.findall(result.output)[0]
    assert "not shown again" in result.output
    stored = ApiToken._get_collection().find_one()
    assert stored["_id"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(stored)  # nowhere in the document
    assert token.startswith(stored["prefix"]) and len(stored["prefix"]) < 12

    listing = run_cli(app, "tokens", "list")
    assert listing.exit_code == 0
    assert "postman" in listing.output and f"{stored['prefix']}…" in listing.output and token not in listing.output


@pytest.mark.parametrize("name", ["", " ", "has/slash", "x" * 65, "-leading-dash"])
def test_a_bad_token_name_is_refused(app: Flask, name: str) -> None:
    result = run_cli(app, "create-token", "--", name)
    assert result.exit_code == 1 and "token name" in result.output
    assert ApiToken.objects.count() == 0


def test_a_token_name_is_never_reused(app: Flask) -> None:
    create_token(app, "zapier")
    assert run_cli(app, "tokens", "revoke", "zapier").exit_code == 0
    again = run_cli(app, "create-token", "zapier")
    assert again.exit_code == 1 and "already a token named 'zapier'" in again.output


def test_a_token_reads_and_sends_without_a_session_or_csrf(app: Flask) -> None:
    token = create_token(app, "crm-sync")
    client = app.test_client(anonymous=True)
    client.post("/webhook", data=raw(inbound(text("Hello"))), content_type="application/json")
    listed = client.get("/api/conversations", headers=bearer(token))
    assert listed.status_code == 200 and listed.get_json()["data"][0]["wa_id"] == RAVI
    sent = client.post("/api/messages", json={"waId": RAVI, "messageBody": "From the CRM"}, headers=bearer(token))
    assert sent.status_code == 201, sent.get_json()
    assert sent.get_json()["data"]["sentBy"] == "token:crm-sync"
    assert client.post(f"/api/conversations/{RAVI}/read", headers=bearer(token)).status_code == 200
    assert Message.objects(direction="outbound").get().sent_by_app == "token:crm-sync"
    assert client.get_cookie(app.config["SESSION_COOKIE_NAME"]) is None  # a token starts no session


@pytest.mark.parametrize(
    ("header", "words"),
    [("Bearer wai_nope", "Unknown API token"), ("Bearer ", "Authorization: Bearer <token>"),
     ("Basic dXNlcjpwYXNz", "Authorization: Bearer <token>"), ("wai_without_a_scheme", "Authorization: Bearer"),
     ("Bearer " + "x" * 5000, "Unknown API token")],
    ids=["unknown", "empty", "basic", "no-scheme", "huge"],
)
def test_an_unknown_or_malformed_token_is_a_401(app: Flask, header: str, words: str) -> None:
    create_token(app, "real")
    response = app.test_client(anonymous=True).post("/api/messages", json={"waId": RAVI, "messageBody": "hi"},
                                                    headers={"Authorization": header})
    assert response.status_code == 401
    body = response.get_json()
    assert body["status"] == "error" and words in body["message"]
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="inbox", error="invalid_token"')
    assert Message.objects.count() == 0


def test_a_revoked_token_is_refused_with_a_clear_message(app: Flask) -> None:
    token = create_token(app, "old-script")
    client = app.test_client(anonymous=True)
    assert client.get("/api/conversations", headers=bearer(token)).status_code == 200

    result = run_cli(app, "tokens", "revoke", "old-script")
    assert result.exit_code == 0 and "Revoked 'old-script'" in result.output
    response = client.get("/api/conversations", headers=bearer(token))
    assert response.status_code == 401
    assert "'old-script' was revoked" in response.get_json()["message"]
    assert "old-script" in run_cli(app, "tokens", "list").output.splitlines()[1]
    assert "UTC" in run_cli(app, "tokens", "list").output.splitlines()[1].split("…")[1].split("-", 1)[-1]

    assert "already revoked" in run_cli(app, "tokens", "revoke", "old-script").output
    unknown = run_cli(app, "tokens", "revoke", "never-made")
    assert unknown.exit_code == 1 and "no token named 'never-made'" in unknown.output


def test_a_bad_token_is_refused_even_with_a_signed_in_cookie(client) -> None:
    """Explicit credentials win: a wrong token is not rescued by the browser's session."""
    assert client.get("/api/conversations").status_code == 200
    assert client.get("/api/conversations", headers=bearer("wai_wrong")).status_code == 401


def test_pages_take_a_token_too(app: Flask) -> None:
    token = create_token(app, "kiosk")
    page = app.test_client(anonymous=True).get("/", headers=bearer(token))
    assert page.status_code == 200 and "kiosk" in page.text
    assert "Sign out" not in page.text  # nothing to sign out of


def test_last_use_is_recorded_at_most_once_a_minute(app: Flask) -> None:
    token = create_token(app, "poller")
    client = app.test_client(anonymous=True)
    assert ApiToken.objects.get().last_used_at is None
    client.get("/api/conversations", headers=bearer(token))
    first = ApiToken.objects.get().last_used_at
    assert first is not None and (utcnow() - first) < timedelta(seconds=10)
    client.get("/api/conversations", headers=bearer(token))
    assert ApiToken.objects.get().last_used_at == first  # no write within the minute

    earlier = utcnow() - timedelta(minutes=2)
    ApiToken.objects.update(set__last_used_at=earlier)
    client.get("/api/conversations", headers=bearer(token))
    assert ApiToken.objects.get().last_used_at > earlier + timedelta(minutes=1)
    assert "UTC" in run_cli(app, "tokens", "list").output.splitlines()[1].split("…")[1]
