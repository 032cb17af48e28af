"""The local servers `make run` and the tests start: FerretDB (built from devdb/), redis-server
(Debian's) and RQ workers (`flask worker`); and stopping them afterwards."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType

import redis

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BINARY = ROOT / "instance" / "bin" / "devdb"


def ensure_built() -> Path:
    """Build the launcher unless it is newer than its sources."""
    sources = [HERE / "main.go", HERE / "go.mod", HERE / "go.sum"]
    if BINARY.exists() and all(BINARY.stat().st_mtime >= s.stat().st_mtime for s in sources if s.exists()):
        return BINARY
    BINARY.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["go", "build", "-o", str(BINARY), "."], cwd=HERE, check=True)
    return BINARY


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_process(process: subprocess.Popen[bytes] | None, timeout: float = 10) -> None:
    """Terminate a server we started, and kill it if it does not go in time."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_until_ready(process: subprocess.Popen[bytes], ready: Callable[[], bool], *, what: str, timeout: float,
                     log: Callable[[], str], interval: float = 0.05) -> None:
    """Poll ready() until it is true. RuntimeError, saying why with the log, when the process exits first
    or `timeout` seconds pass (then it is stopped)."""
    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited ({process.returncode}):\n{log()}")
        if time.monotonic() > deadline:
            stop_process(process)
            raise RuntimeError(f"{what} did not answer within {timeout}s:\n{log()}")
        time.sleep(interval)


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class DevDB:
    """`with DevDB(directory) as db:` runs FerretDB on a free loopback port; db.uri points at it."""

    def __init__(self, directory: Path, port: int | None = None, log_path: Path | None = None) -> None:
        self.directory = Path(directory)
        self.port = port or free_port()
        self.log_path = log_path or self.directory / "devdb.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    def start(self, timeout: float = 30.0) -> DevDB:
        binary = ensure_built()
        self.directory.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            [str(binary), "-listen", f"127.0.0.1:{self.port}", "-dir", str(self.directory)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        wait_until_ready(self.process, lambda: port_open(self.port), what=f"devdb on port {self.port}",
                         timeout=timeout, log=lambda: f"see {self.log_path}")
        return self

    def stop(self) -> None:
        stop_process(self.process)

    def __enter__(self) -> DevDB:
        return self.start()

    def __exit__(self, *exc: tuple[type[BaseException], BaseException, TracebackType] | None) -> None:
        self.stop()


def apt_install(*packages: str, why: str = "") -> None:
    """Install Debian packages (as root, without questions)."""
    print(f"Installing {' '.join(packages)} from Debian's packages{why}", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages], check=True, env=env)


def ensure_redis_server() -> str:
    """The redis-server binary; installed from Debian's packages when missing and we are root."""
    binary = shutil.which("redis-server")
    if binary:
        return binary
    if os.geteuid() != 0:
        raise RuntimeError("redis-server is not installed: `sudo apt-get install redis-server` "
                           "(or set REDIS_URL to a Redis server)")
    apt_install("redis-server")
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is still missing after apt-get install redis-server")
    return binary


def ensure_tesseract() -> str | None:
    """Tesseract, which reads the text of received pictures and scanned PDFs (webapp/ocr): installed from
    Debian's packages when missing and we are root; else None (the app runs, and says each file's text
    could not be read)."""
    binary = shutil.which("tesseract")
    if binary or os.geteuid() != 0:
        return binary
    apt_install("tesseract-ocr", "tesseract-ocr-eng", why=" (the text of received pictures and PDFs)")
    return shutil.which("tesseract")


class RedisServer:
    """redis-server on a loopback port with its data in `directory`. `persist` keeps the data
    (queued and failed jobs) across restarts, as `make run` wants; tests start from nothing."""

    def __init__(self, directory: Path, port: int | None = None, *, persist: bool = False) -> None:
        self.directory = Path(directory)
        self.port = port or free_port()
        self.persist = persist
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log_path = self.directory / "redis.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> RedisServer:
        binary = ensure_redis_server()
        self.directory.mkdir(parents=True, exist_ok=True)
        saving = ["--save", "60 1", "--appendonly", "yes"] if self.persist else ["--save", "", "--appendonly", "no"]
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the process
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
             *saving, "--daemonize", "no"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5, socket_timeout=0.5)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        try:
            wait_until_ready(self.process, answers, what="redis-server", timeout=timeout, log=self.log)
        finally:
            client.close()
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        stop_process(self.process)


class Worker:
    """One `flask worker` (RQ, webapp.core.jobs) for the app in ROOT/wsgi.py, configured by `env`
    (MONGODB_URI and REDIS_URL at least), logging to `log_path`."""

    def __init__(self, env: Mapping[str, str], log_path: Path) -> None:
        self.env = {**env, "PYTHONUNBUFFERED": "1"}
        self.log_path = Path(log_path)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> Worker:
        """Start it and wait until it is registered with Redis, so it takes the jobs queued next."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the process
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        client = redis.Redis.from_url(self.env["REDIS_URL"], socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            wait_until_ready(self.process, lambda: self._registered(client), what="the worker", timeout=timeout,
                             log=self.log, interval=0.1)
        finally:
            client.close()
        return self

    def _registered(self, client: redis.Redis) -> bool:
        assert self.process is not None
        try:  # RQ's registry: the set rq:workers names each worker's hash, which holds its pid
            pid = str(self.process.pid).encode()
            return any(client.hget(key, "pid") == pid for key in client.smembers("rq:workers"))
        except redis.RedisError:
            return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        """SIGTERM: RQ's warm shutdown (the job under way finishes, the scheduler stops)."""
        stop_process(self.process, timeout=20)


def main() -> None:
    """`python -m devdb.launcher DIR PORT`: run in the foreground until interrupted (for `make db`)."""
    directory = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "instance" / "db"
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 27017
    with DevDB(directory, port) as db:
        print(f"FerretDB on {db.uri} (data in {directory})", flush=True)
        try:
            assert db.process is not None
            db.process.wait()
        except KeyboardInterrupt:
            pass
    os._exit(0)


if __name__ == "__main__":
    main()
