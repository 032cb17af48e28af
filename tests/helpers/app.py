"""The app under test: its settings, the app served for real by `python wsgi.py` (eventlet unless
told otherwise), and a start-up run of wsgi.py that is expected to stop."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pymongo
import requests

from devdb.launcher import free_port, stop_process, wait_until_ready
from tests.helpers.auth import Credentials

ROOT = Path(__file__).resolve().parent.parent.parent
ARTIFACTS = ROOT / "test-artifacts"

BUSINESS_NUMBER = "918329446654"
PHONE_NUMBER_ID = "629305560276479"


def with_database(server: str, name: str) -> str:
    parsed = pymongo.uri_parser.parse_uri(server)
    base, _, query = server.partition("?")
    if parsed.get("database"):
        base = base[: base.rindex("/")]
    base = base.rstrip("/")
    return f"{base}/{name}" + (f"?{query}" if query else "")


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
        "RATELIMIT_ENABLED": False,  # tests/core/test_rate_limits.py switches it on
        "REDIS_URL": "",
    }
    values.update(overrides)
    return values


def start_wsgi(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `python wsgi.py` with `env` (and no database or secret from this shell) until it stops."""
    clean = {k: v for k, v in os.environ.items() if k not in {"MONGODB_URI", "SECRET_KEY", "APP_ENV"}}
    return subprocess.run([sys.executable, "wsgi.py"], cwd=ROOT, env={**clean, "APP_ENV": "test", **env},
                          capture_output=True, text=True, timeout=60)


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

        def answers() -> bool:
            try:
                return requests.get(f"{self.url}/healthz", timeout=1).ok
            except requests.RequestException:
                return False

        wait_until_ready(self.process, answers, what="the server", timeout=timeout, log=self.log, interval=0.1)
        return self

    def post_webhook(self, body: Any) -> dict[str, Any]:
        """POST a webhook body that must be accepted; its result (`data`)."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        response = requests.post(f"{self.url}/webhook", data=data, headers={"Content-Type": "application/json"},
                                 timeout=10)
        assert response.status_code == 200, response.text
        return response.json()["data"]

    def api_get(self, path: str) -> dict[str, Any]:
        """GET under /api with this server's token: the envelope, which must be a success."""
        response = requests.get(f"{self.url}{path}", headers=self.auth_headers, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def api_post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = requests.post(f"{self.url}{path}", json=body, headers=self.auth_headers, timeout=10)
        assert response.status_code in (200, 201), response.text
        return response.json()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        stop_process(self.process)
