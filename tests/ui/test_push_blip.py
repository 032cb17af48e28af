"""A push that meets the database away (a blip right after the write) is not lost: it is tried again
in the background and reaches the open pages once the database answers."""

from __future__ import annotations

from pathlib import Path

from devdb.launcher import DevDB
from tests.helpers.app import settings
from tests.helpers.auth import signed_in
from tests.helpers.http import post_webhook
from tests.helpers.payloads import RAVI, inbound, text, wamid
from tests.helpers.wait import eventually
from webapp import create_app, socketio
from webapp.core import bus
from webapp.inbox.events import MessageStored


def test_a_push_during_a_database_blip_arrives_when_it_is_back(tmp_path: Path) -> None:
    db = DevDB(tmp_path / "db").start()
    try:
        app = create_app(settings(f"{db.uri}blip", MONGODB_TIMEOUT_MS=500))
        client = signed_in(app)
        page = socketio.test_client(app, flask_test_client=client)
        assert page.is_connected()
        message = wamid()
        assert post_webhook(client, inbound(text("stored just before the blip", id=message))).status_code == 200
        page.get_received()

        db.stop()  # the write is done; the database goes away before its push reads it
        with app.app_context():
            bus.publish(MessageStored(message_id=message, conversation_id=RAVI))
        assert not [e for e in page.get_received() if e["name"] == "message:new"]
        db = DevDB(tmp_path / "db", port=db.port).start()  # back, on the same port

        received: list[dict] = []

        def pushed() -> list[str]:
            received.extend(page.get_received())
            return [e["name"] for e in received]

        eventually(lambda: "message:new" in pushed(), timeout=20)
        new = next(e["args"][0] for e in received if e["name"] == "message:new")
        assert new["id"] == message and "stored just before the blip" in new["html"]
        page.disconnect()
    finally:
        db.stop()
