"""`make run`: a local database when MONGODB_URI is unset, the demo inbox when empty, the app."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from types import FrameType

from dotenv import load_dotenv

from .launcher import ROOT, DevDB, free_port, port_open

DEV_PORT = 27018


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)  # so that `finally` stops the app and the database


def main() -> int:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    load_dotenv(ROOT / ".env", override=False)
    env = dict(os.environ)
    db: DevDB | None = None
    app: subprocess.Popen[bytes] | None = None
    try:
        if not env.get("MONGODB_URI"):
            port = DEV_PORT if not port_open(DEV_PORT) else free_port()
            db = DevDB(ROOT / "instance" / "db", port).start()
            env["MONGODB_URI"] = f"mongodb://127.0.0.1:{port}/whatsapp_inbox"
            print(f"Local database (FerretDB on SQLite) at {env['MONGODB_URI']}, data in instance/db", flush=True)
        python = sys.executable
        seeded = subprocess.run([python, "-m", "flask", "--app", "wsgi", "seed-demo"], cwd=ROOT, env=env)
        if seeded.returncode != 0:
            return seeded.returncode
        app = subprocess.Popen([python, "wsgi.py"], cwd=ROOT, env=env)
        return app.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        if app is not None and app.poll() is None:
            app.terminate()
            app.wait(timeout=10)
        if db is not None:
            db.stop()


if __name__ == "__main__":
    sys.exit(main())
