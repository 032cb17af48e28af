"""Roles: the first agent is an admin, later ones agents; the CLI changes them and keeps one admin;
tokens act with the role they were made with."""

from __future__ import annotations

from flask import Flask

from tests.helpers.auth import make_agent
from webapp.auth import accounts, tokens
from webapp.auth.documents import Agent


def test_the_first_agent_is_an_admin_and_the_cli_changes_roles(app: Flask) -> None:
    run = app.test_cli_runner().invoke
    assert run(args=["create-agent", "ana@example.test", "--password", "long enough"]).exit_code == 0
    made = run(args=["create-agent", "ben@example.test", "--password", "long enough", "--role", "admin"])
    assert "Created admin" in made.output
    plain = run(args=["create-agent", "cy@example.test", "--password", "long enough"])
    assert "Created agent" in plain.output
    with app.app_context():
        assert [(a.email, a.role) for a in accounts.all_agents()] == [
            ("ana@example.test", "admin"), ("ben@example.test", "admin"), ("cy@example.test", "agent")]

    assert "is now an admin" in run(args=["agents", "set-role", "cy@example.test", "admin"]).output
    assert run(args=["agents", "set-role", "ana@example.test", "agent"]).exit_code == 0
    assert run(args=["agents", "set-role", "ben@example.test", "agent"]).exit_code == 0
    last = run(args=["agents", "set-role", "cy@example.test", "agent"])
    assert last.exit_code == 1 and "the only admin" in last.output
    assert run(args=["agents", "set-role", "cy@example.test", "boss"]).exit_code == 2  # not a role
    listing = run(args=["agents", "list"]).output
    assert "ROLE" in listing and "cy@example.test" in listing
    with app.app_context():
        assert Agent.by_email("cy@example.test").is_admin and not Agent.by_email("ana@example.test").is_admin


def test_tokens_act_with_their_role(app: Flask) -> None:
    run = app.test_cli_runner().invoke
    assert run(args=["create-token", "zapier"]).exit_code == 0
    assert run(args=["create-token", "provisioning", "--role", "admin"]).exit_code == 0
    with app.app_context():
        _, plain = tokens.issue("reports")
        _, admin = tokens.issue("setup", "admin")
        assert not accounts.from_token(plain).is_admin and accounts.from_token(admin).is_admin
        assert tokens.all_tokens()[0].role == "agent" and tokens.all_tokens()[1].role == "admin"
        make_agent()
        assert make_agent("later@example.test", "Later").role == "agent"
