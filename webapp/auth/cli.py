"""`flask create-agent`, `flask agents ...`, `flask create-token` and `flask tokens ...`."""

from __future__ import annotations

from datetime import datetime

import click
from flask import Flask

from ..core.clock import as_utc
from . import accounts, sockets, tokens
from .documents import ROLES


def _when(value: datetime | None) -> str:
    value = as_utc(value)
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def _table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def register(app: Flask) -> None:
    @app.cli.command("create-agent")
    @click.argument("email")
    @click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
                  help="At least 8 characters; asked for when left out (so it stays out of the shell history).")
    @click.option("--name", default=None, help="Shown in the inbox; taken from the email when left out.")
    @click.option("--role", type=click.Choice(ROLES), default=None,
                  help="admin or agent; the first agent is an admin unless told otherwise, later ones agents.")
    def create_agent(email: str, password: str, name: str | None, role: str | None) -> None:
        """Make an agent who can sign in to the inbox."""
        try:
            agent = accounts.create_agent(email, password, name=name, role=role)
        except accounts.AccountError as exc:
            raise click.ClickException(exc.message) from None
        click.echo(f"Created {agent.role} {agent.name} <{agent.email}>: they can sign in now.")

    @app.cli.group("agents")
    def agents() -> None:
        """The people who sign in."""

    @agents.command("list")
    def list_agents() -> None:
        """Every agent: email, name, on or off, created, last sign-in."""
        rows = [[a.email, a.name, a.role, "yes" if a.active else "no", _when(a.created_at), _when(a.last_sign_in_at)]
                for a in accounts.all_agents()]
        if not rows:
            click.echo("No agents yet: `flask create-agent EMAIL` makes one.")
            return
        _table(rows, ["EMAIL", "NAME", "ROLE", "ACTIVE", "CREATED", "LAST SIGN-IN"])

    @agents.command("deactivate")
    @click.argument("email")
    def deactivate(email: str) -> None:
        """Switch an agent off: signed out everywhere, and refused at sign-in."""
        try:
            agent = accounts.set_active(email, False)
        except accounts.AccountError as exc:
            raise click.ClickException(exc.message) from None
        sockets.close_agent_sockets(agent.pk)  # its open pages stop receiving at once
        click.echo(f"{agent.email} is switched off and signed out everywhere.")

    @agents.command("set-role")
    @click.argument("email")
    @click.argument("role", type=click.Choice(ROLES))
    def set_role(email: str, role: str) -> None:
        """Make an agent an admin, or a plain agent."""
        try:
            agent = accounts.set_role(email, role)
        except accounts.AccountError as exc:
            raise click.ClickException(exc.message) from None
        click.echo(f"{agent.email} is now an {agent.role}.")

    @agents.command("activate")
    @click.argument("email")
    def activate(email: str) -> None:
        """Switch an agent back on."""
        try:
            agent = accounts.set_active(email, True)
        except accounts.AccountError as exc:
            raise click.ClickException(exc.message) from None
        click.echo(f"{agent.email} can sign in again.")

    @agents.command("set-password")
    @click.argument("email")
    @click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True, help="The new password.")
    def set_password(email: str, password: str) -> None:
        """Give an agent a new password (their sessions end)."""
        try:
            agent = accounts.set_password(email, password)
        except accounts.AccountError as exc:
            raise click.ClickException(exc.message) from None
        sockets.close_agent_sockets(agent.pk)
        click.echo(f"{agent.email} has a new password and is signed out everywhere.")

    @app.cli.command("create-token")
    @click.argument("name")
    @click.option("--role", type=click.Choice(ROLES), default="agent", show_default=True,
                  help="What the program may do: work conversations (agent), or manage the inbox too (admin).")
    def create_token(name: str, role: str) -> None:
        """Make an API token for a program; it is printed once, and only its hash is kept."""
        try:
            token, secret = tokens.issue(name, role)
        except tokens.TokenError as exc:
            raise click.ClickException(exc.message) from None
        click.echo(f"API token {token.name!r} ({token.prefix}…). Copy it now: it is not shown again.\n")
        click.echo(secret)
        click.echo(f"\nSend it as `Authorization: Bearer {token.prefix}…`; Socket.IO clients pass it as "
                   f'auth={{"token": ...}}. Revoke it with `flask tokens revoke "{token.name}"`.')

    @app.cli.group("tokens")
    def tokens_group() -> None:
        """API tokens for programs."""

    @tokens_group.command("list")
    def list_tokens() -> None:
        """Every token: name, prefix, created, last used, revoked."""
        rows = [[t.name, f"{t.prefix}…", _when(t.created_at), _when(t.last_used_at), _when(t.revoked_at)]
                for t in tokens.all_tokens()]
        if not rows:
            click.echo("No API tokens yet: `flask create-token NAME` makes one.")
            return
        _table(rows, ["NAME", "PREFIX", "CREATED", "LAST USED", "REVOKED"])

    @tokens_group.command("revoke")
    @click.argument("name")
    def revoke(name: str) -> None:
        """Revoke a token: programs using it get 401 from now on."""
        try:
            token, was_live = tokens.revoke(name)
        except tokens.TokenError as exc:
            raise click.ClickException(exc.message) from None
        sockets.close_token_sockets(token.name)  # its programs' open connections end at once
        if was_live:
            click.echo(f"Revoked {token.name!r} ({token.prefix}…).")
        else:
            click.echo(f"{token.name!r} was already revoked on {_when(token.revoked_at)}.")
