"""The web server (eventlet's WSGI server, run by `python wsgi.py` and the Procfile), with the limits
one client must not be able to exhaust:

- WEB_MAX_CONNECTIONS: the green-thread pool, i.e. how many connections (idle Socket.IO clients
  included) the process serves at once. The open-file limit is raised to match at start-up.
- MAX_CONNECTIONS_PER_CLIENT: connections from one address. Over it, a new connection is closed at
  once, before it takes a slot. Behind proxies (TRUSTED_PROXIES > 0) every connection comes from the
  proxy, so the proxy limits per client (docs/nginx.conf) and webapp.auth.sockets caps the Socket.IO
  connections per forwarded address.
- WEB_HEADER_TIMEOUT: a request's line and headers must arrive within this many seconds of the
  connection opening (or of the previous response on a kept-alive one); slow or silent clients are
  dropped instead of holding a slot.
- WEB_IDLE_TIMEOUT: any read that waits longer (a stalled body, a WebSocket whose client stopped
  answering Engine.IO's pings) closes the connection.

Imported only by wsgi.py, after eventlet has patched the standard library."""

from __future__ import annotations

import contextlib
import gc
import logging
import resource
import socket
from collections import Counter
from collections.abc import Callable
from typing import Any

import eventlet
import eventlet.wsgi

log = logging.getLogger(__name__)


class HeadTimeout(socket.timeout):
    """The request line and headers took too long (a socket.timeout: eventlet closes quietly)."""


class BoundedProtocol(eventlet.wsgi.HttpProtocol):
    """eventlet's HTTP handler, with a deadline on the request line and headers together."""

    header_timeout: float = 10.0  # serve() sets WEB_HEADER_TIMEOUT on a subclass
    _head_timer: eventlet.Timeout | None = None

    def _read_request_line(self) -> Any:
        self._head_timer = eventlet.Timeout(self.header_timeout, HeadTimeout("request head too slow"))
        return super()._read_request_line()

    def parse_request(self) -> bool:
        try:
            return super().parse_request()
        finally:
            self._stop_timer()

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        finally:
            self._stop_timer()

    def _stop_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None


class AddressCap:
    """How many connections each client address has open, and whether one more may open."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.open: Counter[str] = Counter()
        self.refused = 0

    def admit(self, address: str) -> bool:
        if self.limit is not None and self.open[address] >= self.limit:
            self.refused += 1
            return False
        self.open[address] += 1
        return True

    def release(self, address: str) -> None:
        self.open[address] -= 1
        if self.open[address] <= 0:
            del self.open[address]


class CappedListener:
    """The listening socket as eventlet.wsgi.server sees it: accept() hands over only connections
    whose address is under its cap, and closes the others at once."""

    def __init__(self, sock: socket.socket, cap: AddressCap) -> None:
        self._sock = sock
        self.cap = cap

    def accept(self) -> tuple[socket.socket, Any]:
        while True:
            conn, address = self._sock.accept()
            if self.cap.admit(address[0]):
                return conn, address
            with contextlib.suppress(OSError):
                conn.sendall(b"HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
            conn.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class CappedPool(eventlet.GreenPool):
    """The connection pool: a connection's slot at its address is given back when it closes."""

    def __init__(self, size: int, cap: AddressCap) -> None:
        super().__init__(size)
        self.cap = cap

    def spawn(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        connection = args[0]  # eventlet.wsgi's [address, socket, state]
        return super().spawn(self._serve, function, connection, *args[1:], **kwargs)

    def _serve(self, function: Callable[..., Any], connection: list[Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return function(connection, *args, **kwargs)
        finally:
            self.cap.release(connection[0][0])


def raise_open_file_limit(wanted: int) -> int:
    """As many open files as the pool needs (plus room for the database, Redis and logs), up to the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted + 256 if hard == resource.RLIM_INFINITY else min(hard, wanted + 256)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft


def serve(app: Any, host: str, port: int, config: dict[str, Any]) -> None:
    """Serve `app` (the Flask app; Socket.IO's middleware wraps it) until interrupted."""
    # Thousands of long-lived connections make every garbage collection walk them all: keep what
    # start-up made out of the collector's sight, and collect the young generation less often
    # (halves the server's CPU per pushed message at 3,000 clients: make bench-connections).
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    size = int(config["WEB_MAX_CONNECTIONS"])
    files = raise_open_file_limit(size)
    if files < size:
        log.warning("only %d open files allowed: fewer connections than WEB_MAX_CONNECTIONS=%d fit", files, size)
    behind_proxies = int(config.get("TRUSTED_PROXIES", 0)) > 0
    cap = AddressCap(None if behind_proxies else int(config["MAX_CONNECTIONS_PER_CLIENT"]))
    listener = CappedListener(eventlet.listen((host, port), backlog=2048), cap)
    protocol = type("Protocol", (BoundedProtocol,), {"header_timeout": float(config["WEB_HEADER_TIMEOUT"])})
    eventlet.wsgi.server(
        listener, app,
        custom_pool=CappedPool(size, cap),
        protocol=protocol,
        socket_timeout=float(config["WEB_IDLE_TIMEOUT"]),
        keepalive=float(config["WEB_IDLE_TIMEOUT"]),
        log_output=False,
    )
