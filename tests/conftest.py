"""Test harness: a real MongoDB wire-protocol server for the whole run (FerretDB 1.24 on SQLite,
or the server at $MONGODB_URI), a fresh database per test, and the app served for real by
eventlet when a test needs a socket."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pymongo
import pytest
from flask import Flask
from flask.testing import FlaskClient

from devdb.launcher import DevDB
from tests.helpers.app import LiveServer, settings, with_database
from tests.helpers.auth import AgentClient, credentials_for


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


@pytest.fixture
def mongodb_uri(mongodb_server: str) -> Iterator[str]:
    """A throwaway database on the test server, dropped afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    uri = with_database(mongodb_server, name)
    yield uri
    client: pymongo.MongoClient[Any] = pymongo.MongoClient(mongodb_server, serverSelectionTimeoutMS=5000)
    try:
        client.drop_database(name)
    finally:
        client.close()


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
# Fixtures shared from tests/helpers: the browser and Socket.IO clients, redis-server, the local Graph API.
pytest_plugins = ["tests.helpers.browser", "tests.helpers.services", "tests.helpers.graph_api", "tests.helpers.llm_api"]
