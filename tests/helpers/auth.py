"""Credentials for tests: an agent signed in without the cost of a password check per test, a
Flask test client that acts as that agent (sending the session's CSRF token with every change,
as the inbox page does), and the session cookie and API token a live server's clients use."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from flask import Flask, session
from flask.testing import FlaskClient
from flask_wtf.csrf import generate_csrf
from werkzeug.datastructures import Headers

from webapp.auth import accounts, csrf, tokens
from webapp.auth.documents import Agent
from webapp.auth.passwords import hash_password

TEST_PASSWORD = "correct horse battery staple"
AGENT_EMAIL = "agent@example.test"
AGENT_NAME = "Test Agent"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}


@functools.cache
def password_hash() -> str:
    """TEST_PASSWORD hashed once per run (scrypt takes a tenth of a second on purpose)."""
    return hash_password(TEST_PASSWORD)


def make_agent(email: str = AGENT_EMAIL, name: str = AGENT_NAME, role: str | None = None) -> Agent:
    """The agent with this email (made, with TEST_PASSWORD, when missing; the first one is an admin).
    Needs an app context."""
    return Agent.by_email(email) or accounts.create_agent(email, "", name=name, password_hash=password_hash(),
                                                          role=role)


def new_session(app: Flask, agent: Agent) -> tuple[dict[str, Any], str]:
    """A new session for `agent`: what its cookie holds, and the CSRF token its pages carry."""
    with app.test_request_context():
        session.update(accounts.new_session(agent))
        token = generate_csrf()
        return dict(session), token


class AgentClient(FlaskClient):
    """A test client signed in as an agent. `anonymous=True` gives a visitor who has not signed in;
    `csrf=False` on a request leaves the CSRF header out (an explicit X-CSRFToken always wins)."""

    def __init__(self, *args: Any, anonymous: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.agent: Agent | None = None
        self.csrf_token: str | None = None
        if not anonymous:
            self.sign_in()

    def sign_in(self, email: str = AGENT_EMAIL, name: str = AGENT_NAME) -> Agent:
        with self.application.app_context():
            agent = make_agent(email, name)
        values, token = new_session(self.application, agent)
        with self.session_transaction() as cookie:
            cookie.clear()
            cookie.update(values)
        self.agent, self.csrf_token = agent, token
        return agent

    def open(self, *args: Any, **kwargs: Any) -> Any:
        send_csrf = kwargs.pop("csrf", True)
        method = str(kwargs.get("method") or "GET").upper()
        if send_csrf and self.csrf_token and method not in SAFE_METHODS:
            headers = Headers(kwargs.get("headers") or {})
            if csrf.HEADER not in headers:
                headers[csrf.HEADER] = self.csrf_token
            kwargs["headers"] = headers
        return super().open(*args, **kwargs)


def signed_in(app: Flask) -> AgentClient:
    """A client of `app` signed in as the test agent, whatever app.test_client_class is."""
    return AgentClient(app, app.response_class)


@dataclass(frozen=True)
class Credentials:
    """What a live server's clients sign in with: the agent's session cookie (and its CSRF token)
    for browsers, an API token for requests and python-socketio."""

    cookie_name: str
    session_cookie: str
    csrf_token: str
    token: str
    email: str
    name: str


def credentials_for(app: Flask, token_name: str, email: str = AGENT_EMAIL, name: str = AGENT_NAME) -> Credentials:
    """A signed-in session for an agent (the test agent unless told) and a new API token, in `app`'s database."""
    with app.app_context():
        agent = make_agent(email, name)
        _, token = tokens.issue(token_name)
    values, csrf_token = new_session(app, agent)
    cookie = app.session_interface.get_signing_serializer(app).dumps(values)  # type: ignore[attr-defined]
    return Credentials(app.config["SESSION_COOKIE_NAME"], cookie, csrf_token, token, agent.email, agent.name)


def token_headers(app: Flask, name: str = "schemathesis") -> dict[str, str]:
    """How a program signs in: an API token (`flask create-token`)."""
    with app.app_context():
        _, secret = tokens.issue(name)
    return {"Authorization": f"Bearer {secret}"}


def agent_credentials(app: Flask, email: str, name: str, role: str | None = None) -> Credentials:
    """A signed-in session for another agent (made when missing) in `app`'s database: for a second
    browser page (`Pages.open(url, as_agent=...)`) on a live server sharing that database and secret key."""
    with app.app_context():
        agent = make_agent(email, name, role)
    values, csrf_token = new_session(app, agent)
    cookie = app.session_interface.get_signing_serializer(app).dumps(values)  # type: ignore[attr-defined]
    return Credentials(app.config["SESSION_COOKIE_NAME"], cookie, csrf_token, "", agent.email, agent.name)
