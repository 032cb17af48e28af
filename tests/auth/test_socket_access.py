"""Access ends at once on open Socket.IO connections: revoking a token, switching an agent off, a new
password and an expired session close that principal's sockets within seconds, on every web process
(through Redis), the next connection is refused, and everyone else stays connected."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
import socketio

from tests.helpers.app import LiveServer, settings
from tests.helpers.auth import AGENT_EMAIL
from tests.helpers.browser import Listener, post
from tests.helpers.payloads import inbound, text, wamid
from tests.helpers.services import RedisServer
from tests.helpers.wait import eventually
from webapp import create_app
from webapp.auth import tokens
from webapp.auth.documents import AgentSession
from webapp.core.clock import utcnow

StartServer = Callable[..., LiveServer]


def cli(mongodb_uri: str, redis_url: str, *args: str) -> str:
    """A `flask` command, run as an operator would (its own app: no socket of its own)."""
    app = create_app(settings(mongodb_uri, REDIS_URL=redis_url))
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


def token_listener(server: LiveServer, secret: str) -> Listener:
    return Listener(server.url, auth={"token": secret}).connect()


def cookie_listener(server: LiveServer) -> Listener:
    return Listener(server.url, headers={"Cookie": server.agent_headers["Cookie"]}).connect()


def refusal(server: LiveServer, **kwargs: object) -> str:
    """Why the server refuses a new connection (fails if it accepts it)."""
    client = socketio.Client(reconnection=False)
    reasons: list[object] = []
    client.on("connect_error", reasons.append)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(server.url, wait_timeout=10, transports=["websocket"], **kwargs)
    return str(reasons)


def closed(listener: Listener) -> Callable[[], bool]:
    return lambda: not listener.client.connected


def new_token(mongodb_uri: str, name: str) -> str:
    app = create_app(settings(mongodb_uri))
    with app.app_context():
        return tokens.issue(name)[1]


def test_revoking_a_token_closes_its_sockets_on_every_web_process(
    start_server: StartServer, redis_server: RedisServer, mongodb_uri: str
) -> None:
    # SOCKET_RECHECK_SECONDS=0: no periodic check, so only the message through Redis can close them
    first, second = (start_server(REDIS_URL=redis_server.url, SOCKET_RECHECK_SECONDS=0) for _ in range(2))
    script = new_token(mongodb_uri, "script")
    on_first, on_second = token_listener(first, script), token_listener(second, script)
    others = [token_listener(first, first.token), token_listener(second, second.token)]

    output = cli(mongodb_uri, redis_server.url, "tokens", "revoke", "script")
    assert "Revoked 'script'" in output
    eventually(closed(on_first), timeout=3)
    eventually(closed(on_second), timeout=3)

    assert "was revoked" in refusal(first, auth={"token": script})
    # everyone else is still connected, and still told about new messages
    message = wamid()
    post(first, inbound(text("still here?", id=message)))
    for listener in others:
        assert listener.client.connected
        listener.wait_for("message:new", id=message)
    for listener in [on_first, on_second, *others]:
        listener.disconnect()


@pytest.mark.parametrize("command", [["agents", "deactivate", AGENT_EMAIL],
                                     ["agents", "set-password", AGENT_EMAIL, "--password", "a brand new secret"]])
def test_switching_an_agent_off_or_a_new_password_closes_their_pages_sockets(
    start_server: StartServer, redis_server: RedisServer, mongodb_uri: str, command: list[str]
) -> None:
    first, second = (start_server(REDIS_URL=redis_server.url, SOCKET_RECHECK_SECONDS=0) for _ in range(2))
    pages = [cookie_listener(first), cookie_listener(second), cookie_listener(second)]
    program = token_listener(first, first.token)
    # the test agent is the first, so the only admin: another admin lets it be switched off
    cli(mongodb_uri, redis_server.url, "create-agent", "boss@example.test", "--password", "another long secret",
        "--role", "admin")

    cli(mongodb_uri, redis_server.url, *command)
    for page in pages:
        eventually(closed(page), timeout=3)
    assert "Sign in first" in refusal(first, headers={"Cookie": first.agent_headers["Cookie"]})
    assert program.client.connected  # a token is not the agent's
    program.disconnect()


def test_an_expired_session_closes_its_socket(start_server: StartServer, mongodb_uri: str) -> None:
    server = start_server(SOCKET_RECHECK_SECONDS=0)
    app = create_app(settings(mongodb_uri))
    with app.app_context():
        AgentSession.objects.update(set__expires_at=utcnow() + timedelta(seconds=2))
    page = cookie_listener(server)
    assert page.client.connected
    eventually(closed(page), timeout=6)  # within a second of the expiry, with nobody doing anything
    assert "Sign in first" in refusal(server, headers={"Cookie": server.agent_headers["Cookie"]})


def test_without_redis_the_periodic_check_closes_a_revoked_tokens_socket(
    start_server: StartServer, mongodb_uri: str
) -> None:
    server = start_server(SOCKET_RECHECK_SECONDS=1)
    script = new_token(mongodb_uri, "script")
    listener = token_listener(server, script)
    cli(mongodb_uri, "", "tokens", "revoke", "script")
    eventually(closed(listener), timeout=5)


def test_an_event_from_a_client_whose_access_ended_is_refused(start_server: StartServer, mongodb_uri: str) -> None:
    server = start_server(SOCKET_RECHECK_SECONDS=0)
    script = new_token(mongodb_uri, "script")
    listener = token_listener(server, script)
    assert listener.client.call("hello", {}, timeout=5)["message"] == "Unknown event 'hello'."

    app = create_app(settings(mongodb_uri))
    with app.app_context():
        tokens.revoke("script")  # in the database only: nothing told the server
    answer = listener.client.call("hello", {}, timeout=5)
    assert answer == {"status": "error", "message": answer["message"]} and "Access ended" in answer["message"]
    eventually(closed(listener), timeout=3)


def test_sockets_per_client_address_are_capped_behind_a_proxy(start_server: StartServer) -> None:
    """Behind a proxy every connection comes from it: the cap counts the forwarded client address."""
    server = start_server(MAX_CONNECTIONS_PER_CLIENT=3, TRUSTED_PROXIES=1)
    one, other = {"X-Forwarded-For": "203.0.113.5"}, {"X-Forwarded-For": "198.51.100.7"}
    listeners = [Listener(server.url, auth={"token": server.token}, headers=one).connect() for _ in range(3)]
    assert "Too many connections" in refusal(server, auth={"token": server.token}, headers=one)
    neighbour = Listener(server.url, auth={"token": server.token}, headers=other).connect()  # not theirs to use up

    listeners.pop().disconnect()
    eventually(lambda: _connects(server, one))
    for listener in [*listeners, neighbour]:
        listener.disconnect()


def _connects(server: LiveServer, headers: dict[str, str]) -> bool:
    try:
        Listener(server.url, auth={"token": server.token}, headers=headers).connect().disconnect()
    except socketio.exceptions.ConnectionError:
        return False
    return True
