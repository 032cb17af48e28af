"""Start-up fails fast, with one clear line, when a setting is missing or the database is away."""

from __future__ import annotations

import pytest
import requests

from devdb.launcher import free_port
from tests.helpers.app import start_wsgi
from webapp import StartupError, create_app


def test_missing_database_setting_is_one_clear_line() -> None:
    result = start_wsgi({"PORT": str(free_port())})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: MONGODB_URI is not set: point it at a MongoDB server, or use `make run`, which starts a local one"
    ]


def test_unreachable_database_is_one_clear_line() -> None:
    port = free_port()  # nothing listens there
    result = start_wsgi({"MONGODB_URI": f"mongodb://user:pw@127.0.0.1:{port}/inbox", "MONGODB_TIMEOUT_MS": "300",
                    "PORT": str(free_port())})
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: cannot reach the database at mongodb://***@127.0.0.1:{port}/inbox")
    assert "pw" not in result.stderr


def test_production_requires_its_secrets(mongodb_uri: str) -> None:
    result = start_wsgi({"MONGODB_URI": mongodb_uri, "APP_ENV": "production", "PORT": str(free_port())})
    assert result.returncode == 1
    assert result.stderr.strip() == "error: SECRET_KEY is required when APP_ENV=production"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"SOCKETIO_ASYNC_MODE": "gevent"}, "SOCKETIO_ASYNC_MODE must be eventlet or threading"),
        ({"PHONE_NUMBER_ID": "12ab"}, "PHONE_NUMBER_ID must be digits only"),
        ({"MONGODB_URI": "postgres://x"}, "MONGODB_URI must start with mongodb://"),
        ({"APP_ENV": "staging"}, "^APP_ENV must be development, production or test, not 'staging'$"),
        ({"SESSION_LIFETIME_HOURS": 0}, "^SESSION_LIFETIME_HOURS must be 1 or more, not 0$"),
        ({"RATELIMIT_API": "lots"}, "^RATELIMIT_API must be a rate limit such as '10 per minute', not 'lots'$"),
    ],
)
def test_malformed_settings_are_named(mongodb_uri: str, override: dict[str, str], message: str) -> None:
    with pytest.raises(StartupError, match=message):
        create_app({"APP_ENV": "test", "MONGODB_URI": mongodb_uri, **override})


def test_malformed_boolean_from_environment_is_named(mongodb_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIMULATE_DELIVERY", "maybe")
    with pytest.raises(StartupError, match="SIMULATE_DELIVERY must be one of true/false"):
        create_app({"APP_ENV": "test", "MONGODB_URI": mongodb_uri})


def test_malformed_number_from_environment_is_named(mongodb_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONGODB_TIMEOUT_MS", "3s")
    with pytest.raises(StartupError, match=r"^MONGODB_TIMEOUT_MS must be a number, not '3s'$"):
        create_app({"APP_ENV": "test", "MONGODB_URI": mongodb_uri})


def test_wsgi_serves_on_port_with_indexes_created(start_server, mongodb_uri: str) -> None:
    server = start_server()
    assert requests.get(f"{server.url}/healthz", timeout=5).json() == {"status": "ok"}
    import pymongo

    client: pymongo.MongoClient = pymongo.MongoClient(mongodb_uri)
    try:
        indexes = client.get_default_database()["messages"].index_information()
        assert "conversation_timeline" in indexes
        conversations = client.get_default_database()["conversations"].index_information()
        assert conversations["business_contact"].get("unique") is True
    finally:
        client.close()
