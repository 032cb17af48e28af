"""The admin page (agents: create or invite, switch off and on, reset a password, change a role; API
tokens: make and revoke), every agent's own account page (name, password), and the public page a
one-time link opens to set a password. The rules live in webapp.auth.accounts and webapp.auth.tokens."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from . import accounts, csrf, sockets, tokens
from .documents import ROLES, Agent, AgentSession
from .guard import admin_required, principal
from .tokens import TokenError

bp = Blueprint("admin", __name__)

AGENT_ACTIONS = ("activate", "deactivate", "reset", "role")


def _form(name: str, limit: int = 1024) -> str:
    value = request.form.get(name, "")
    return value[:limit] if isinstance(value, str) else ""


def _admin_page(status: int = 200, **shown: Any) -> ResponseReturnValue:
    return render_template("admin.html", page_title="Admin", agents=accounts.all_agents(),
                           api_tokens=tokens.all_tokens(), roles=ROLES, **shown), status


def _link(secret: str) -> str:
    return url_for("admin.set_password", secret=secret, _external=True)


def _end_connections(keys: list[str]) -> None:
    """The sockets of sessions that just ended close now (signing in again is needed)."""
    for key in keys:
        sockets.close_session_sockets(key)


@bp.get("/admin")
@admin_required
def page() -> ResponseReturnValue:
    return _admin_page()


@bp.post("/admin/agents")
@admin_required
def create_agent() -> ResponseReturnValue:
    email, name, role, password = _form("email", 254), _form("name", 100), _form("role", 16), _form("password")
    try:
        if password:
            agent = accounts.create_agent(email, password, name=name or None, role=role)
            flash(f"{agent.name} <{agent.email}> can sign in now with the password you chose.")
            return redirect(url_for("admin.page"), 303)
        agent, secret = accounts.invite_agent(email, name=name or None, role=role, by=principal().sent_by)
    except accounts.AccountError as exc:
        return _admin_page(400, error=exc.message, draft={"email": email, "name": name, "role": role})
    return _admin_page(link={"agent": agent, "url": _link(secret), "purpose": "invite",
                             "hours": accounts.LINK_HOURS["invite"]})


@bp.post("/admin/agents/<agent_id>/<action>")
@admin_required
def change_agent(agent_id: str, action: str) -> ResponseReturnValue:
    agent = _agent_or_none(agent_id)
    if agent is None or action not in AGENT_ACTIONS:
        return _admin_page(404, error="There is no such agent or action.")
    keys = AgentSession.keys_of(agent.pk)
    try:
        if action == "deactivate":
            accounts.set_active(agent.email, False)
            _end_connections(keys)
            flash(f"{agent.name} is switched off and signed out everywhere.")
        elif action == "activate":
            accounts.set_active(agent.email, True)
            flash(f"{agent.name} can sign in again.")
        elif action == "role":
            accounts.set_role(agent.email, _form("role", 16))
            flash(f"{agent.name} is now an {_form('role', 16)}.")
        else:
            agent, secret = accounts.reset_password(agent.email, by=principal().sent_by)
            _end_connections(keys)
            return _admin_page(link={"agent": agent, "url": _link(secret), "purpose": "reset",
                                     "hours": accounts.LINK_HOURS["reset"]})
    except accounts.AccountError as exc:
        return _admin_page(400, error=exc.message)
    return redirect(url_for("admin.page"), 303)


def _agent_or_none(agent_id: str) -> Agent | None:
    try:
        return Agent.by_id(agent_id)
    except Exception:  # not an ObjectId: no such agent
        return None


@bp.post("/admin/tokens")
@admin_required
def create_token() -> ResponseReturnValue:
    name, role = _form("name", 64), _form("role", 16)
    try:
        token, secret = tokens.issue(name, role)
    except TokenError as exc:
        return _admin_page(400, error=exc.message, token_draft={"name": name, "role": role})
    return _admin_page(new_token={"token": token, "secret": secret})


@bp.post("/admin/tokens/revoke")
@admin_required
def revoke_token() -> ResponseReturnValue:
    try:
        token, _ = tokens.revoke(_form("name", 64))
    except TokenError as exc:
        return _admin_page(400, error=exc.message)
    sockets.close_token_sockets(token.name)  # its programs' open connections end now, on every web process
    flash(f"The token {token.name!r} is revoked: programs using it get 401 from now on.")
    return redirect(url_for("admin.page"), 303)


# --- your own account ------------------------------------------------------------------------------------------


@bp.route("/account", methods=["GET", "POST"])
def account() -> ResponseReturnValue:
    who = principal()
    agent = Agent.by_email(who.email) if who.email else None
    if agent is None:
        return render_template("error.html", title="No account", text="API tokens have no account page."), 404
    if request.method == "GET":
        return render_template("account.html", page_title="Your account", agent=agent)
    try:
        if request.form.get("form") == "password":
            keys = AgentSession.keys_of(agent.pk)
            accounts.change_own_password(agent, _form("current"), _form("new"))
            accounts.sign_in(agent)  # this browser goes on with a new session; the others ended
            _end_connections(keys)
            flash("Your password is changed; you are signed out everywhere else.")
        else:
            accounts.rename(agent, _form("name", 200))
            flash("Your name is saved.")
    except accounts.AccountError as exc:
        return render_template("account.html", page_title="Your account", agent=agent, error=exc.message), 400
    return redirect(url_for("admin.account"), 303)


# --- the page a one-time link opens (public) -------------------------------------------------------------------


@bp.route("/set-password/<secret>", methods=["GET", "POST"])
def set_password(secret: str) -> ResponseReturnValue:
    link = accounts.live_link(secret[:128])
    if link is None:
        return render_template("error.html", title="This link does not work", text=accounts.LINK_DEAD), 404
    agent = Agent.by_id(link.agent_id)
    if request.method == "GET":
        return render_template("set_password.html", agent=agent, invite=link.purpose == "invite")
    try:
        if not csrf.is_valid():
            raise accounts.AccountError("The form expired. Try again.")
        agent = accounts.use_link(secret[:128], _form("password"))
    except accounts.AccountError as exc:
        return render_template("set_password.html", agent=agent, invite=link.purpose == "invite",
                               error=exc.message), 400
    accounts.sign_in(agent)
    return redirect(url_for("ui.index"), 303)
