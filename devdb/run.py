"""`make run`: a local database when MONGODB_URI is unset, the demo inbox when empty, the app."""

from __future__ import annotations

import os
import subprocess
import sys

from dotenv import load_dotenv

from .launcher import ROOT, DevDB, free_port, port_open

DEV_PORT = 27018


def main() -> int:
    load_dotenv(ROOT / ".env", override=False)
    env = dict(os.environ)
    db: DevDB | None = None
    if not env.get("MONGODB_URI"):
        port = DEV_PORT if not port_open(DEV_PORT) else free_port()
        db = DevDB(ROOT / "instance" / "db", port).start()
        env["MONGODB_URI"] = f"mongodb://127.0.0.1:{port}/whatsapp_inbox"
        print(f"Local database (FerretDB on SQLite) at {env['MONGODB_URI']}, data in instance/db", flush=True)
    python = sys.executable
    try:
        seeded = subprocess.run([python, "-m", "flask", "--app", "wsgi", "seed-demo"], cwd=ROOT, env=env)
        if seeded.returncode != 0:
            return seeded.returncode
        return subprocess.call([python, "wsgi.py"], cwd=ROOT, env=env)
    except KeyboardInterrupt:
        return 0
    finally:
        if db is not None:
            db.stop()


if __name__ == "__main__":
    sys.exit(main())
