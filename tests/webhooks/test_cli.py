"""The `flask` commands: replay payload files, load the demo inbox, replay failed deliveries."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from flask import Flask

from tests.helpers.app import BUSINESS_NUMBER, ROOT
from tests.helpers.http import run_cli
from tests.helpers.payloads import RAVI, inbound, raw, status, statuses, text, wamid
from webapp.core.clock import as_utc, utcnow
from webapp.inbox.documents import Conversation, Message
from webapp.webhooks.documents import WebhookEvent
from webapp.webhooks.tasks import prune_deliveries


def test_replay_files_and_directories_with_summary(app: Flask, tmp_path: Path) -> None:
    first, reply = wamid(), wamid()
    folder = tmp_path / "payloads"
    (folder / "nested").mkdir(parents=True)
    (folder / "01_message.json").write_bytes(raw(inbound(text("Hello", id=first))))
    (folder / "nested" / "02_reply.json").write_bytes(
        raw(inbound(text("Hi Ravi!", id=reply, sender=BUSINESS_NUMBER, timestamp=1754400020))))
    (folder / "03_read.json").write_bytes(raw(statuses(status(reply, "read"))))
    again = tmp_path / "again.json"
    again.write_bytes(raw(inbound(text("Hello", id=first))))

    result = run_cli(app, "replay", str(folder), str(again))

    assert result.exit_code == 0, result.output
    assert "stored 2, duplicates 1, statuses applied 1" in result.output
    assert Message.objects.count() == 2
    assert Message.objects.get(pk=reply).status == "read"
    assert WebhookEvent.objects(source="replay").count() == 4


def test_replay_reports_bad_files_and_fails(app: Flask, tmp_path: Path) -> None:
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_bytes(raw(inbound(text("Hello"))))
    bad.write_text("{not json")

    result = run_cli(app, "replay", str(bad), str(good))

    assert result.exit_code == 1
    assert "bad.json: The request body is not valid JSON" in result.output
    assert "stored 1" in result.output and "errors 1" in result.output
    assert Message.objects.count() == 1


def test_replay_missing_path_is_a_usage_error(app: Flask, tmp_path: Path) -> None:
    result = run_cli(app, "replay", str(tmp_path / "nope.json"))
    assert result.exit_code == 2
    assert "neither a file nor a directory" in result.output


def test_seed_demo_loads_every_type_and_status_once(app: Flask) -> None:
    result = run_cli(app, "seed-demo")
    assert result.exit_code == 0, result.output
    assert "Demo inbox loaded" in result.output

    conversations = Conversation.objects.count()
    assert conversations >= 5
    types = set(Message.objects.distinct("type"))
    assert {"text", "image", "video", "audio", "document", "sticker", "location", "contacts", "interactive",
            "button", "reaction", "unsupported"} <= types
    statuses_seen = {m.status for m in Message.objects(direction="outbound")}
    assert {"sent", "delivered", "read", "failed"} <= statuses_seen
    assert any(m.visible_reactions() for m in Message.objects(direction="outbound"))
    assert Conversation.objects(unread_count__gt=0).count() >= 1

    again = run_cli(app, "seed-demo")
    assert again.exit_code == 0
    assert "already has messages" in again.output
    assert Conversation.objects.count() == conversations


def test_webhooks_replay_failed_processes_stored_deliveries_again(app: Flask) -> None:
    message_id = wamid()
    body = raw(inbound(text("Stored while processing was broken", id=message_id)))
    WebhookEvent(raw_body=body, signature="not_checked", outcome="failed", error="RuntimeError: boom").save()
    WebhookEvent(raw_body=raw(statuses(status(message_id, "read"))), signature="not_checked",
                 outcome="processed").save()

    result = run_cli(app, "webhooks", "replay", "--failed")

    assert result.exit_code == 0, result.output
    assert "Replayed 1 failed or stuck delivery(ies): stored 1" in result.output
    assert Message.objects.get(pk=message_id).content == {"body": "Stored while processing was broken"}
    assert WebhookEvent.objects(outcome="failed").count() == 0
    assert json.loads(WebhookEvent.objects(outcome="processed").order_by("received_at").first().raw_body) is not None
    assert Conversation.objects.get(wa_id=RAVI).unread_count == 1


def test_the_raw_log_keeps_processed_deliveries_for_webhook_keep_days_and_the_rest_until_applied(
        app: Flask) -> None:
    old = utcnow() - timedelta(days=31)
    for outcome, at in (("processed", old), ("processed", utcnow() - timedelta(days=29)), ("failed", old),
                        ("received", old)):
        WebhookEvent(raw_body=raw(inbound(text(f"{outcome} at {at:%d}"))), signature="not_checked",
                     outcome=outcome, received_at=at).save()
    with app.app_context():
        assert prune_deliveries() == 1  # WEBHOOK_KEEP_DAYS: 30 by default
    assert sorted((e.outcome, (utcnow() - as_utc(e.received_at)).days) for e in WebhookEvent.objects) == [
        ("failed", 31), ("processed", 29), ("received", 31)]
    result = run_cli(app, "webhooks", "prune", "--days", "7")
    assert result.exit_code == 0 and "Deleted 1 processed delivery(ies) older than 7 day(s)" in result.output
    assert sorted(e.outcome for e in WebhookEvent.objects) == ["failed", "received"]
    app.config["WEBHOOK_KEEP_DAYS"] = 0
    with app.app_context():
        assert prune_deliveries() == 0
    refused = run_cli(app, "webhooks", "prune")
    assert refused.exit_code != 0 and "keeps every delivery" in refused.output


def test_flask_commands_run_clean_in_a_real_process(mongodb_uri: str) -> None:
    """As `make run` calls it: no monkey-patching noise, no tracebacks, one summary line."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "APP_ENV": "test", "MONGODB_URI": mongodb_uri, "SOCKETIO_ASYNC_MODE": "eventlet"}
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "seed-demo"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Demo inbox loaded: stored ")
    assert "Traceback" not in result.stderr and "deprecated" not in result.stderr.lower()
