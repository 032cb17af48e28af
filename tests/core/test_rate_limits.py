"""Rate limits per client address (Flask-Limiter): the API, the webhook (its own, separate budget)
and sign-in attempts; 429 in the JSON envelope with Retry-After; X-Forwarded-For believed only
from TRUSTED_PROXIES; counts shared by every process through Redis when REDIS_URL is set."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.helpers.app import LiveServer
from tests.helpers.payloads import RAVI, inbound, now, text
from tests.helpers.services import RedisServer

API_LIMIT, WEBHOOK_LIMIT, LOGIN_LIMIT = 5, 8, 3
LIMITS = {
    "RATELIMIT_ENABLED": True,
    "RATELIMIT_API": f"{API_LIMIT} per hour",
    "RATELIMIT_WEBHOOK": f"{WEBHOOK_LIMIT} per hour",
    "RATELIMIT_LOGIN": f"{LOGIN_LIMIT} per hour",
}
VERIFY = "/webhook?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444"


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    """This module's app limits for real, with small limits (the `client` fixture uses it)."""
    return make_app(**LIMITS)


def as_client(address: str) -> dict[str, Any]:
    return {"environ_overrides": {"REMOTE_ADDR": address}}


def assert_too_many(response: TestResponse, limit: str) -> int:
    """429 in the envelope, with a Retry-After a client can act on; returns the wait."""
    assert response.status_code == 429, response.text
    body = response.get_json()
    assert set(body) == {"status", "message", "data"}
    assert body["status"] == "error" and body["data"] is None
    wait = int(response.headers["Retry-After"])
    assert 1 <= wait <= 3600
    assert body["message"] == f"Too many requests: at most {limit} from one client. Try again in {wait} seconds."
    return wait


def test_api_limit_trips_at_the_configured_number(client: FlaskClient) -> None:
    me = as_client("203.0.113.10")
    for _ in range(API_LIMIT):
        assert client.get("/api/conversations", **me).status_code == 200
    assert_too_many(client.get("/api/conversations", **me), f"{API_LIMIT} per 1 hour")
    # one budget for the whole API, not one per route
    assert_too_many(client.get(f"/api/messages/{RAVI}", **me), f"{API_LIMIT} per 1 hour")
    # per client: another address still gets its own five
    assert client.get("/api/conversations", **as_client("203.0.113.11")).status_code == 200


def test_webhook_budget_is_separate_from_the_apis(client: FlaskClient) -> None:
    """A client out of API requests can still receive Meta's deliveries, and the other way round."""
    me = as_client("203.0.113.20")
    for _ in range(API_LIMIT):
        assert client.get("/api/conversations", **me).status_code == 200
    assert client.get("/api/conversations", **me).status_code == 429

    for i in range(WEBHOOK_LIMIT - 1):
        assert client.get(VERIFY, **me).status_code == 200, i
    delivered = client.post("/webhook", json=inbound(text("Hi", timestamp=now())), **me)
    assert delivered.status_code == 200  # the eighth: handshakes and deliveries share the budget
    assert_too_many(client.post("/webhook", json=inbound(text("Again", timestamp=now())), **me),
                    f"{WEBHOOK_LIMIT} per 1 hour")
    assert_too_many(client.get(VERIFY, **me), f"{WEBHOOK_LIMIT} per 1 hour")

    # the page itself is not limited, and the API's count did not move with the webhook's
    assert client.get("/", **me).status_code == 200
    assert client.get("/api/conversations", **as_client("203.0.113.21")).status_code == 200


def _csrf_token(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the sign-in form carries its CSRF token"
    return found.group(1)


def test_sign_in_attempts_are_limited_per_client(app: Flask) -> None:
    """Guessing passwords: a few attempts, then 429 until the window passes; the form still shows."""
    guesser = app.test_client(anonymous=True)
    me = as_client("198.51.100.30")
    form = guesser.get("/login", **me)
    assert form.status_code == 200
    token = _csrf_token(form.text)
    for guess in range(LOGIN_LIMIT):
        attempt = guesser.post("/login", data={"email": "agent@example.com", "password": f"guess-{guess}",
                                               "csrf_token": token}, **me)
        assert attempt.status_code == 401, attempt.status_code  # wrong password, answered as such
    assert_too_many(guesser.post("/login", data={"email": "agent@example.com", "password": "guess-x",
                                                  "csrf_token": token}, **me), f"{LOGIN_LIMIT} per 1 hour")
    assert guesser.get("/login", **me).status_code == 200  # showing the form is not an attempt
    # another client's attempts are its own
    other = app.test_client(anonymous=True)
    theirs = as_client("198.51.100.31")
    their_token = _csrf_token(other.get("/login", **theirs).text)
    assert other.post("/login", data={"email": "agent@example.com", "password": "nope",
                                      "csrf_token": their_token}, **theirs).status_code == 401


def test_limiting_can_be_switched_off(make_app: Callable[..., Flask]) -> None:
    client = make_app(**{**LIMITS, "RATELIMIT_ENABLED": False, "RATELIMIT_WEBHOOK": "1 per hour"}).test_client()
    for _ in range(5):
        assert client.get(VERIFY).status_code == 200


def test_forwarded_for_is_believed_only_from_trusted_proxies(make_app: Callable[..., Flask]) -> None:
    limits = {**LIMITS, "RATELIMIT_WEBHOOK": "2 per hour"}
    direct = make_app(**limits).test_client()
    for forged in ("192.0.2.1", "192.0.2.2"):
        assert direct.get(VERIFY, headers={"X-Forwarded-For": forged}).status_code == 200
    # a client cannot reset its count by making up X-Forwarded-For
    assert direct.get(VERIFY, headers={"X-Forwarded-For": "192.0.2.3"}).status_code == 429

    proxied = make_app(**limits, TRUSTED_PROXIES=1).test_client()
    proxy = as_client("10.0.0.2")  # every request arrives from the proxy's address
    for _ in range(2):
        assert proxied.get(VERIFY, headers={"X-Forwarded-For": "192.0.2.10"}, **proxy).status_code == 200
    assert proxied.get(VERIFY, headers={"X-Forwarded-For": "192.0.2.10"}, **proxy).status_code == 429
    # behind the proxy, each real client has its own count: the address the proxy appended (the
    # right-most) is the client; whatever the client put in front of it is not believed
    assert proxied.get(VERIFY, headers={"X-Forwarded-For": "192.0.2.11"}, **proxy).status_code == 200
    assert proxied.get(VERIFY, headers={"X-Forwarded-For": "192.0.2.12, 192.0.2.10"}, **proxy).status_code == 429


def test_settings_are_checked_at_start_up(make_app: Callable[..., Flask]) -> None:
    from webapp import StartupError

    with pytest.raises(StartupError, match="RATELIMIT_API must be a rate limit such as '10 per minute'"):
        make_app(RATELIMIT_API="lots")
    with pytest.raises(StartupError, match="REDIS_URL must start with redis://"):
        make_app(REDIS_URL="http://127.0.0.1:6379")


# --- several processes, one count: Redis ----------------------------------------------------------


def test_two_processes_share_the_count_through_redis(start_server: Callable[..., LiveServer],
                                                     redis_server: RedisServer) -> None:
    """Two servers (as gunicorn would run two workers, or two machines) and one budget."""
    shared = {**LIMITS, "RATELIMIT_WEBHOOK": "4 per hour", "REDIS_URL": redis_server.url}
    first, second = start_server(**shared), start_server(**shared)

    def verify(server: LiveServer) -> requests.Response:
        return requests.get(f"{server.url}{VERIFY}", timeout=10)

    assert [verify(s).status_code for s in (first, second, first, second)] == [200, 200, 200, 200]
    for server in (first, second):
        refused = verify(server)
        assert refused.status_code == 429
        assert refused.json()["status"] == "error" and int(refused.headers["Retry-After"]) >= 1
    keys = redis_server_keys(redis_server)
    assert any("webhook" in key for key in keys), keys  # the count lives in Redis, not in either process

    # Redis gone: the servers keep answering (no 500s), each counting in its own memory meanwhile
    redis_server.stop()
    assert [verify(first).status_code for _ in range(5)] == [200, 200, 200, 200, 429]
    assert verify(second).status_code == 200
    assert "falling back to in-memory storage" in first.log()


def redis_server_keys(server: RedisServer) -> list[str]:
    import redis

    client = redis.Redis.from_url(server.url, decode_responses=True)
    try:
        return list(client.scan_iter())
    finally:
        client.close()
