"""`make run`: a local database when MONGODB_URI is unset, a local Redis and one job worker when
REDIS_URL is unset, the demo inbox when empty, and the app. Ctrl+C (or SIGTERM) stops them all.

`python -m devdb.run --instance DIR` keeps the local data in DIR (default: instance/).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType

from dotenv import load_dotenv

from .launcher import ROOT, DevDB, RedisServer, Worker, ensure_tesseract, free_port, port_open, stop_process

DEV_PORT = 27018
DEV_REDIS_PORT = 6380  # not Redis's own 6379: a system Redis may be there


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)  # so that `finally` stops the app, the worker, Redis and the database


def _port(preferred: int) -> int:
    return preferred if not port_open(preferred) else free_port()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devdb.run", description=__doc__.splitlines()[0])
    parser.add_argument("--instance", type=Path, default=ROOT / "instance", help="where local data is kept")
    instance: Path = parser.parse_args(argv).instance
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    load_dotenv(ROOT / ".env", override=False)
    env = dict(os.environ)
    db: DevDB | None = None
    redis_server: RedisServer | None = None
    worker: Worker | None = None
    app: subprocess.Popen[bytes] | None = None
    try:
        if not env.get("MONGODB_URI"):
            db = DevDB(instance / "db", _port(DEV_PORT)).start()
            env["MONGODB_URI"] = f"mongodb://127.0.0.1:{db.port}/whatsapp_inbox"
            print(f"Local database (FerretDB on SQLite) at {env['MONGODB_URI']}, data in {instance / 'db'}", flush=True)
        if not env.get("REDIS_URL"):
            redis_server = RedisServer(instance / "redis", _port(DEV_REDIS_PORT), persist=True).start()
            env["REDIS_URL"] = redis_server.url
            print(f"Local Redis started at {redis_server.url}, data in {instance / 'redis'}", flush=True)
        if ensure_tesseract() is None:
            print("Tesseract is not installed (`sudo apt-get install tesseract-ocr`): the text of received "
                  "pictures and PDFs will not be read", flush=True)
        python = sys.executable
        seeded = subprocess.run([python, "-m", "flask", "--app", "wsgi", "seed-demo"], cwd=ROOT, env=env)
        if seeded.returncode != 0:
            return seeded.returncode
        worker = Worker(env, instance / "worker.log").start()
        print(f"Job worker started (`flask worker`), log in {worker.log_path}", flush=True)
        app = subprocess.Popen([python, "wsgi.py"], cwd=ROOT, env=env)
        return app.wait()
    except KeyboardInterrupt:
        return 0
    except RuntimeError as exc:  # a server that would not start: say why in one message
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        stop_process(app)
        if worker is not None:
            worker.stop()
        if redis_server is not None:
            redis_server.stop()
        if db is not None:
            db.stop()


if __name__ == "__main__":
    sys.exit(main())
