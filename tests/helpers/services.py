"""Real redis-server (Debian's, installed by `make system-deps`) and real RQ workers (`flask worker`)
for the tests that need shared state between processes (loaded by conftest's pytest_plugins). The
servers themselves are devdb.launcher's, the same ones `make run` starts."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devdb.launcher import RedisServer, Worker
from tests.helpers.app import settings

__all__ = ["RedisServer", "Worker", "redis_server", "start_worker"]


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


StartWorker = Callable[..., Worker]


@pytest.fixture
def start_worker(mongodb_uri: str, redis_server: RedisServer, tmp_path: Path) -> Iterator[StartWorker]:
    """start_worker(**settings) runs a `flask worker` on this test's database and redis-server."""
    workers: list[Worker] = []

    def start(**overrides: Any) -> Worker:
        values = settings(mongodb_uri, **{"REDIS_URL": redis_server.url, **overrides})
        env = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in values.items()}
        worker = Worker({**os.environ, **env}, tmp_path / f"worker-{len(workers)}.log")
        workers.append(worker)
        return worker.start()

    yield start
    for worker in workers:
        worker.stop()

