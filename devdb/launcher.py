"""Build and start the FerretDB launcher; stop it afterwards."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

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
        deadline = time.monotonic() + timeout
        while not port_open(self.port):
            if self.process.poll() is not None:
                raise RuntimeError(f"devdb exited with {self.process.returncode}; see {self.log_path}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"devdb did not listen on {self.port} within {timeout}s; see {self.log_path}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        stop_process(self.process)

    def __enter__(self) -> DevDB:
        return self.start()

    def __exit__(self, *exc: tuple[type[BaseException], BaseException, TracebackType] | None) -> None:
        self.stop()


def main() -> None:
    """`python -m devdb.launcher DIR PORT`: run in the foreground until interrupted (for `make db`)."""
    import sys

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
