"""The business's settings: `flask settings show|set`, validation, the change log, and the /settings page
(admins only)."""

from __future__ import annotations

from flask import Flask

from tests.helpers.auth import AgentClient, make_agent
from tests.helpers.http import run_cli
from webapp import settings


def test_show_and_set_every_setting_from_the_cli(app: Flask) -> None:
    shown = run_cli(app, "settings", "show")
    assert shown.exit_code == 0
    for setting in settings.DEFINITIONS:
        assert setting.key in shown.output
    assert "ai.enabled" in shown.output and "false" in shown.output
    done = run_cli(app, "settings", "set", "ai.enabled", "true")
    assert done.exit_code == 0 and "ai.enabled = true" in done.output
    assert run_cli(app, "settings", "show", "ai.enabled").output.strip() == "true"
    assert run_cli(app, "settings", "set", "hours.days", "sat, Sun").exit_code == 0
    assert run_cli(app, "settings", "set", "ai.handoff_keywords", "human, humano").exit_code == 0
    assert run_cli(app, "settings", "set", "ai.temperature", "0.7").exit_code == 0
    with app.app_context():
        values = settings.current()
        assert values["ai.enabled"] is True and values["hours.days"] == ["sat", "sun"]
        assert values["ai.handoff_keywords"] == ["human", "humano"] and values["ai.temperature"] == 0.7
        log = settings.history()
        assert [c.key for c in log][:1] == ["ai.temperature"] and log[0].by == "cli"
        assert (log[0].old, log[0].new) == (0.3, 0.7)


def test_bad_values_are_refused_naming_the_problem(app: Flask) -> None:
    for key, value, problem in [("ai.temperature", "3", "at most 2"), ("ai.enabled", "maybe", "true or false"),
                                ("hours.timezone", "Mars/Base", "IANA time zone"), ("hours.open", "9am", "HH:MM"),
                                ("hours.close", "08:00", "after the opening time"), ("nope", "1", "is not a setting"),
                                ("ai.history_messages", "ten", "whole number"), ("hours.days", "funday", "days are")]:
        result = run_cli(app, "settings", "set", key, value)
        assert result.exit_code != 0 and problem in result.output, (key, result.output)
    with app.app_context():
        assert settings.history() == []


def test_the_settings_page_is_for_admins_and_logs_who_changed_what(app: Flask) -> None:
    admin = app.test_client()  # the first agent: an admin
    page = admin.get("/settings")
    assert page.status_code == 200
    assert b"The AI is off: AI_BASE_URL is not set" in page.data
    form = {key: settings.BY_KEY[key].show(settings.BY_KEY[key].default) for key in
            ("ai.persona", "ai.model", "ai.temperature", "ai.max_reply_tokens", "ai.history_messages",
             "hours.timezone", "hours.open", "hours.close")}
    saved = admin.post("/settings", data={**form, "ai.enabled": "true", "ai.temperature": "0.9",
                                          "hours.days": ["mon", "sat"]})
    assert saved.status_code == 200, saved.data[:500]
    assert b"Saved" in saved.data
    with app.app_context():
        assert settings.get("ai.temperature") == 0.9 and settings.get("hours.days") == ["mon", "sat"]
        by = {c.key: c.by for c in settings.history()}
        assert by["ai.temperature"] == by["ai.enabled"] != "cli"
    refused = admin.post("/settings", data={**form, "ai.temperature": "9"})
    assert refused.status_code == 422 and b"must be at most 2" in refused.data
    with app.app_context():
        assert settings.get("ai.temperature") == 0.9
    plain = AgentClient(app, app.response_class, anonymous=True)
    with app.app_context():
        make_agent("plain@example.test", "Plain Agent", role="agent")
    plain.sign_in("plain@example.test", "Plain Agent")
    assert plain.get("/settings").status_code == 403
    assert plain.post("/settings", data={"ai.temperature": "1"}).status_code == 403
