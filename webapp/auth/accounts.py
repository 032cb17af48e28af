"""Agents and who is asking: creating agents, signing in and out, and the Principal a request
(or a Socket.IO connection) acts as, from the session cookie or an API token.

The session cookie (Flask's signed cookie) holds a random secret whose SHA-256 is the `_id` of an
AgentSession document; signing out deletes that document, so a copied cookie dies with it."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, session
from mongoengine import NotUniqueError

from ..core.clock import as_utc, utcnow
from . import tokens
from .documents import ADMIN, AGENT, ROLES, Agent, AgentSession, ApiToken, PasswordLink
from .passwords import DUMMY_HASH, hash_password, password_problem, verify_password

SESSION_KEY = "sid"
EMAIL_RE = re.compile(r"[^@\s]{1,64}@[^@\s]{1,252}\.[^@\s.]{1,63}")
MAX_EMAIL_LENGTH = 254
WRONG_CREDENTIALS = "Wrong email or password."
INACTIVE = "This account is switched off. Ask an admin to switch it back on."
LINK_DEAD = "This link has expired or was used already. Ask an admin for a new one."

# `flask seed-demo` makes this agent in development only, when there is no agent yet.
DEMO_EMAIL = "agent@example.com"
DEMO_NAME = "Demo Agent"
DEMO_PASSWORD = "inbox-demo"


class AccountError(ValueError):
    """The agent cannot be created or changed, or cannot sign in; the message says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: a signed-in agent, or a program with an API token."""

    kind: str  # "agent" | "token"
    name: str  # the agent's display name, or the token's name
    sent_by: str  # recorded on the messages it sends: the agent's email, or "token:<name>"
    email: str | None = None  # agents only
    session_key: str | None = None  # the AgentSession behind a cookie sign-in
    agent_id: str | None = None  # agents only
    expires_at: datetime | None = None  # when the session behind a cookie sign-in ends
    role: str = AGENT

    @property
    def is_agent(self) -> bool:
        return self.kind == "agent"

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# --- agents ------------------------------------------------------------------------------------


def default_name(email: str) -> str:
    """ "maria.lopez@example.com" → "Maria Lopez"."""
    words = re.split(r"[._+-]+", email.split("@", 1)[0])
    return " ".join(w.capitalize() for w in words if w) or email


def create_agent(email: str, password: str, *, name: str | None = None, password_hash: str | None = None,
                 role: str | None = None) -> Agent:
    """A new active agent. `password_hash` (tests, imports) skips hashing `password`. Without a `role`,
    the first agent (while no active admin exists) is an admin, so the CLI sets up the first admin."""
    email = Agent.normalize_email(email)
    if len(email) > MAX_EMAIL_LENGTH or not EMAIL_RE.fullmatch(email):
        raise AccountError(f"{email!r} is not an email address.")
    if password_hash is None:
        problem = password_problem(password)
        if problem:
            raise AccountError(problem)
        password_hash = hash_password(password)
    name = (name or "").strip() or default_name(email)
    if len(name) > 100:
        raise AccountError("The name must be at most 100 characters.")
    if role is None:
        role = AGENT if Agent.any_admin() else ADMIN
    if role not in ROLES:
        raise AccountError(f"A role is one of {', '.join(ROLES)}, not {role!r}.")
    if Agent.by_email(email) is not None:
        raise AccountError(f"There is already an agent with the email {email}.")
    agent = Agent(email=email, name=name, password_hash=password_hash, role=role)
    try:
        agent.save(force_insert=True)
    except NotUniqueError:
        raise AccountError(f"There is already an agent with the email {email}.") from None
    return agent


def find_agent(email: str) -> Agent:
    agent = Agent.by_email(email)
    if agent is None:
        raise AccountError(f"There is no agent with the email {Agent.normalize_email(email)}.")
    return agent


def set_active(email: str, active: bool) -> Agent:
    """Switch an agent on or off; switching off also ends every session it has."""
    agent = find_agent(email)
    if not active and agent.is_admin and agent.active and Agent.objects(role=ADMIN, active=True).count() <= 1:
        raise AccountError(f"{agent.email} is the only admin: make another agent an admin first.")
    agent.set_active(active)
    if not active:
        AgentSession.end_all(agent.pk)
    return agent


def set_password(email: str, password: str) -> Agent:
    """A new password; every session the agent had ends."""
    problem = password_problem(password)
    if problem:
        raise AccountError(problem)
    agent = find_agent(email)
    agent.set_password_hash(hash_password(password))
    AgentSession.end_all(agent.pk)
    return agent


def set_role(email: str, role: str) -> Agent:
    """Make an agent an admin or a plain agent; the last active admin stays one (someone must manage)."""
    if role not in ROLES:
        raise AccountError(f"A role is one of {', '.join(ROLES)}, not {role!r}.")
    agent = find_agent(email)
    if agent.is_admin and role != ADMIN and agent.active and Agent.objects(role=ADMIN, active=True).count() <= 1:
        raise AccountError(f"{agent.email} is the only admin: make another agent an admin first.")
    agent.set_role(role)
    return agent


def rename(agent: Agent, name: str) -> Agent:
    name = name.strip()
    if not name:
        raise AccountError("The name must not be blank.")
    if len(name) > 100:
        raise AccountError("The name must be at most 100 characters.")
    agent.set_name(name)
    return agent


def change_own_password(agent: Agent, current: str, new: str) -> Agent:
    """An agent's new password, given the current one; their other sessions end (this one goes on
    with a new session, which the caller starts)."""
    if not verify_password(agent.password_hash, current):
        raise AccountError("The current password is wrong.")
    problem = password_problem(new)
    if problem:
        raise AccountError(problem)
    agent.set_password_hash(hash_password(new))
    AgentSession.end_all(agent.pk)
    return agent


# --- one-time links that set a password: invitations and resets ----------------------------------------------

LINK_HOURS = {"invite": 72, "reset": 24}


def invite_agent(email: str, *, name: str | None, role: str, by: str) -> tuple[Agent, str]:
    """A new agent who sets their own password through the link (whose secret is returned)."""
    agent = create_agent(email, "", name=name, role=role, password_hash=hash_password(secrets.token_urlsafe(32)))
    return agent, password_link(agent, "invite", by=by)


def password_link(agent: Agent, purpose: str, *, by: str) -> str:
    """A new one-time link's secret; earlier unused links of the agent stop working."""
    PasswordLink.withdraw(agent.pk)
    secret = secrets.token_urlsafe(32)
    PasswordLink(id=_digest(secret), agent_id=agent.pk, purpose=purpose, created_by=by,
                 expires_at=utcnow() + timedelta(hours=LINK_HOURS[purpose])).save(force_insert=True)
    return secret


def reset_password(email: str, *, by: str) -> tuple[Agent, str]:
    """The agent's password stops working and every session ends; the link sets a new one."""
    agent = find_agent(email)
    agent.set_password_hash(hash_password(secrets.token_urlsafe(32)))
    AgentSession.end_all(agent.pk)
    return agent, password_link(agent, "reset", by=by)


def live_link(secret: str) -> PasswordLink | None:
    return PasswordLink.live(_digest(secret)) if secret else None


def use_link(secret: str, password: str) -> Agent:
    """Set the password a live link is for; the link is used up."""
    link = live_link(secret)
    if link is None:
        raise AccountError(LINK_DEAD)
    problem = password_problem(password)
    if problem:
        raise AccountError(problem)
    agent = Agent.by_id(link.agent_id)
    if agent is None or not agent.active:
        raise AccountError(INACTIVE)
    if not link.use():
        raise AccountError(LINK_DEAD)
    agent.set_password_hash(hash_password(password))
    AgentSession.end_all(agent.pk)
    return agent


def all_agents() -> list[Agent]:
    return list(Agent.objects.order_by("created_at"))


def authenticate(email: Any, password: Any) -> Agent:
    """The agent with this email and password, or AccountError. The same message, and the same
    hashing work, whether the email is unknown or the password wrong."""
    email = email.strip() if isinstance(email, str) else ""
    password = password if isinstance(password, str) else ""
    agent = Agent.by_email(email) if 0 < len(email) <= MAX_EMAIL_LENGTH else None
    if agent is None:
        verify_password(DUMMY_HASH, password)
        raise AccountError(WRONG_CREDENTIALS)
    if not verify_password(agent.password_hash, password):
        raise AccountError(WRONG_CREDENTIALS)
    if not agent.active:  # said only to whoever knows the password
        raise AccountError(INACTIVE)
    return agent


# --- sessions -------------------------------------------------------------------------------------


def new_session(agent: Agent) -> dict[str, str]:
    """Store a new AgentSession for `agent`; returns what the session cookie must hold."""
    secret = secrets.token_urlsafe(32)
    lifetime = timedelta(hours=current_app.config["SESSION_LIFETIME_HOURS"])
    AgentSession(id=_digest(secret), agent_id=agent.pk, expires_at=utcnow() + lifetime).save(force_insert=True)
    return {SESSION_KEY: secret}


def sign_in(agent: Agent) -> None:
    """A fresh session: nothing of the signed-out one carries over (its CSRF token neither: the
    next page gets a new one)."""
    AgentSession.forget_expired()
    values = new_session(agent)
    session.clear()
    session.update(values)
    session.permanent = True
    agent.record_sign_in()


def sign_out() -> str | None:
    """End this browser's session; returns the ended session's key (to close its sockets)."""
    secret = session.get(SESSION_KEY)
    session.clear()
    if not isinstance(secret, str):
        return None
    key = _digest(secret)
    AgentSession.end(key)
    return key


def from_session() -> Principal | None:
    """The agent this request's session cookie signs in, if it is live and the agent active."""
    secret = session.get(SESSION_KEY)
    if not isinstance(secret, str) or not secret:
        return None
    record = AgentSession.live(_digest(secret))
    if record is None:
        return None
    agent = Agent.by_id(record.agent_id)
    if agent is None or not agent.active:
        return None
    return Principal(kind="agent", name=agent.name, sent_by=agent.email, email=agent.email,
                     session_key=record.id, role=agent.role, agent_id=str(agent.pk),
                     expires_at=as_utc(record.expires_at))


def from_token(secret: str) -> Principal:
    """The program an API token stands for, or tokens.TokenError."""
    token = tokens.check(secret)
    return Principal(kind="token", name=token.name, sent_by=f"token:{token.name}", role=token.role or AGENT)


def bearer_token(header: str) -> str:
    """The token of an `Authorization: Bearer <token>` header, or tokens.TokenError."""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise tokens.TokenError("Send the API token as `Authorization: Bearer <token>`.")
    return value.strip()


# --- the development agent --------------------------------------------------------------------------


def ensure_demo_agent() -> tuple[str, bool] | None:
    """In development, when nobody can sign in yet, make the demo agent. Returns (how to sign in,
    whether the agent was made now), or None outside development."""
    if current_app.config["APP_ENV"] != "development":
        return None
    login = f"http://localhost:{current_app.config['PORT']}/login"
    created = False
    if Agent.objects.limit(1).first() is None:
        create_agent(DEMO_EMAIL, DEMO_PASSWORD, name=DEMO_NAME)
        created = True
    demo = Agent.by_email(DEMO_EMAIL)
    if demo is not None and demo.active and verify_password(demo.password_hash, DEMO_PASSWORD):
        return (f"Sign in at {login} as {DEMO_EMAIL} with the password {DEMO_PASSWORD} "
                "(a development agent: never made outside APP_ENV=development)."), created
    return f"Sign in at {login} with an agent's email and password (`flask create-agent EMAIL` makes one).", created


def still_allowed(principal: Principal) -> bool:
    """Whether what let `principal` in still holds: its session live and its agent active, or its
    token not revoked (an open Socket.IO connection asks this again now and then)."""
    if principal.kind == "token":
        token = ApiToken.by_name(principal.name)
        return token is not None and not token.revoked
    if principal.session_key is None or AgentSession.live(principal.session_key) is None:
        return False
    agent = Agent.by_id(principal.agent_id)
    return agent is not None and agent.active
