"""Schemathesis against the app's own /openapi.json, as its command line would run it: for every
documented operation, requests made from the description (its examples, the boundaries of every
field, then generated valid and invalid ones) go through the WSGI app to the real database, and no
answer may be a 5xx, an undocumented status or content type, or a body that breaks the documented
response schema. Bounded: 25 generated examples per operation and mode (valid, invalid), a fixed
seed (the same cases every run), a deadline per response and a time limit on the whole run (about
30 s on 2 cores)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import schemathesis
from flask import Flask
from schemathesis.config import HealthCheck, SchemathesisConfig
from schemathesis.engine import StopReason, events, from_schema
from schemathesis.engine.recorder import ScenarioRecorder

from tests.helpers.auth import token_headers
from tests.helpers.payloads import (
    RAVI,
    failure,
    inbound,
    meta_body,
    outbound,
    raw,
    reaction,
    status,
    statuses,
    text,
    value,
)
from webapp.core.clock import utcnow
from webapp.templates_catalog import MessageTemplate

CHECKS = ["not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance",
          "max_response_time"]
PHASES = ["examples", "coverage", "fuzzing"]
MAX_EXAMPLES = 25
MAX_SECONDS = 300  # the whole run is stopped there (and fails); about 8 s per operation
DEADLINE = 5.0  # seconds, for any one response
SEED = 20250805
T0 = 1754400000


def seed(app: Flask) -> None:
    """A conversation with the documented example contact, so that the examples reach real data: texts,
    a reply, a reaction, a non-text message, a failed delivery with its error, and a read status."""
    client = app.test_client()
    bodies = [
        inbound(text("Where is my order?", id="wamid.SEED1", timestamp=T0),
                text("Hello?", id="wamid.SEED2", timestamp=T0 + 1, context={"from": RAVI, "id": "wamid.SEED1"})),
        meta_body(value(messages=[outbound("It ships today", id="wamid.SEED3", timestamp=T0 + 2),
                                  outbound("Tracking link", id="wamid.SEED4", timestamp=T0 + 3)],
                        contacts=[(RAVI, "Ravi Kumar")])),
        inbound(reaction("wamid.SEED3", "👍", id="wamid.SEED5", timestamp=T0 + 4),
                {"from": RAVI, "id": "wamid.SEED6", "timestamp": str(T0 + 5), "type": "location",
                 "location": {"latitude": 12.97, "longitude": 77.59, "name": "MG Road"}}),
        statuses(status("wamid.SEED3", "read", timestamp=T0 + 6),
                 status("wamid.SEED4", "failed", timestamp=T0 + 7, errors=[failure()])),
    ]
    for body in bodies:
        response = client.post("/webhook", data=raw(body), content_type="application/json")
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["data"]["outcome"] == "processed"
    with app.app_context():  # the documented template example (order_update, en_US, two parameters) exists
        MessageTemplate(id="order_update:en_US", name="order_update", language="en_US", parameter_count=2,
                        body="Hi {{1}}, your order {{2}} is on its way.", category="UTILITY", status="APPROVED",
                        synced_at=utcnow()).save()


def run(app: Flask, headers: dict[str, str]) -> Run:
    """Run schemathesis on the app's /openapi.json, through the WSGI app."""
    # No max_time: with one, schemathesis goes round again until it is up. Health checks judge the data generation
    # (the webhook's nested bodies are large), not the app.
    config = SchemathesisConfig(seed=SEED, suppress_health_check=[HealthCheck.all])
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app, config=config, headers=headers)
    schema.config.update(headers=headers, workers=1)
    schema.config.phases.update(phases=PHASES)
    schema.config.generation.update(modes=["positive", "negative"], max_examples=MAX_EXAMPLES, database="none",
                                    allow_x00=True,
                                    deterministic=True)
    schema.config.checks.update(included_check_names=CHECKS, max_response_time=DEADLINE)
    result = Run()
    stream = from_schema(schema).execute()
    timer = threading.Timer(MAX_SECONDS, stream.stop)
    timer.start()
    try:
        result.consume(stream)
    finally:
        timer.cancel()
    return result


@dataclass
class Run:
    cases: Counter[str] = field(default_factory=Counter)  # "GET /webhook" -> requests made
    failures: dict[str, str] = field(default_factory=dict)  # a failure's title and message -> its operation
    errors: list[str] = field(default_factory=list)
    stop_reason: StopReason | None = None

    def consume(self, stream: Iterable[events.EngineEvent]) -> None:
        for event in stream:
            if isinstance(event, events.ScenarioFinished):
                self.record(event.phase, event.recorder)
            elif isinstance(event, events.NonFatalError):
                self.errors.append(f"{event.label}: {event.value!r}")
            elif isinstance(event, events.FatalError):
                self.errors.append(repr(event.exception))
            elif isinstance(event, events.EngineFinished):
                self.stop_reason = event.stop_reason

    def record(self, phase: str, recorder: ScenarioRecorder) -> None:
        self.cases[recorder.label] += len(recorder.cases)
        for checks in recorder.checks.values():
            for check in checks:
                if check.failure_info is not None:
                    found = check.failure_info.failure
                    self.failures.setdefault(f"{found.title}\n{found.message}\n{check.failure_info.code_sample}",
                                             f"{recorder.label} ({phase})")

    def report(self) -> str:
        return "\n\n".join(f"{operation}: {failure}" for failure, operation in self.failures.items())


def test_the_app_keeps_its_own_description(app: Flask) -> None:
    assert not app.config["WHATSAPP_APP_SECRET"]  # so generated webhook bodies are processed, not refused as unsigned
    seed(app)
    started = time.monotonic()
    result = run(app, token_headers(app))
    elapsed = time.monotonic() - started
    assert not result.failures, f"schemathesis found {len(result.failures)} problem(s):\n\n{result.report()}"
    assert not result.errors, result.errors
    assert result.stop_reason == StopReason.COMPLETED, f"stopped after {elapsed:.0f} s: {result.cases}"
    assert set(result.cases) == {
        "GET /api/conversations", "GET /api/messages/{wa_id}", "POST /api/messages",
        "POST /api/conversations/{wa_id}/read", "GET /webhook", "POST /webhook",
        "POST /api/messages/{message_id}/reaction", "POST /api/messages/{message_id}/retry",
        "POST /api/messages/media",
        "GET /api/templates", "POST /api/messages/template",
        "PATCH /api/conversations/{wa_id}", "GET /api/conversations/counts", "GET /api/canned-replies",
        "POST /api/canned-replies", "DELETE /api/canned-replies/{shortcut}",
        "GET /api/leads", "POST /api/leads", "GET /api/leads/export", "GET /api/leads/{lead_id}",
        "PATCH /api/leads/{lead_id}", "POST /api/leads/{lead_id}/notes",
        "POST /api/leads/{lead_id}/proposals/{proposal_id}",
        "GET /api/documents",
        "GET /api/analytics",
        "POST /api/conversations/{wa_id}/takeover", "POST /api/conversations/{wa_id}/handback",
    }
    assert all(count >= MAX_EXAMPLES for count in result.cases.values()), result.cases
    print(f"schemathesis: {sum(result.cases.values())} requests in {elapsed:.1f}s: {dict(result.cases)}")
