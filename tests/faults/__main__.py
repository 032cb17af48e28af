"""The fault suite (`make faults`): real processes on loopback, each scenario bounded in time.

Every scenario starts its own FerretDB, redis-server, web server(s) (`python wsgi.py`, eventlet) and one
`flask worker` (whose sweep applies deliveries left unprocessed), sends signed webhook deliveries the way
Meta does (each one retried until it is answered 200), breaks something, and then prints:

- acknowledged-but-lost: deliveries answered 200 whose messages or statuses are not in the database once
  the system settled (must be 0);
- wrong counters: conversations whose unread count, summary or tick differs from what the stored
  messages and what was sent say (must be 0);
- recovery time: from the end of the fault to the first delivery accepted again, and to every counter
  being right.

Scenarios: db-kill (FerretDB killed for 5 s during the load), app-kill (the web server killed with
`kill -9` during it), poison (a body with a bad event in the middle), race (two web servers and the worker
on the same conversations, every delivery sent to both), idle (1,000 idle connections held open during the
load). `python -m tests.faults [SCENARIO …]`; exits 1 when a must-be-0 number is not 0.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymongo
import requests

from devdb.launcher import DevDB, RedisServer, Worker
from tests.helpers.app import PHONE_NUMBER_ID, LiveServer, settings, with_database
from tests.helpers.payloads import inbound, meta_body, outbound, status, text, value

SECRET = "fault-suite-app-secret"
T0 = 1754400000
STATUSES = ("sent", "delivered", "read")
RANK = {"sent": 1, "delivered": 3, "read": 4}
SETTLE = 30.0  # seconds the system gets to converge after the load


# --- the deliveries: what Meta sends, and what the database must say afterwards ---------------------------------


@dataclass
class Delivery:
    body: bytes
    messages: list[str] = field(default_factory=list)  # wamids it carries
    statuses: list[tuple[str, str]] = field(default_factory=list)  # (wamid, status)
    acked_at: float | None = None
    tries: int = 0


@dataclass
class Load:
    deliveries: list[Delivery]
    unread: dict[str, int]  # wa_id → inbound messages sent
    latest: dict[str, tuple[str, int]]  # wa_id → its latest message and that one's tick (the reply, read)


def build_load(contacts: int, per_contact: int, seed: int = 11) -> Load:
    """Per contact: `per_contact` customer messages, then the business's reply (newest of all) and its
    sent, delivered and read statuses, shuffled (a status may come before its message)."""
    deliveries: list[Delivery] = []
    unread: dict[str, int] = {}
    latest: dict[str, tuple[str, int]] = {}
    for c in range(contacts):
        wa_id = f"9198{c:08d}"
        unread[wa_id] = per_contact
        for i in range(per_contact):
            wamid = f"wamid.F{c:04d}M{i:04d}"
            body = inbound(text(f"message {i}", id=wamid, sender=wa_id, timestamp=T0 + i), wa_id=wa_id,
                           name=f"Customer {c}")
            deliveries.append(Delivery(json.dumps(body).encode(), messages=[wamid]))
        out = f"wamid.F{c:04d}REPLY"
        latest[wa_id] = (out, RANK["read"])
        body = inbound(outbound("We're on it", to=wa_id, id=out, timestamp=T0 + 10_000), wa_id=wa_id,
                       name=f"Customer {c}")
        deliveries.append(Delivery(json.dumps(body).encode(), messages=[out]))
        for k, name in enumerate(STATUSES):
            body = meta_body(value(statuses=[status(out, name, timestamp=T0 + 10_001 + k, recipient=wa_id)]))
            deliveries.append(Delivery(json.dumps(body).encode(), statuses=[(out, name)]))
    random.Random(seed).shuffle(deliveries)
    return Load(deliveries, unread, latest)


def sign(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


class Meta:
    """Sends deliveries at `rate` per second from `threads` threads, each retried (0.25 s, doubling to
    2 s) until it is answered 200 or `deadline` passes: as WhatsApp does, which never resends a 200."""

    def __init__(self, targets: Callable[[], list[str]], rate: float, threads: int = 8, deadline: float = 60) -> None:
        self.targets = targets
        self.rate = rate
        self.threads = threads
        self.deadline = deadline
        self.accepted: list[float] = []  # when each 200 came
        self.lock = threading.Lock()

    def send(self, deliveries: list[Delivery], *, to_all: bool = False) -> None:
        start = time.monotonic()
        end = start + self.deadline
        queue = list(enumerate(deliveries))
        taken = iter(queue)

        def worker() -> None:
            session = requests.Session()
            while True:
                with self.lock:
                    item = next(taken, None)
                if item is None:
                    return
                n, delivery = item
                due = start + n / self.rate
                if (wait := due - time.monotonic()) > 0:
                    time.sleep(wait)
                self._deliver(session, delivery, end, to_all)

        pool = [threading.Thread(target=worker, daemon=True) for _ in range(self.threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()

    def _deliver(self, session: requests.Session, delivery: Delivery, end: float, to_all: bool) -> None:
        backoff = 0.25
        while time.monotonic() < end:
            urls = self.targets()
            targets = urls if to_all else [random.choice(urls)]
            ok = True
            for url in targets:
                delivery.tries += 1
                try:
                    response = session.post(f"{url}/webhook", data=delivery.body, timeout=10, headers={
                        "Content-Type": "application/json", "X-Hub-Signature-256": sign(delivery.body)})
                    ok = ok and response.status_code == 200
                except requests.RequestException:
                    ok = False
            if ok:
                now = time.monotonic()
                delivery.acked_at = now
                with self.lock:
                    self.accepted.append(now)
                return
            time.sleep(backoff)
            backoff = min(2.0, backoff * 2)

    def first_accept_after(self, moment: float) -> float | None:
        with self.lock:
            later = [t for t in self.accepted if t >= moment]
        return min(later) - moment if later else None


# --- the system under test ----------------------------------------------------------------------------------------


class System:
    """FerretDB, redis-server, web servers and a worker, all of this scenario's own."""

    def __init__(self, root: Path, servers: int = 1) -> None:
        self.root = root
        self.db = DevDB(root / "ferretdb").start()
        self.redis = RedisServer(root / "redis").start()
        self.uri = with_database(self.db.uri, "faults")
        self.env = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in settings(
            self.uri, REDIS_URL=self.redis.url, WHATSAPP_APP_SECRET=SECRET, SOCKETIO_ASYNC_MODE="eventlet",
            MONGODB_TIMEOUT_MS=2000, WEBHOOK_SWEEP_SECONDS=1, WEBHOOK_STUCK_AFTER=3, LOG_LEVEL="WARNING").items()}
        self.servers = [self._server(n) for n in range(servers)]
        self.worker = Worker({**os.environ, **self.env, "SOCKETIO_ASYNC_MODE": "threading"},
                             root / "worker.log").start()
        self._db_client: Any = None

    def _server(self, n: int) -> LiveServer:
        return LiveServer(self.env, self.root / f"server-{n}-{time.monotonic_ns()}.log").start(timeout=60)

    def urls(self) -> list[str]:
        return [s.url for s in self.servers]

    def kill_server(self, n: int = 0) -> None:
        process = self.servers[n].process
        assert process is not None
        process.send_signal(signal.SIGKILL)
        process.wait()

    def restart_server(self, n: int = 0) -> None:
        self.servers[n] = self._server(n)

    def kill_db(self) -> None:
        assert self.db.process is not None
        os.killpg(self.db.process.pid, signal.SIGKILL)
        self.db.process.wait()

    def restart_db(self) -> None:
        self.db.start()

    def database(self) -> Any:
        if self._db_client is None:
            self._db_client = pymongo.MongoClient(self.uri, serverSelectionTimeoutMS=5000)
        return self._db_client.get_default_database()

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, **self.env, "SOCKETIO_ASYNC_MODE": "threading"}
        return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], env=env, text=True,
                              capture_output=True, timeout=60, cwd=Path(__file__).resolve().parents[2])

    def stop(self) -> None:
        if self._db_client is not None:
            self._db_client.close()
        self.worker.stop()
        for server in self.servers:
            server.stop()
        self.redis.stop()
        self.db.stop()


@contextmanager
def system(name: str, servers: int = 1) -> Iterator[System]:
    """The scenario's processes and their data and logs in a temporary directory (FAULTS_KEEP=1 keeps it)."""
    root = Path(tempfile.mkdtemp(prefix=f"faults-{name}-"))
    try:
        running = System(root, servers)
        try:
            yield running
        finally:
            running.stop()
    finally:
        if os.environ.get("FAULTS_KEEP"):
            print(f"         logs and data of {name}: {root}", flush=True)
        else:
            shutil.rmtree(root, ignore_errors=True)


# --- what the database says ---------------------------------------------------------------------------------------


def lost(db: Any, deliveries: list[Delivery]) -> list[str]:
    """What was acknowledged and is not stored (or not applied)."""
    acked = [d for d in deliveries if d.acked_at is not None]
    wanted = {m for d in acked for m in d.messages}
    stored = {m["_id"]: m for m in db.messages.find({}, {"status_rank": 1})}
    missing = sorted(wanted - stored.keys())
    for d in acked:
        for wamid, name in d.statuses:
            if wamid in stored and (stored[wamid].get("status_rank") or 0) < RANK[name]:
                missing.append(f"{wamid}:{name}")
            elif wamid not in stored and not db.pending_updates.find_one({"_id": wamid}):
                missing.append(f"{wamid}:{name} (nowhere)")
    return missing


def wrong_counters(db: Any, load: Load, *, complete: bool = True) -> list[str]:
    """Conversations whose counters differ from the stored messages (the same check as
    webapp.inbox.audit, on plain pymongo) and, when every delivery went through, from what was sent."""
    problems: list[str] = []
    messages: dict[str, list[dict[str, Any]]] = {}
    for m in db.messages.find({}, {"conversation_id": 1, "direction": 1, "timestamp": 1, "received_at": 1,
                                   "status_rank": 1, "type": 1}):
        messages.setdefault(m["conversation_id"], []).append(m)
    for row in db.conversations.find({}):
        found = messages.get(row["_id"], [])
        unread = sum(1 for m in found if m["direction"] == "inbound")
        latest = max(found, key=lambda m: (m["timestamp"], m["received_at"], m["_id"])) if found else None
        summary = row.get("last_message") or {}
        if row.get("unread_count") != unread:
            problems.append(f"{row['_id']}: unread {row.get('unread_count')}, stored messages say {unread}")
        if latest is not None and summary.get("id") != latest["_id"]:
            problems.append(f"{row['_id']}: summary {summary.get('id')}, latest stored {latest['_id']}")
        elif latest is not None and summary.get("status_rank") != latest.get("status_rank"):
            problems.append(f"{row['_id']}: tick {summary.get('status_rank')}, message {latest.get('status_rank')}")
        wa_id = row.get("wa_id")
        if complete and wa_id in load.unread:
            if row.get("unread_count") != load.unread[wa_id]:
                problems.append(f"{row['_id']}: unread {row.get('unread_count')}, {load.unread[wa_id]} were sent")
            if (summary.get("id"), summary.get("status_rank") or 0) != load.latest[wa_id]:
                problems.append(f"{row['_id']}: summary {summary.get('id')} tick {summary.get('status_rank')}, "
                                f"expected {load.latest[wa_id]}")
    if complete:
        rows = {row.get("wa_id") for row in db.conversations.find({}, {"wa_id": 1})}
        problems.extend(f"{wa_id}: no conversation" for wa_id in load.unread if wa_id not in rows)
    return problems


@dataclass
class Result:
    scenario: str
    acked: int
    sent: int
    lost: list[str]
    wrong: list[str]
    recovered_after: float | None  # first 200 after the fault ended
    converged_after: float | None  # every counter right and nothing lost, after the load's last 200 (poison:
    # after the row was repaired, by the replay)
    notes: str = ""

    def line(self) -> str:
        first = f"{self.recovered_after:.1f}s" if self.recovered_after is not None else "-"
        settled = f"{self.converged_after:.1f}s" if self.converged_after is not None else "never"
        return (f"{self.scenario:<6} acknowledged {self.acked}/{self.sent}  acknowledged-but-lost {len(self.lost)}  "
                f"wrong counters {len(self.wrong)}  recovery: first 200 {first} after the fault, all right "
                f"{settled} after the last 200{('  ' + self.notes) if self.notes else ''}")

    @property
    def ok(self) -> bool:
        return not self.lost and not self.wrong and self.acked == self.sent


def settle(running: System, load: Load, since: float) -> tuple[list[str], list[str], float | None]:
    """Wait (up to SETTLE s) until nothing acknowledged is missing and every counter is right; how long
    after `since` that was (None: not within SETTLE)."""
    db = running.database()
    deadline = time.monotonic() + SETTLE
    while True:
        complete = all(d.acked_at is not None for d in load.deliveries)
        missing, wrong = lost(db, load.deliveries), wrong_counters(db, load, complete=complete)
        if not missing and not wrong:
            return missing, wrong, max(0.0, time.monotonic() - since)
        if time.monotonic() > deadline:
            return missing, wrong, None
        time.sleep(0.5)


def result(name: str, running: System, load: Load, meta: Meta, fault_end: float, notes: str = "",
           converge_from: float | None = None) -> Result:
    last = max((d.acked_at for d in load.deliveries if d.acked_at is not None), default=time.monotonic())
    missing, wrong, converged = settle(running, load, converge_from or last)
    return Result(name, sum(d.acked_at is not None for d in load.deliveries), len(load.deliveries), missing, wrong,
                  meta.first_accept_after(fault_end), converged, notes)


# --- the scenarios -------------------------------------------------------------------------------------------------


def during(delay: float, action: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(delay), action()), daemon=True)
    thread.start()
    return thread


def db_kill() -> Result:
    """FerretDB killed (SIGKILL) 2 s into a signed load, started again 5 s later on the same data."""
    with system("db-kill") as running:
        load = build_load(contacts=10, per_contact=20)
        meta = Meta(running.urls, rate=40)
        ended: dict[str, float] = {}

        def fault() -> None:
            running.kill_db()
            time.sleep(5)
            running.restart_db()
            ended["at"] = time.monotonic()

        chaos = during(2.0, fault)
        meta.send(load.deliveries)
        chaos.join()
        return result("db-kill", running, load, meta, ended["at"])


def app_kill() -> Result:
    """The web server killed with `kill -9` 2 s into the load, and started again."""
    with system("app-kill") as running:
        load = build_load(contacts=10, per_contact=20)
        meta = Meta(running.urls, rate=40)
        ended: dict[str, float] = {}

        def fault() -> None:
            running.kill_server()
            ended["killed"] = time.monotonic()
            running.restart_server()
            ended["at"] = time.monotonic()

        chaos = during(2.0, fault)
        meta.send(load.deliveries)
        chaos.join()
        stuck = running.database().webhook_events.count_documents({"outcome": "received"})
        return result("app-kill", running, load, meta, ended["at"],
                      notes=f"(the new process took {ended['at'] - ended['killed']:.1f}s to start; "
                            f"left received at the end: {stuck})")


def poison() -> Result:
    """A body of three messages whose second cannot be applied (its conversation's row is corrupt), among
    a load: answered 200, the first and third applied, the second recorded with its reason; after the row
    is repaired, `flask webhooks replay --failed` applies it. Content the database refuses (a NUL byte in a
    key) is refused up front with 400, nothing acknowledged."""
    with system("poison") as running:
        load = build_load(contacts=4, per_contact=5)
        db = running.database()
        bad_wa_id = "919800009999"
        db.conversations.insert_one({"_id": f"{PHONE_NUMBER_ID}:{bad_wa_id}", "phone_number_id": PHONE_NUMBER_ID,
                                     "wa_id": bad_wa_id, "unread": "corrupt", "unread_rev": 1})
        first, third = next(iter(load.unread)), list(load.unread)[1]
        batch = meta_body(
            value(messages=[text("one", id="wamid.P1", sender=first, timestamp=T0 + 50)], contacts=[(first, "A")]),
            value(messages=[text("two", id="wamid.P2", sender=bad_wa_id, timestamp=T0 + 51)],
                  contacts=[(bad_wa_id, "Poisoned")]),
            value(messages=[text("three", id="wamid.P3", sender=third, timestamp=T0 + 52)], contacts=[(third, "C")]))
        poisoned = Delivery(json.dumps(batch).encode(), messages=["wamid.P1", "wamid.P2", "wamid.P3"])
        load.unread[first] += 1
        load.unread[third] += 1
        load.deliveries.insert(len(load.deliveries) // 2, poisoned)
        refused = json.dumps(inbound(text("x", id="wamid.NUL", context={"a\u0000b": 1}))).encode()
        answer = requests.post(f"{running.urls()[0]}/webhook", data=refused, timeout=10,
                               headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(refused)})
        meta = Meta(running.urls, rate=40)
        meta.send(load.deliveries)
        event = db.webhook_events.find_one({"outcome": "failed"}) or {}
        reason = "; ".join(f"#{f['index']} {f['id']}: {f['error'][:60]}" for f in event.get("failures", []))
        db.conversations.update_one({"_id": f"{PHONE_NUMBER_ID}:{bad_wa_id}"}, {"$unset": {"unread": 1}})
        repaired = time.monotonic()
        replay = running.cli("webhooks", "replay", "--failed")
        load.unread[bad_wa_id] = 1
        load.latest[bad_wa_id] = ("wamid.P2", 0)
        return result("poison", running, load, meta, repaired, converge_from=repaired,
                         notes=f"(NUL key: {answer.status_code}; recorded: {reason or 'nothing'}; "
                               f"replay exit {replay.returncode})")


def race() -> Result:
    """Two web servers and the worker on the same conversations: every delivery is sent to both servers at
    once (the same message, stored once, counted once) while the worker applies what is left behind."""
    with system("race", servers=2) as running:
        load = build_load(contacts=6, per_contact=20)
        meta = Meta(running.urls, rate=30)
        start = time.monotonic()
        meta.send(load.deliveries, to_all=True)
        return result("race", running, load, meta, start)


def idle() -> Result:
    """1,000 idle connections (opened, nothing sent) held to the web server during a signed load."""
    with system("idle") as running:
        host, port = "127.0.0.1", running.servers[0].port
        held: list[socket.socket] = []
        refused = 0
        for _ in range(1000):
            try:
                held.append(socket.create_connection((host, port), timeout=2))
            except OSError:
                refused += 1
        load = build_load(contacts=5, per_contact=10)
        meta = Meta(running.urls, rate=20, deadline=45)
        start = time.monotonic()
        meta.send(load.deliveries)
        waits = sorted(d.tries for d in load.deliveries)
        still_open = sum(1 for sock in held if is_open(sock))
        for sock in held:
            sock.close()
        return result("idle", running, load, meta, start,
                      notes=f"(connections opened {len(held)}, refused {refused}, still held by the server "
                            f"{still_open}; tries per delivery max {waits[-1] if waits else 0})")


def is_open(sock: socket.socket) -> bool:
    """Whether the server still holds the connection (it has neither closed it nor sent anything)."""
    sock.setblocking(False)
    try:
        return sock.recv(1) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


SCENARIOS: dict[str, Callable[[], Result]] = {
    "db-kill": db_kill, "app-kill": app_kill, "poison": poison, "race": race, "idle": idle}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.faults", description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", metavar="SCENARIO", help=f"of {', '.join(SCENARIOS)}; default: all")
    args = parser.parse_args()
    names = args.scenarios or list(SCENARIOS)
    if unknown := [n for n in names if n not in SCENARIOS]:
        parser.error(f"unknown scenario(s): {', '.join(unknown)}")
    failed = False
    began = time.monotonic()
    for name in names:
        started = time.monotonic()
        try:
            outcome = SCENARIOS[name]()
        except Exception as exc:  # a scenario that could not run is a failure, said plainly
            print(f"{name:<6} could not run: {type(exc).__name__}: {exc}", flush=True)
            failed = True
            continue
        print(f"{outcome.line()}  [{time.monotonic() - started:.0f}s]", flush=True)
        for problem in (outcome.lost + outcome.wrong)[:10]:
            print(f"         {problem}", flush=True)
        failed = failed or not outcome.ok
    print(f"fault suite: {'FAILED' if failed else 'passed'} in {time.monotonic() - began:.0f}s", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
