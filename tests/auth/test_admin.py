"""The admin page: admins add agents (with a password or a one-time invitation link), switch them off
(their open connections close at once), reset passwords, change roles and manage API tokens; agents
are refused. Every agent changes their own name and password."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import requests
import socketio
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers.app import LiveServer
from tests.helpers.auth import TEST_PASSWORD, AgentClient, credentials_for, make_agent
from tests.helpers.wait import eventually
from webapp.auth import accounts
from webapp.auth.documents import Agent, PasswordLink

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
LINK = re.compile(r'id="one-time-link" readonly value="([^"]+)"')


def agent_client(app: Flask, email: str = "sam@example.test", name: str = "Sam Agent") -> AgentClient:
    client = app.test_client()  # signs in as the test agent (the first: an admin)
    client.sign_in(email, name)
    return client


def agent_id(app: Flask, email: str) -> str:
    with app.app_context():
        return str(Agent.by_email(email).pk)


def sign_in(client: FlaskClient, email: str, password: str):
    token = CSRF_FIELD.search(client.get("/login").text).group(1)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def test_agents_cannot_open_the_admin_page_or_use_its_forms(app: Flask) -> None:
    agent = agent_client(app)
    page = agent.get("/admin")
    assert page.status_code == 403 and "Only admins" in page.text
    assert agent.post("/admin/agents", data={"email": "x@example.test", "role": "admin"}).status_code == 403
    assert agent.get("/admin", headers={"Accept": "application/json"}).get_json()["message"].startswith("Only admins")
    with app.app_context():
        assert Agent.by_email("x@example.test") is None
    assert 'href="/admin"' not in agent.get("/account").text  # not in the agent's top bar
    assert 'href="/admin"' in app.test_client().get("/account").text  # in the admin's


def test_an_invitation_link_sets_the_password_once(app: Flask, client: FlaskClient) -> None:
    made = client.post("/admin/agents", data={"email": "Nina@Example.test", "name": "Nina", "role": "agent"})
    assert made.status_code == 200 and "Invitation for Nina" in made.text
    link = LINK.search(made.text).group(1)
    path = link.split("://", 1)[1].split("/", 1)[1]
    visitor = app.test_client(anonymous=True)
    assert sign_in(visitor, "nina@example.test", "anything at all").status_code == 401  # no password yet
    form = visitor.get(f"/{path}")
    assert form.status_code == 200 and "Welcome, Nina" in form.text
    token = CSRF_FIELD.search(form.text).group(1)
    assert visitor.post(f"/{path}", data={"password": "short", "csrf_token": token}).status_code == 400
    done = visitor.post(f"/{path}", data={"password": "nina's own secret", "csrf_token": token})
    assert done.status_code == 303 and visitor.get("/").status_code == 200  # signed in
    again = app.test_client(anonymous=True).get(f"/{path}")
    assert again.status_code == 404 and "expired or was used" in again.text
    assert sign_in(app.test_client(anonymous=True), "nina@example.test", "nina's own secret").status_code == 303
    with app.app_context():
        assert Agent.by_email("nina@example.test").role == "agent"


def test_an_admin_adds_with_a_password_changes_roles_and_refuses_bad_input(app: Flask, client: FlaskClient) -> None:
    made = client.post("/admin/agents", data={"email": "omar@example.test", "role": "admin",
                                              "password": "omar's password"})
    assert made.status_code == 303
    assert "can sign in now" in client.get("/admin").text
    assert sign_in(app.test_client(anonymous=True), "omar@example.test", "omar's password").status_code == 303
    bad = client.post("/admin/agents", data={"email": "not an email", "role": "agent"})
    assert bad.status_code == 400 and "is not an email address" in bad.text
    twice = client.post("/admin/agents", data={"email": "omar@example.test", "role": "agent"})
    assert twice.status_code == 400 and "already an agent" in twice.text
    omar = agent_id(app, "omar@example.test")
    assert client.post(f"/admin/agents/{omar}/role", data={"role": "agent"}).status_code == 303
    me = agent_id(app, client.agent.email)
    only = client.post(f"/admin/agents/{me}/role", data={"role": "agent"})
    assert only.status_code == 400 and "the only admin" in only.text
    assert client.post("/admin/agents/nope/deactivate").status_code == 404
    with app.app_context():
        assert not Agent.by_email("omar@example.test").is_admin


def test_a_reset_link_replaces_the_password_and_ends_sessions(app: Flask, client: FlaskClient) -> None:
    sam = agent_client(app)
    assert sam.get("/").status_code == 200
    reset = client.post(f"/admin/agents/{agent_id(app, 'sam@example.test')}/reset")
    assert reset.status_code == 200 and "New password link for Sam Agent" in reset.text
    assert sam.get("/").status_code == 302  # signed out
    assert sign_in(app.test_client(anonymous=True), "sam@example.test", TEST_PASSWORD).status_code == 401
    path = LINK.search(reset.text).group(1).split("/", 3)[3]
    visitor = app.test_client(anonymous=True)
    token = CSRF_FIELD.search(visitor.get(f"/{path}").text).group(1)
    assert visitor.post(f"/{path}", data={"password": "a fresh password", "csrf_token": token}).status_code == 303
    with app.app_context():
        assert PasswordLink.objects(used_at=None).count() == 0


def test_every_agent_changes_their_own_name_and_password(app: Flask) -> None:
    sam = agent_client(app)
    other_browser = agent_client(app)
    assert sam.post("/account", data={"form": "name", "name": "  Samuel  "}).status_code == 303
    assert "Samuel" in sam.get("/").text
    wrong = sam.post("/account", data={"form": "password", "current": "nope", "new": "new password 1"})
    assert wrong.status_code == 400 and "current password is wrong" in wrong.text
    changed = sam.post("/account", data={"form": "password", "current": TEST_PASSWORD, "new": "new password 1"})
    assert changed.status_code == 303
    assert sam.get("/account").status_code == 200  # this browser stays signed in
    assert other_browser.get("/").status_code == 302  # the others are signed out
    assert sign_in(app.test_client(anonymous=True), "sam@example.test", "new password 1").status_code == 303


def test_admins_make_and_revoke_api_tokens(app: Flask, client: FlaskClient) -> None:
    made = client.post("/admin/tokens", data={"name": "crm sync", "role": "agent"})
    assert made.status_code == 200
    secret = re.search(r'id="new-token" readonly value="([^"]+)"', made.text).group(1)
    program = app.test_client(anonymous=True)
    headers = {"Authorization": f"Bearer {secret}"}
    assert program.get("/api/conversations", headers=headers).status_code == 200
    assert client.post("/admin/tokens", data={"name": "crm sync", "role": "agent"}).status_code == 400
    assert client.post("/admin/tokens/revoke", data={"name": "crm sync"}).status_code == 303
    assert program.get("/api/conversations", headers=headers).status_code == 401


def test_deactivating_an_agent_closes_their_open_connections_at_once(
        start_server: Callable[..., LiveServer], make_app: Callable[..., Flask]) -> None:
    server = start_server()
    sam = credentials_for(make_app(), "sam token", "sam@example.test", "Sam Agent")
    sam_socket = socketio.Client(reconnection=False)
    sam_socket.connect(server.url, headers={"Cookie": f"{sam.cookie_name}={sam.session_cookie}"}, wait_timeout=10,
                       transports=["websocket"])
    admin_socket = socketio.Client(reconnection=False)
    admin_socket.connect(server.url, headers={"Cookie": server.agent_headers["Cookie"]}, wait_timeout=10,
                         transports=["websocket"])
    try:
        with make_app().app_context():
            sam_id = str(Agent.by_email("sam@example.test").pk)
        response = requests.post(f"{server.url}/admin/agents/{sam_id}/deactivate", headers=server.agent_headers,
                                 allow_redirects=False, timeout=10)
        assert response.status_code == 303
        eventually(lambda: not sam_socket.connected)
        assert admin_socket.connected
        with pytest.raises(socketio.exceptions.ConnectionError):
            socketio.Client(reconnection=False).connect(
                server.url, headers={"Cookie": f"{sam.cookie_name}={sam.session_cookie}"}, wait_timeout=5,
                transports=["websocket"])
    finally:
        for client in (sam_socket, admin_socket):
            if client.connected:
                client.disconnect()


def test_the_first_admin_comes_from_the_cli(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["create-agent", "root@example.test", "--password", "long enough"])
    assert "Created admin" in result.output
    with app.app_context():
        assert accounts.find_agent("root@example.test").is_admin
        assert make_agent("next@example.test", "Next").role == "agent"
