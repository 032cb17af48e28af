"""Sign-in: default deny everywhere but the public routes, the sign-in form, sessions that end,
inactive agents, the agent recorded on what it sends, and the agent commands."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import socketio
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers.app import LiveServer, settings
from tests.helpers.auth import AGENT_EMAIL, TEST_PASSWORD, AgentClient, make_agent
from tests.helpers.payloads import RAVI, inbound, raw, text
from tests.helpers.wait import eventually
from webapp.auth import PUBLIC_ENDPOINTS, accounts, passwords
from webapp.auth.documents import Agent, AgentSession
from webapp.inbox.documents import Conversation, Message
from webapp.webhooks.documents import WebhookEvent

# The public endpoints, written out: adding one to the allowlist must show up here too.
PUBLIC = {"auth.login", "webhook.verify_subscription", "webhook.receive", "health.healthz", "health.readyz",
          "static", "admin.set_password"}
# URL variables, by name: something each route would accept if it let us in.
PLAUSIBLE = {"wa_id": RAVI, "filename": "css/inbox.css", "path": "index.html", "agent_id": "0" * 24,
             "action": "deactivate", "secret": "x" * 43}
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def anonymous(app: Flask) -> FlaskClient:
    """A visitor who has not signed in (the test agent exists, to sign in as)."""
    with app.app_context():
        make_agent()
    return app.test_client(anonymous=True)


def form_token(client: FlaskClient, path: str = "/login") -> str:
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    match = CSRF_FIELD.search(page.text)
    assert match, "the page has no CSRF field"
    return match.group(1)


def sign_in(client: FlaskClient, email: str = AGENT_EMAIL, password: str = TEST_PASSWORD, **extra: str):
    return client.post("/login", data={"email": email, "password": password, "csrf_token": form_token(client),
                                       **extra})


def session_cookie(client: FlaskClient, app: Flask) -> str | None:
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    return cookie.value if cookie else None


def login_target(response: Any) -> tuple[str, dict[str, list[str]]]:
    location = urlsplit(response.headers["Location"])
    return location.path, parse_qs(location.query)


# --- default deny ---------------------------------------------------------------------------------


def test_the_allowlist_is_exactly_the_public_routes() -> None:
    assert set(PUBLIC_ENDPOINTS) == PUBLIC


def test_no_private_route_answers_the_anonymous(app: Flask) -> None:
    """Every rule of the URL map, with every method it takes: 401 under /api (the envelope, with a
    Bearer challenge), a redirect to sign-in (or that 401) elsewhere; and nothing the routes do happens."""
    client = anonymous(app)
    checked: set[str] = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC:
            continue
        built = rule.build({name: PLAUSIBLE.get(name, "x") for name in rule.arguments})
        assert built is not None, rule
        path = built[1]
        for method in sorted(rule.methods or ()):
            response = client.open(path, method=method, json={"waId": RAVI, "messageBody": "hi"})
            where = f"{method} {path} ({rule.endpoint})"
            if path.startswith("/api") or response.status_code == 401:  # a JSON answer elsewhere is fine too
                assert response.status_code == 401, where
                assert response.headers["WWW-Authenticate"].startswith("Bearer"), where
                if method != "HEAD":
                    assert response.get_json()["status"] == "error", where
            else:
                assert response.status_code in (302, 303), f"{where}: {response.status_code}"
                assert login_target(response)[0] == "/login", where
            checked.add(f"{method} {rule.rule}")
    # the walk reached the routes that matter (it cannot pass by finding nothing)
    assert {"GET /", "GET /c/<wa_id>", "POST /c/<wa_id>/messages", "GET /ui/conversations", "POST /logout",
            "GET /api/conversations", "POST /api/messages", "POST /api/conversations/<wa_id>/read",
            "GET /api/messages/<wa_id>", "GET /openapi.json", "GET /docs"} <= checked
    assert Message.objects.count() == 0 and Conversation.objects.count() == 0


def test_the_public_routes_answer_the_anonymous(app: Flask) -> None:
    client = anonymous(app)
    assert client.get("/login").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get("/static/css/inbox.css").status_code == 200
    assert client.get("/webhook?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=42").text == "42"
    response = client.post("/webhook", data=raw(inbound(text("No sign-in for Meta"))), content_type="application/json")
    assert response.status_code == 200, response.get_json()
    assert Message.objects.count() == 1


def test_a_page_sends_the_anonymous_to_sign_in_and_back(app: Flask) -> None:
    client = anonymous(app)
    client.post("/webhook", data=raw(inbound(text("Hello"))), content_type="application/json")
    response = client.get(f"/c/{RAVI}?q=ravi")
    assert response.status_code == 302
    path, query = login_target(response)
    assert path == "/login" and query == {"next": [f"/c/{RAVI}?q=ravi"]}

    page = client.get(response.headers["Location"])
    assert f'name="next" value="/c/{RAVI}?q=ravi"' in page.text
    signed_in = sign_in(client, next=f"/c/{RAVI}?q=ravi")
    assert signed_in.status_code == 303 and signed_in.headers["Location"] == f"/c/{RAVI}?q=ravi"
    chat = client.get(f"/c/{RAVI}")
    assert chat.status_code == 200 and "Hello" in chat.text


def test_an_htmx_request_without_a_session_sends_the_whole_page_to_sign_in(app: Flask) -> None:
    response = anonymous(app).get("/ui/conversations", headers={
        "HX-Request": "true", "HX-Current-URL": f"http://localhost/c/{RAVI}"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == f"/login?next=/c/{RAVI}"


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example",
                                    "javascript:alert(1)", "http:/evil.example", "/login", "/logout",
                                    "\t//evil.example"])
def test_next_never_leaves_the_site(app: Flask, target: str) -> None:
    client = anonymous(app)
    response = sign_in(client, next=target)
    assert response.status_code == 303 and response.headers["Location"] == "/"


def test_the_sign_in_page_when_already_signed_in(client: AgentClient) -> None:
    assert client.get("/login").headers["Location"] == "/"
    assert client.get("/login?next=/c/123456789").headers["Location"] == "/c/123456789"


# --- signing in ---------------------------------------------------------------------------------------


def test_the_sign_in_page_is_a_labelled_form(app: Flask) -> None:
    page = anonymous(app).get("/login")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.text
    assert '<label for="email">Email</label>' in html and 'id="email" name="email" type="email"' in html
    assert '<label for="password">Password</label>' in html and 'id="password" name="password" type="password"' in html
    assert 'autocomplete="current-password"' in html
    assert "<script" not in html and "style=" not in html and "<style" not in html  # the CSP allows neither


def test_signing_in_shows_the_agent_and_sets_a_safe_cookie(app: Flask) -> None:
    with app.app_context():
        make_agent(name="Maria Lopez")
    client = anonymous(app)
    response = sign_in(client, email="  AGENT@example.TEST ")  # as typed: spaces, capitals
    assert response.status_code == 303 and response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie  # Secure: production
    page = client.get("/")
    assert page.status_code == 200
    assert "Maria Lopez" in page.text and 'aria-label="Chats"' in page.text
    assert Agent.by_email(AGENT_EMAIL).last_sign_in_at is not None


def test_the_cookie_is_secure_in_production(make_app: Callable[..., Flask]) -> None:
    app = make_app(APP_ENV="production", WHATSAPP_APP_SECRET="app-secret")
    assert app.config["SESSION_COOKIE_SECURE"] is True
    with app.app_context():
        make_agent()
    client = app.test_client(anonymous=True)
    page = client.get("/login", base_url="https://inbox.example")
    token = CSRF_FIELD.search(page.text).group(1)
    response = client.post("/login", base_url="https://inbox.example",
                           data={"email": AGENT_EMAIL, "password": TEST_PASSWORD, "csrf_token": token})
    assert response.status_code == 303
    assert "Secure" in response.headers["Set-Cookie"] and "HttpOnly" in response.headers["Set-Cookie"]


def test_the_session_is_new_after_signing_in(app: Flask) -> None:
    client = anonymous(app)
    before_token = form_token(client)
    before_cookie = session_cookie(client, app)
    sign_in(client)
    page = client.get("/")
    after_token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text).group(1)
    assert after_token != before_token
    # the cookie a visitor had before signing in (planted, say) signs nobody in
    planted = anonymous(app)
    planted.set_cookie(app.config["SESSION_COOKIE_NAME"], before_cookie)
    assert planted.get("/").status_code == 302


def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(app: Flask, monkeypatch) -> None:
    checks: list[str] = []
    real = passwords.check_password_hash
    monkeypatch.setattr(passwords, "check_password_hash",
                        lambda hashed, password: checks.append(hashed) or real(hashed, password))

    answers = []
    for email in (AGENT_EMAIL, "nobody@example.test"):
        client = anonymous(app)
        response = sign_in(client, email=email, password="not the password")
        page = CSRF_FIELD.sub("CSRF", response.text.replace(email, "EMAIL"))  # each visitor has its own token
        answers.append((response.status_code, page,
                        sorted(k for k, _ in response.headers if k != "Content-Length")))
        assert "Wrong email or password." in response.text
        assert client.get("/").status_code == 302  # not signed in
    assert answers[0] == answers[1]
    assert answers[0][0] == 401
    # equal work: one full password hash check each, the unknown email against the dummy hash
    assert len(checks) == 2 and checks[1] == passwords.DUMMY_HASH
    assert checks[1].split("$")[0] == passwords.hash_password("x").split("$")[0]  # same method and cost


def test_an_inactive_agent_cannot_sign_in_and_is_signed_out(app: Flask, client: AgentClient) -> None:
    assert client.get("/").status_code == 200
    only_admin = app.test_cli_runner().invoke(args=["agents", "deactivate", AGENT_EMAIL])
    assert only_admin.exit_code == 1 and "the only admin" in only_admin.output
    assert client.get("/").status_code == 200
    with app.app_context():
        make_agent("boss@example.test", "Boss", role="admin")
    result = app.test_cli_runner().invoke(args=["agents", "deactivate", AGENT_EMAIL])
    assert result.exit_code == 0, result.output
    assert client.get("/").status_code == 302  # the open session is over
    assert client.get("/api/conversations").status_code == 401

    response = sign_in(anonymous(app))
    assert response.status_code == 401 and "switched off" in response.text
    wrong = sign_in(anonymous(app), password="wrong password")
    assert "Wrong email or password." in wrong.text  # the account's state is told only to who knows the password

    assert app.test_cli_runner().invoke(args=["agents", "activate", AGENT_EMAIL]).exit_code == 0
    assert sign_in(anonymous(app)).status_code == 303


def test_signing_out_ends_the_session_for_good(app: Flask) -> None:
    client = anonymous(app)
    sign_in(client)
    copied = session_cookie(client, app)
    assert client.get("/").status_code == 200

    page = client.get("/")
    token = CSRF_FIELD.search(page.text).group(1)  # the sign-out form's
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == "/login?signed_out=1"
    assert "You signed out." in client.get("/login?signed_out=1").text
    assert "You signed out." not in client.get("/login").text
    assert client.get("/").status_code == 302
    # the cookie as it was before signing out (copied, stolen) is dead too: the session is gone
    replay = anonymous(app)
    replay.set_cookie(app.config["SESSION_COOKIE_NAME"], copied)
    assert replay.get("/").status_code == 302
    assert replay.get("/api/conversations").status_code == 401
    assert AgentSession.objects.count() == 0


def test_an_expired_session_signs_nobody_in(app: Flask, client: AgentClient) -> None:
    assert client.get("/api/conversations").status_code == 200
    AgentSession.objects.update(set__expires_at=AgentSession.objects.first().created_at)
    assert client.get("/api/conversations").status_code == 401


# --- who sent it ----------------------------------------------------------------------------------------


def test_a_sent_message_records_the_agent(app: Flask, client: AgentClient) -> None:
    client.post("/webhook", data=raw(inbound(text("Hi"))), content_type="application/json")
    from_api = client.post("/api/messages", json={"waId": RAVI, "messageBody": "From the API"}).get_json()["data"]
    assert from_api["sentBy"] == AGENT_EMAIL
    page = client.post(f"/c/{RAVI}/messages", data={"body": "From the inbox"}, headers={"HX-Request": "true"})
    assert page.status_code == 200
    listed = client.get(f"/api/messages/{RAVI}").get_json()["data"]
    assert [(m["direction"], m["sentBy"]) for m in listed] == [
        ("inbound", None), ("outbound", AGENT_EMAIL), ("outbound", AGENT_EMAIL)]
    assert {m.sent_by_app for m in Message.objects(direction="outbound")} == {AGENT_EMAIL}


# --- the commands -------------------------------------------------------------------------------------------


def test_create_agent_command(app: Flask) -> None:
    run = app.test_cli_runner().invoke
    result = run(args=["create-agent", "Maria.Lopez@Example.com", "--password", "s3cret-enough"])
    assert result.exit_code == 0, result.output
    assert "Created admin Maria Lopez <maria.lopez@example.com>" in result.output  # the first one
    agent = Agent.by_email("maria.lopez@example.com")
    assert agent.active and agent.password_hash.startswith("scrypt:")
    assert "s3cret-enough" not in agent.password_hash

    again = run(args=["create-agent", "maria.lopez@example.com", "--password", "another-one"])
    assert again.exit_code == 1 and "already an agent" in again.output
    short = run(args=["create-agent", "sam@example.com", "--password", "short"])
    assert short.exit_code == 1 and "at least 8 characters" in short.output
    bad = run(args=["create-agent", "not-an-email", "--password", "long enough"])
    assert bad.exit_code == 1 and "not an email address" in bad.output
    prompted = run(args=["create-agent", "sam@example.com", "--name", "Sam O'Brien"],
                   input="pass phrase\npass phrase\n")
    assert prompted.exit_code == 0, prompted.output
    assert Agent.by_email("sam@example.com").name == "Sam O'Brien"
    assert "Created agent Sam O'Brien" in prompted.output  # later ones are agents
    assert not Agent.by_email("sam@example.com").is_admin

    listing = run(args=["agents", "list"])
    assert "maria.lopez@example.com" in listing.output and "Sam O'Brien" in listing.output

    client = anonymous(app)
    assert sign_in(client, email="sam@example.com", password="pass phrase").status_code == 303
    assert "Sam O&#39;Brien" in client.get("/").text


def test_an_agent_stored_without_a_role_signs_in_as_an_agent(app: Flask) -> None:
    """Agents made by versions without roles have no `role` field: they are agents, not admins."""
    with app.app_context():
        make_agent()  # the first agent: the admin
        Agent._get_collection().insert_one({"email": "old@example.test", "name": "Old Timer", "active": True,
                                            "password_hash": make_agent().password_hash})
        assert not Agent.by_email("old@example.test").is_admin
    listing = app.test_cli_runner().invoke(args=["agents", "list"])
    assert listing.exit_code == 0 and "old@example.test" in listing.output
    client = anonymous(app)
    assert sign_in(client, email="old@example.test").status_code == 303
    assert "Old Timer" in client.get("/").text


def test_set_password_command_ends_sessions(app: Flask, client: AgentClient) -> None:
    result = app.test_cli_runner().invoke(args=["agents", "set-password", AGENT_EMAIL, "--password", "brand new pw"])
    assert result.exit_code == 0, result.output
    assert client.get("/").status_code == 302
    assert sign_in(anonymous(app), password="brand new pw").status_code == 303
    assert sign_in(anonymous(app)).status_code == 401


def test_seed_demo_makes_a_development_agent(make_app: Callable[..., Flask]) -> None:
    app = make_app(APP_ENV="development")
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "Demo inbox loaded" in result.output
    assert f"as {accounts.DEMO_EMAIL} with the password {accounts.DEMO_PASSWORD}" in result.output
    client = app.test_client(anonymous=True)
    assert sign_in(client, email=accounts.DEMO_EMAIL, password=accounts.DEMO_PASSWORD).status_code == 303
    assert accounts.DEMO_NAME in client.get("/").text

    again = app.test_cli_runner().invoke(args=["seed-demo"])  # what `make run` prints every time
    assert "the demo was not loaded" in again.output and accounts.DEMO_PASSWORD in again.output
    assert Agent.objects.count() == 1


def test_seed_demo_makes_no_agent_outside_development(make_app: Callable[..., Flask]) -> None:
    app = make_app(APP_ENV="production", WHATSAPP_APP_SECRET="app-secret")
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert Agent.objects.count() == 0 and accounts.DEMO_PASSWORD not in result.output


def test_an_existing_development_database_without_agents_gets_one(make_app: Callable[..., Flask]) -> None:
    app = make_app(APP_ENV="development")
    with app.app_context():
        from webapp.webhooks.receive import receive_webhook
        from webapp.whatsapp.signature import SignatureVerdict

        receive_webhook(raw(inbound(text("Already here"))), signature=SignatureVerdict.NOT_CHECKED)
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert "the demo was not loaded" in result.output and accounts.DEMO_EMAIL in result.output
    assert Agent.by_email(accounts.DEMO_EMAIL) is not None and WebhookEvent.objects.count() == 1


# --- Socket.IO ---------------------------------------------------------------------------------------------


def test_every_app_in_a_process_checks_its_sockets(make_app: Callable[..., Flask]) -> None:
    """Each create_app() makes a new Socket.IO server; each must refuse the anonymous."""
    from webapp.core.extensions import socketio as server

    for app in (make_app(), make_app()):
        visitor = server.test_client(app, flask_test_client=anonymous(app))
        assert not visitor.is_connected()
        agent = server.test_client(app, flask_test_client=app.test_client())
        assert agent.is_connected()
        agent.disconnect()



class Refused(Exception):
    pass


def connect(server: LiveServer, **kwargs: Any) -> socketio.Client:
    """A connected python-socketio client, or Refused with the server's reason."""
    client = socketio.Client(reconnection=False)
    reasons: list[Any] = []
    client.on("connect_error", reasons.append)
    try:
        client.connect(server.url, wait_timeout=10, transports=["websocket"], **kwargs)
    except socketio.exceptions.ConnectionError as exc:
        raise Refused(str(reasons)) from exc
    return client


def test_sockets_need_a_signed_in_agent_or_a_token(live_server: LiveServer) -> None:
    with pytest.raises(Refused) as refused:
        connect(live_server)
    assert "Sign in first" in str(refused.value)
    with pytest.raises(Refused):
        connect(live_server, headers={"Cookie": "session=forged"})
    with pytest.raises(Refused) as unknown:
        connect(live_server, auth={"token": "wai_not-a-real-token"})
    assert "Unknown API token" in str(unknown.value)

    by_cookie = connect(live_server, headers={"Cookie": live_server.agent_headers["Cookie"]})
    by_token = connect(live_server, auth={"token": live_server.token})
    by_header = connect(live_server, headers=live_server.auth_headers)
    try:
        assert by_cookie.connected and by_token.connected and by_header.connected
    finally:
        for client in (by_cookie, by_token, by_header):
            client.disconnect()


def test_signing_out_closes_that_browsers_sockets(live_server: LiveServer) -> None:
    cookie = live_server.agent_headers["Cookie"]
    agent_socket = connect(live_server, headers={"Cookie": cookie})
    program_socket = connect(live_server, auth={"token": live_server.token})
    try:
        response = requests.post(f"{live_server.url}/logout", headers=live_server.agent_headers,
                                 allow_redirects=False, timeout=10)
        assert response.status_code == 303
        eventually(lambda: not agent_socket.connected)
        assert program_socket.connected  # other sessions and tokens stay connected
        with pytest.raises(Refused):
            connect(live_server, headers={"Cookie": cookie})
    finally:
        for client in (agent_socket, program_socket):
            if client.connected:
                client.disconnect()


def test_a_sign_in_lasts_the_configured_hours(mongodb_uri: str, make_app: Callable[..., Flask]) -> None:
    from webapp import StartupError, create_app

    with pytest.raises(StartupError, match="SESSION_LIFETIME_HOURS must be 1 or more"):
        create_app(settings(mongodb_uri, SESSION_LIFETIME_HOURS=0))
    app = make_app(SESSION_LIFETIME_HOURS=2)
    response = sign_in(anonymous(app))
    expires = re.search(r"Expires=([^;]+)", response.headers["Set-Cookie"]).group(1)
    left = parsedate_to_datetime(expires) - datetime.now(UTC)
    assert timedelta(hours=2) - timedelta(minutes=1) < left <= timedelta(hours=2)
    record = AgentSession.objects.get()
    assert round((record.expires_at - record.created_at).total_seconds()) == 7200
