"""Entry point: `python wsgi.py` serves on $PORT; gunicorn and the `flask` CLI import `app`."""

import os

from dotenv import load_dotenv

if os.environ.get("APP_ENV") != "test":  # tests set every setting themselves
    load_dotenv(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".env"), override=False)

# eventlet must patch the standard library before anything opens a socket. Only the server needs
# it: gunicorn's eventlet worker patches by itself, and `flask` commands are plain processes.
if __name__ == "__main__" and os.environ.get("SOCKETIO_ASYNC_MODE", "eventlet") == "eventlet":
    import warnings

    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")  # known; see README
    # eventlet's green DNS imports dnspython's DNSSEC algorithms, and cryptography 51 warns about DSA on import
    warnings.filterwarnings("ignore", message="DSA is deprecated", module=r"dns\.dnssecalgs")
    import eventlet

    eventlet.monkey_patch()

import sys

from webapp import StartupError, create_app, socketio

try:
    app = create_app()
except StartupError as exc:
    sys.exit(f"error: {exc}")

if __name__ == "__main__":
    host = os.environ.get("HOST", "127.0.0.1")
    port = app.config["PORT"]
    mode = (f"sending to WhatsApp as phone number id {app.config['PHONE_NUMBER_ID']}"
            if app.config["WHATSAPP_ACCESS_TOKEN"] else "demo mode: replies are not sent to WhatsApp")
    address = f"http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}"
    print(f"Serving the inbox on {address} ({mode})", flush=True)
    if app.config["SOCKETIO_ASYNC_MODE"] == "eventlet":
        from webapp.core import serving  # eventlet's server, with its limits (needs the patching above)

        serving.serve(app, host, port, app.config)
    else:
        socketio.run(app, host=host, port=port, use_reloader=False, log_output=False, allow_unsafe_werkzeug=True)
