"""The web server's limits (webapp/core/serving.py), on the real eventlet server: one client address
cannot hold more than its share of connections, a connection that sends no request (or sends it too
slowly) is dropped, Socket.IO is WebSocket only and its own answers carry the security headers."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import requests

from tests.helpers.app import LiveServer
from tests.helpers.wait import eventually

StartServer = Callable[..., LiveServer]


def open_idle(server: LiveServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=5)


def is_closed_by_server(conn: socket.socket) -> bytes | None:
    """What the server wrote before closing (b"" if nothing), or None while it stays open."""
    conn.settimeout(0.2)
    received = b""
    try:
        while chunk := conn.recv(4096):
            received += chunk
    except TimeoutError:
        return None
    except OSError:
        pass
    return received


def answers(server: LiveServer) -> bool:
    try:
        return requests.get(f"{server.url}/healthz", timeout=2).ok
    except requests.RequestException:
        return False


def test_one_address_cannot_take_every_connection(start_server: StartServer) -> None:
    server = start_server(MAX_CONNECTIONS_PER_CLIENT=20, WEB_HEADER_TIMEOUT=6)  # time enough to open them all
    idle = [open_idle(server) for _ in range(20)]
    time.sleep(0.3)
    over = open_idle(server)
    refused = eventually(lambda: is_closed_by_server(over), timeout=5)
    assert refused.startswith(b"HTTP/1.1 429")  # closed at once, before it took a slot
    assert not answers(server)  # this address has used up its share...

    # ...until the silent connections are dropped by the header timeout
    for conn in idle:
        assert eventually(lambda conn=conn: is_closed_by_server(conn) is not None, timeout=15)
    eventually(lambda: answers(server), timeout=10)
    for conn in [*idle, over]:
        conn.close()


def test_a_request_head_sent_too_slowly_is_dropped(start_server: StartServer) -> None:
    server = start_server(WEB_HEADER_TIMEOUT=1)
    slow = open_idle(server)
    slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    started = time.monotonic()
    for _ in range(4):  # a header line every half second: each byte in time, the whole head not
        time.sleep(0.5)
        try:
            slow.sendall(b"X-Slow: 1\r\n")
        except OSError:
            break
    assert eventually(lambda: is_closed_by_server(slow) is not None, timeout=3) is not None
    assert time.monotonic() - started < 4
    slow.close()
    # a request sent in one go is answered as usual, and a kept-alive connection serves the next one
    with requests.Session() as session:
        assert session.get(f"{server.url}/healthz", timeout=5).ok
        assert session.get(f"{server.url}/healthz", timeout=5).ok


def test_socketio_takes_websocket_only_and_its_answers_carry_the_security_headers(live_server: LiveServer) -> None:
    polling = requests.get(f"{live_server.url}/socket.io/?EIO=4&transport=polling", timeout=5)
    assert polling.status_code == 400  # no long-polling: nothing to keep sticky between processes
    headers = polling.headers
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
    assert headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert headers["Cache-Control"] == "no-store" and headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
