"""`make bench-connections`: how many idle Socket.IO clients one web process holds, what each costs in
memory, and how fast a webhook reaches every connected client.

The server is the real one (`python wsgi.py`: eventlet, webapp/core/serving.py) on a fresh FerretDB
and, as in production, with REDIS_URL (pushes go out through Redis; BENCH_REDIS=0 leaves it out).
The clients speak the real wire protocol (WebSocket, Engine.IO 4, Socket.IO 5, signed in with an API
token in the handshake) from one asyncio process (wsproto for the WebSocket framing), so thousands fit
on one machine: each answers the server's pings and records when a pushed `message:new` arrives.

Settings (environment): BENCH_CLIENTS (5000), BENCH_FANOUT_CLIENTS (1000), BENCH_WEBHOOKS (5).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Ping, RejectConnection, Request, TextMessage

from devdb.launcher import DevDB, RedisServer
from tests.helpers.app import LiveServer, settings, with_database
from tests.helpers.payloads import inbound, raw, text, wamid
from webapp import create_app
from webapp.auth import tokens

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "5000"))
FANOUT_CLIENTS = int(os.environ.get("BENCH_FANOUT_CLIENTS", "1000"))
WEBHOOKS = int(os.environ.get("BENCH_WEBHOOKS", "5"))
CONNECT_AT_ONCE = 200


class Client:
    """One Socket.IO client on its own WebSocket."""

    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token
        self.seen: dict[str, float] = {}  # wamid → when its message:new arrived
        self.connected = asyncio.Event()
        self.refused: str | None = None
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        ws = WSConnection(ConnectionType.CLIENT)
        writer.write(ws.send(Request(host=f"127.0.0.1:{self.port}", target="/socket.io/?EIO=4&transport=websocket")))
        try:
            while data := await reader.read(65536):
                ws.receive_data(data)
                for event in ws.events():
                    if isinstance(event, AcceptConnection):
                        pass
                    elif isinstance(event, RejectConnection):
                        self.refused = f"WebSocket refused: {event.status_code}"
                        self.connected.set()
                        return
                    elif isinstance(event, Ping):
                        writer.write(ws.send(event.response()))
                    elif isinstance(event, CloseConnection):
                        return
                    elif isinstance(event, TextMessage):
                        self._packet(event.data, ws, writer)
                await writer.drain()
        finally:
            writer.close()

    def _packet(self, packet: str, ws: WSConnection, writer: asyncio.StreamWriter) -> None:
        if packet.startswith("0{"):  # Engine.IO open: connect to the namespace, signed in with the token
            writer.write(ws.send(TextMessage(data="40" + json.dumps({"token": self.token}))))
        elif packet == "2":  # Engine.IO ping: pong
            writer.write(ws.send(TextMessage(data="3")))
        elif packet.startswith("40"):
            self.connected.set()
        elif packet.startswith("44"):
            self.refused = packet[2:]
            self.connected.set()
        elif packet.startswith('42["message:new"'):
            self.seen[json.loads(packet[2:])[1]["id"]] = time.perf_counter()


def server_cpu_seconds(pid: int) -> float:
    """User + system CPU time the server process has used (load-independent, unlike wall-clock time)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def connect(clients: list[Client]) -> None:
    for start in range(0, len(clients), CONNECT_AT_ONCE):
        batch = clients[start:start + CONNECT_AT_ONCE]
        for client in batch:
            client.task = asyncio.create_task(client.run())
        await asyncio.wait_for(asyncio.gather(*(c.connected.wait() for c in batch)), timeout=120)
        refused = [c.refused for c in batch if c.refused]
        if refused:
            raise RuntimeError(f"{len(refused)} clients refused, e.g. {refused[0]}")


async def fan_out(server: LiveServer, pid: int, clients: list[Client]) -> tuple[list[float], float]:
    """Seconds from POST /webhook to the last of `clients` receiving the message, per webhook; and the
    server's CPU seconds per webhook (storing it, and pushing it to every client)."""
    latencies = []
    cpu = server_cpu_seconds(pid)
    for n in range(WEBHOOKS):
        message = wamid()
        body = raw(inbound(text(f"fan-out {n}", id=message, timestamp=int(time.time()))))
        started = time.perf_counter()
        response = await asyncio.to_thread(requests.post, f"{server.url}/webhook", data=body,
                                           headers={"Content-Type": "application/json"}, timeout=30)
        assert response.status_code == 200, response.text
        answered = time.perf_counter() - started
        deadline = started + 30
        while not all(message in c.seen for c in clients) and time.perf_counter() < deadline:
            await asyncio.sleep(0.005)
        missing = sum(message not in c.seen for c in clients)
        if missing:
            raise RuntimeError(f"{missing} of {len(clients)} clients never got the message")
        latencies.append(max(c.seen[message] for c in clients) - started)
        first_seen = min(c.seen[message] for c in clients) - started
        print(f"  webhook {n}: answered in {answered * 1000:.0f} ms, first client {first_seen * 1000:.0f} ms, "
              f"last {latencies[-1] * 1000:.0f} ms", flush=True)
        await asyncio.sleep(0.5)
    return latencies, (server_cpu_seconds(pid) - cpu) / WEBHOOKS


async def bench(server: LiveServer, pid: int, token: str) -> dict[str, Any]:
    results: dict[str, Any] = {}
    await asyncio.sleep(1)
    base = server_rss_kb(pid)
    first = [Client(server.port, token) for _ in range(FANOUT_CLIENTS)]
    await connect(first)
    latencies, cpu = await fan_out(server, pid, first)
    results[f"webhook → all {FANOUT_CLIENTS} clients"] = (
        f"max {max(latencies) * 1000:.0f} ms, median {sorted(latencies)[len(latencies) // 2] * 1000:.0f} ms "
        f"over {WEBHOOKS} webhooks; server CPU {cpu * 1000:.0f} ms per webhook")

    rest = [Client(server.port, token) for _ in range(CLIENTS - FANOUT_CLIENTS)]
    started = time.perf_counter()
    await connect(rest)
    everyone = first + rest
    await asyncio.sleep(2)
    rss = server_rss_kb(pid)
    results[f"{CLIENTS} idle clients connected"] = (
        f"in {time.perf_counter() - started:.1f}s (after the first {FANOUT_CLIENTS}); server RSS "
        f"{base / 1024:.0f} MB → {rss / 1024:.0f} MB = {(rss - base) / CLIENTS:.1f} KB per client")
    latencies, cpu = await fan_out(server, pid, everyone)
    results[f"webhook → all {CLIENTS} clients"] = (
        f"max {max(latencies) * 1000:.0f} ms, median {sorted(latencies)[len(latencies) // 2] * 1000:.0f} ms "
        f"over {WEBHOOKS} webhooks; server CPU {cpu * 1000:.0f} ms per webhook")
    results["still connected after"] = f"{sum(1 for c in everyone if c.task and not c.task.done())} of {CLIENTS}"
    for client in everyone:
        if client.task:
            client.task.cancel()
    return results


def main() -> None:
    os.environ.setdefault("APP_ENV", "test")
    with tempfile.TemporaryDirectory() as tmp, DevDB(Path(tmp) / "db") as db:
        redis = RedisServer(Path(tmp) / "redis").start() if os.environ.get("BENCH_REDIS", "1") != "0" else None
        uri = with_database(db.uri, "bench_connections")
        overrides = {"MAX_CONNECTIONS_PER_CLIENT": CLIENTS + 100, "WEB_MAX_CONNECTIONS": CLIENTS + 500,
                     "SOCKET_RECHECK_SECONDS": 0, "REDIS_URL": redis.url if redis else ""}
        env = {k: str(v).lower() if isinstance(v, bool) else str(v)
               for k, v in settings(uri, SOCKETIO_ASYNC_MODE="eventlet", **overrides).items()}
        server = LiveServer(env, Path(tmp) / "server.log")
        app = create_app(settings(uri, **overrides))
        with app.app_context():
            _, token = tokens.issue("bench")
        server.start()
        try:
            assert server.process is not None
            results = asyncio.run(bench(server, server.process.pid, token))
        finally:
            server.stop()
            if redis:
                redis.stop()
    layout = "eventlet, Redis" if redis else "eventlet"
    print(f"\nConnections on one web process ({layout}), {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f} at the end:")
    for name, value in results.items():
        print(f"  {name}: {value}")


if __name__ == "__main__":
    sys.exit(main())
