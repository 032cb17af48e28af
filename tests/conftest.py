"""Test harness: a real MongoDB wire-protocol server for the whole run (FerretDB 1.24 on SQLite,
or the server at $MONGODB_URI), a fresh database per test, and the app served for real by
eventlet when a test needs a socket."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pymongo
import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from devdb.launcher import DevDB, free_port, stop_process
from tests.auth_helpers import AgentClient, Credentials, credentials_for

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"

BUSINESS_NUMBER = "918329446654"
PHONE_NUMBER_ID = "629305560276479"


@pytest.fixture(scope="session")
def mongodb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The server URI (no database): $MONGODB_URI if set, else FerretDB started here."""
    external = os.environ.get("MONGODB_URI")
    if external:
        yield external
        return
    directory = tmp_path_factory.mktemp("ferretdb")
    with DevDB(directory) as db:
        yield db.uri


def _with_database(server: str, name: str) -> str:
    parsed = pymongo.uri_parser.parse_uri(server)
    base, _, query = server.partition("?")
    if parsed.get("database"):
        base = base[: base.rindex("/")]
    base = base.rstrip("/")
    return f"{base}/{name}" + (f"?{query}" if query else "")


@pytest.fixture
def mongodb_uri(mongodb_server: str) -> Iterator[str]:
    """A throwaway database on the test server, dropped afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    uri = _with_database(mongodb_server, name)
    yield uri
    client: pymongo.MongoClient[Any] = pymongo.MongoClient(mongodb_server, serverSelectionTimeoutMS=5000)
    try:
        client.drop_database(name)
    finally:
        client.close()


def settings(mongodb_uri: str, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "APP_ENV": "test",
        "MONGODB_URI": mongodb_uri,
        "SECRET_KEY": "test-secret-key",
        "WHATSAPP_VERIFY_TOKEN": "verify-me",
        "WHATSAPP_APP_SECRET": "",
        "BUSINESS_DISPLAY_NUMBER": BUSINESS_NUMBER,
        "PHONE_NUMBER_ID": PHONE_NUMBER_ID,
        "SIMULATE_DELIVERY": False,
        "SOCKETIO_ASYNC_MODE": "threading",
        "RATELIMIT_ENABLED": False,  # tests/test_rate_limits.py switches it on
        "REDIS_URL": "",
    }
    values.update(overrides)
    return values


@pytest.fixture
def make_app(mongodb_uri: str) -> Callable[..., Flask]:
    from webapp import create_app

    def make(**overrides: Any) -> Flask:
        app = create_app(settings(mongodb_uri, **overrides))
        app.testing = True
        # app.test_client() is signed in as an agent; app.test_client(anonymous=True) is not.
        app.test_client_class = AgentClient
        return app

    return make


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


class LiveServer:
    """The app served by `python wsgi.py` (eventlet unless told otherwise) on a free port."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **env, "PORT": str(self.port), "HOST": "127.0.0.1", "PYTHONUNBUFFERED": "1"}
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.credentials: Credentials | None = None  # set by start_server before the server starts

    @property
    def token(self) -> str:
        """An API token for this server (for requests and python-socketio)."""
        assert self.credentials is not None
        return self.credentials.token

    @property
    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def agent_headers(self) -> dict[str, str]:
        """What the inbox page sends: the test agent's session cookie and its CSRF token."""
        assert self.credentials is not None
        return {"Cookie": f"{self.credentials.cookie_name}={self.credentials.session_cookie}",
                "X-CSRFToken": self.credentials.csrf_token}

    def start(self, timeout: float = 30.0) -> LiveServer:
        log = open(self.log_path, "wb")  # noqa: SIM115 - handed to the process
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "wsgi.py")], cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited ({self.process.returncode}):\n{self.log()}")
            try:
                if requests.get(f"{self.url}/healthz", timeout=1).ok:
                    return self
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"server did not answer within {timeout}s:\n{self.log()}")
            time.sleep(0.1)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        stop_process(self.process)


@pytest.fixture
def start_server(mongodb_uri: str, tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    servers: list[LiveServer] = []

    def start(**overrides: Any) -> LiveServer:
        env = {k: str(v).lower() if isinstance(v, bool) else str(v)
               for k, v in settings(mongodb_uri, **{"SOCKETIO_ASYNC_MODE": "eventlet", **overrides}).items()}
        server = LiveServer(env, tmp_path / f"server-{len(servers)}.log")
        from webapp import create_app  # the same database and secret key, in this process

        values = settings(mongodb_uri, **{**overrides, "SOCKETIO_ASYNC_MODE": "threading"})
        server.credentials = credentials_for(create_app(values), f"live-server-{server.port}")
        servers.append(server)
        return server.start()

    start.servers = servers  # type: ignore[attr-defined]  # for `pages`, which signs its pages in
    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def live_server(start_server: Callable[..., LiveServer]) -> LiveServer:
    return start_server()


# Browser (Playwright) and Socket.IO client fixtures for the UI tests.
pytest_plugins = ["tests.ui_helpers", "tests.service_helpers"]  # browser, Socket.IO; redis-server
