"""What an operator sees: one JSON line per request (with its id, echoed in X-Request-ID) and
every application log as JSON, with no secret, token, cookie, query string or message text in
them; /healthz while the process is up, /readyz while the database (and Redis) answer."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import requests
from flask import Flask, g, request
from flask.testing import FlaskClient

from devdb.launcher import DevDB
from tests.helpers.app import LiveServer, settings
from tests.helpers.payloads import RAVI, inbound, now, text
from tests.helpers.services import RedisServer
from tests.helpers.wait import eventually
from webapp import create_app

GENERATED_ID = re.compile(r"[0-9a-f]{32}")


def json_lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def request_line(lines: list[dict[str, Any]], request_id: str) -> dict[str, Any]:
    found = [line for line in lines if line.get("logger") == "webapp.request" and line.get("request_id") == request_id]
    assert len(found) == 1, f"one request line for {request_id}, got {found}"
    return found[0]


# --- request ids -------------------------------------------------------------------------------------


def test_request_id_is_generated_and_returned(client: FlaskClient) -> None:
    ids = [client.get("/healthz").headers["X-Request-ID"] for _ in range(3)]
    assert all(GENERATED_ID.fullmatch(i) for i in ids)
    assert len(set(ids)) == 3
    missing = client.get("/no/such/page")
    assert missing.status_code == 404 and GENERATED_ID.fullmatch(missing.headers["X-Request-ID"])


def test_a_sane_incoming_request_id_is_echoed(client: FlaskClient) -> None:
    for incoming in ("3f2c7b1e-9d1a-4f43-a1c5-0b8f5e2d6c11", "lb-trace.42:7_a"):
        response = client.get("/healthz", headers={"X-Request-ID": incoming})
        assert response.headers["X-Request-ID"] == incoming
    answered = client.get("/api/conversations", headers={"X-Request-ID": "api-call-1"})
    assert answered.headers["X-Request-ID"] == "api-call-1"


@pytest.mark.parametrize("insane", ["x" * 129, "has spaces", "<script>", "-leading-dash", "semi;colon"])
def test_an_insane_incoming_request_id_is_replaced(client: FlaskClient, insane: str) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": insane})
    assert GENERATED_ID.fullmatch(response.headers["X-Request-ID"])


# --- the log lines -----------------------------------------------------------------------------------


def test_one_json_line_per_request_with_its_facts(make_app: Callable[..., Flask],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    app = make_app()

    @app.before_request
    def signed_in_as_the_sign_in_code_would() -> None:  # what webapp.auth records for a request
        if request.path == "/no/agent":
            g.principal = SimpleNamespace(kind="agent", name="Neha", email="neha@acme.test")
        elif request.path == "/no/token":
            g.principal = SimpleNamespace(kind="token", name="crm-sync", email=None, secret="tok_live_abc")

    client = app.test_client()
    capsys.readouterr()
    plain = client.get("/healthz?probe=1", headers={"X-Request-ID": "req-1"})
    agent = client.get("/no/agent", headers={"X-Request-ID": "req-2"})
    token = client.get("/no/token", headers={"X-Request-ID": "req-3"})
    lines = json_lines(capsys.readouterr().err)

    first = request_line(lines, "req-1")
    assert {k: first[k] for k in ("level", "logger", "method", "path", "status", "agent")} == {
        "level": "INFO", "logger": "webapp.request", "method": "GET", "path": "/healthz", "status": 200,
        "agent": None}
    assert isinstance(first["duration_ms"], float) and 0 <= first["duration_ms"] < 5000
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", first["time"])
    assert first["message"] == "GET /healthz 200"
    assert plain.status_code == 200
    assert request_line(lines, "req-2")["agent"] == "neha@acme.test"
    assert request_line(lines, "req-3")["agent"] == "token:crm-sync"
    assert agent.status_code == token.status_code == 404
    assert "tok_live_abc" not in json.dumps(lines)


def test_nothing_secret_reaches_the_servers_log(start_server: Callable[..., LiveServer]) -> None:
    """The whole output of a served process, as an operator's log collector would get it, after
    requests carrying a bearer token, a session cookie, query strings and message text."""
    server = start_server()
    secrets = {
        "bearer": "tok_SECRET_bearer_5f1e9",
        "cookie": "SECRET_cookie_77c2",
        "message": "SECRET message text 9a41",
        "webhook": "SECRET webhook text 3bd0",
        "query": "SECRET_query_e19c",
        "challenge": "SECRET_challenge_40aa",
        "verify": "verify-me",  # the verify token Meta presents, in the query string
    }
    headers = {"Authorization": f"Bearer {secrets['bearer']}", "Cookie": f"session={secrets['cookie']}"}
    answers = [
        requests.post(f"{server.url}/webhook", json=inbound(text(secrets["webhook"], timestamp=now())), timeout=10),
        requests.get(f"{server.url}/api/conversations", params={"q": secrets["query"]}, headers=headers, timeout=10),
        requests.post(f"{server.url}/api/messages", json={"waId": RAVI, "messageBody": secrets["message"]},
                      headers=headers, timeout=10),
        requests.get(f"{server.url}/webhook", params={"hub.mode": "subscribe", "hub.verify_token": secrets["verify"],
                                                      "hub.challenge": secrets["challenge"]}, timeout=10),
        requests.get(f"{server.url}/c/{RAVI}", params={"q": secrets["query"]}, headers=headers, timeout=10,
                     allow_redirects=False),
    ]
    assert answers[0].status_code == 200 and answers[3].status_code == 200
    # and with the real thing: a valid API token, a valid session cookie
    credentials = server.credentials
    assert credentials is not None
    secrets["real token"], secrets["real cookie"] = credentials.token, credentials.session_cookie
    with_token = requests.get(f"{server.url}/api/conversations", params={"q": secrets["query"]},
                              headers=server.auth_headers, timeout=10)
    with_cookie = requests.get(f"{server.url}/c/{RAVI}", cookies={credentials.cookie_name: credentials.session_cookie},
                               timeout=10)
    assert with_token.status_code == 200 and with_cookie.status_code == 200
    answers += [with_token, with_cookie]

    def logged() -> list[dict[str, Any]] | None:
        lines = json_lines(server.log())
        ids = {line.get("request_id") for line in lines if line.get("logger") == "webapp.request"}
        return lines if all(a.headers["X-Request-ID"] in ids for a in answers) else None

    lines = eventually(logged)
    for answer in answers:
        line = request_line(lines, answer.headers["X-Request-ID"])
        assert line["status"] == answer.status_code
        assert "?" not in line["path"] and "?" not in line["message"]
    # who asked: the token's name, the agent's email; nobody for the forged credentials
    assert request_line(lines, with_token.headers["X-Request-ID"])["agent"].startswith("token:")
    assert request_line(lines, with_cookie.headers["X-Request-ID"])["agent"] == credentials.email
    assert request_line(lines, answers[1].headers["X-Request-ID"])["agent"] is None
    output = server.log()
    for what, secret in secrets.items():
        assert secret not in output, f"the {what} reached the log"
    # every line the process wrote is JSON, but the one line `python wsgi.py` prints at start
    others = [line for line in output.splitlines() if line.strip() and not line.startswith("{")]
    started = f"Serving the inbox on http://localhost:{server.port} (demo mode: replies are not sent to WhatsApp)"
    assert others == [started], others


def test_application_logs_are_json_with_the_request_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A warning logged while handling a request (here: the database gone, seen by /readyz) is a
    JSON line carrying that request's id, and the database address in it has no password."""
    with DevDB(tmp_path / "db") as db:
        uri = db.uri.replace("mongodb://", "mongodb://inbox:pw-SECRET@", 1) + "logs?authSource=admin"
        app = create_app(settings(db.uri + "logs", MONGODB_TIMEOUT_MS=400))
        app.config["MONGODB_URI"] = uri  # as if the password were in it: what is logged must hide it
        client = app.test_client()
        db.stop()
        capsys.readouterr()
        down = client.get("/readyz", headers={"X-Request-ID": "ready-check-1"})
    assert down.status_code == 503
    lines = json_lines(capsys.readouterr().err)
    warnings = [line for line in lines if line["logger"] == "webapp.core.health"]
    assert len(warnings) == 1
    assert warnings[0]["level"] == "WARNING" and warnings[0]["request_id"] == "ready-check-1"
    assert "the database at mongodb://***@127.0.0.1" in warnings[0]["message"]
    assert "pw-SECRET" not in json.dumps(lines)


# --- health ------------------------------------------------------------------------------------------


def test_healthz_says_the_process_is_up(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_readyz_is_ready_when_the_database_answers(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "success", "message": "Ready",
                                   "data": {"database": "ok", "whatsapp": "demo mode"}}


def test_probes_need_no_sign_in(app: Flask) -> None:
    anonymous = app.test_client(anonymous=True)
    assert anonymous.get("/healthz").status_code == 200
    assert anonymous.get("/readyz").status_code == 200


def test_readyz_says_503_while_the_database_is_down_and_recovers(tmp_path: Path) -> None:
    db = DevDB(tmp_path / "db").start()
    try:
        app = create_app(settings(db.uri + "readyz", MONGODB_TIMEOUT_MS=500))
        client = app.test_client()
        assert client.get("/readyz").status_code == 200

        db.stop()
        down = client.get("/readyz")
        assert down.status_code == 503
        assert down.get_json() == {"status": "error", "message": "Not ready: the database is not answering.",
                                   "data": None, "errors": {"database": "not answering"}}
        assert down.headers["Retry-After"] == "5"
        assert client.get("/healthz").status_code == 200  # the process itself is fine

        db.start()  # same port, same files
        eventually(lambda: client.get("/readyz").status_code == 200, timeout=15)
    finally:
        db.stop()


def test_readyz_checks_redis_when_it_is_configured(make_app: Callable[..., Flask], redis_server: RedisServer) -> None:
    client = make_app(REDIS_URL=redis_server.url).test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["data"] == {"database": "ok", "redis": "ok", "whatsapp": "demo mode"}

    redis_server.stop()
    down = client.get("/readyz")
    assert down.status_code == 503
    body = down.get_json()
    assert body["message"] == "Not ready: Redis is not answering."
    assert body["errors"] == {"redis": "not answering"}
