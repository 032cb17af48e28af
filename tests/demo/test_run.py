"""`make run` (python -m devdb.run): one command starts Redis, a job worker and the web server (the
database here is the test run's, as when MONGODB_URI is set), and SIGTERM stops every one of them."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import redis
import requests

from devdb.launcher import free_port, port_open
from tests.helpers.app import ROOT, settings
from tests.helpers.wait import eventually


def descendants(pid: int) -> set[int]:
    """Every process below `pid`, from /proc (the worker and redis-server run in sessions of their own)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_make_run_starts_redis_a_worker_and_the_app_then_stops_them_all(mongodb_uri: str, tmp_path: Path) -> None:
    port = free_port()
    env = {k: str(v).lower() if isinstance(v, bool) else str(v)
           for k, v in settings(mongodb_uri, SOCKETIO_ASYNC_MODE="eventlet", PORT=port).items()}
    env.pop("REDIS_URL")  # unset: `make run` starts its own
    instance = tmp_path / "instance"
    run = subprocess.Popen([sys.executable, "-m", "devdb.run", "--instance", str(instance)], cwd=ROOT,
                           env={**os.environ, **env, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in run.stdout], daemon=True).start()  # type: ignore[union-attr]
    output: list[str] = []

    def wait_for(pattern: str, timeout: float = 30) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                output.append(lines.get(timeout=0.2))
            except queue.Empty:
                assert run.poll() is None, "".join(output)
                continue
            if match := re.search(pattern, output[-1]):
                return match
        raise AssertionError(f"no {pattern!r} within {timeout}s:\n{''.join(output)}")

    try:
        redis_url = wait_for(r"Local Redis started at (redis://\S+), data in ").group(1)
        wait_for(r"Job worker started")
        wait_for(r"Serving the inbox on")
        # "Serving" is printed just before the server binds its port: give it a moment.
        eventually(lambda: port_open(port), timeout=15)
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).ok
        started = descendants(run.pid)
        client = redis.Redis.from_url(redis_url)
        workers = [client.hget(key, "pid") for key in client.smembers("rq:workers")]
        assert len(workers) == 1 and int(workers[0]) in started  # one worker, ours, on this Redis
        client.close()
        assert (instance / "redis").is_dir() and (instance / "worker.log").exists()
        assert len(started) >= 3  # redis-server, the worker (and its scheduler), the web server
    finally:
        run.send_signal(signal.SIGTERM)
        code = run.wait(timeout=30)
    assert code == 0, "".join(output)
    redis_port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    assert not port_open(redis_port) and not port_open(port)
    assert [pid for pid in started if alive(pid)] == []
