"""Known conversations for the analytics tests (the API's and the dashboard's), written through the
inbox's one write path at fixed times, and the figures a person would read from them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Flask

from tests.helpers.app import BUSINESS_NUMBER, PHONE_NUMBER_ID
from tests.helpers.payloads import NEHA, RAVI
from webapp.core import bus
from webapp.inbox.events import ConversationStateChanged
from webapp.inbox.writes import apply_events, publish
from webapp.whatsapp.events import Business, MessageEvent

ASHA = "919900011111"
AGENT = "agent@example.test"
BOB = "bob@example.test"
BUSINESS = Business(PHONE_NUMBER_ID, BUSINESS_NUMBER)
FROM, TO = "2026-03-02", "2026-03-03"  # a Monday and a Tuesday


def at(day: str, clock: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=UTC)


def customer(wamid: str, wa_id: str, when: datetime, name: str) -> MessageEvent:
    return MessageEvent(wamid=wamid, business=BUSINESS, contact_wa_id=wa_id, contact_name=name, direction="inbound",
                        sender=wa_id, recipient=BUSINESS_NUMBER, type="text", content={"body": "hello"},
                        timestamp=when)


def reply(wamid: str, wa_id: str, when: datetime, sent_by: str | None) -> MessageEvent:
    return MessageEvent(wamid=wamid, business=BUSINESS, contact_wa_id=wa_id, contact_name=None, direction="outbound",
                        sender=BUSINESS_NUMBER, recipient=wa_id, type="text", content={"body": "hi there"},
                        timestamp=when, sent_by=sent_by)


KNOWN = [
    # Ravi, Monday: two messages, the AI answers after 60 s, then the agent after 300 s
    customer("wamid.A1", RAVI, at(FROM, "09:00:00"), "Ravi"),
    customer("wamid.A2", RAVI, at(FROM, "09:00:30"), "Ravi"),
    reply("wamid.A3", RAVI, at(FROM, "09:01:00"), "ai"),
    reply("wamid.A4", RAVI, at(FROM, "09:05:00"), AGENT),
    # Neha, Monday: the agent answers after 120 s
    customer("wamid.B1", NEHA, at(FROM, "10:00:00"), "Neha"),
    reply("wamid.B2", NEHA, at(FROM, "10:02:00"), AGENT),
    # Asha, Tuesday: Bob answers after 600 s; she writes again, answered from the phone
    customer("wamid.C1", ASHA, at(TO, "14:00:00"), "Asha"),
    reply("wamid.C2", ASHA, at(TO, "14:10:00"), BOB),
    customer("wamid.C3", ASHA, at(TO, "14:20:00"), "Asha"),
    reply("wamid.C4", ASHA, at(TO, "14:21:00"), None),
]


def conversation(wa_id: str) -> str:
    return f"{PHONE_NUMBER_ID}:{wa_id}"


# As webapp.inbox.writes.set_state publishes them, at known times: the AI hands Ravi to a person, the
# agent resolves Neha after 30 minutes and Ravi after 2 hours.
CHANGES = [
    ConversationStateChanged(conversation(RAVI), "open", "pending", None, None, by="ai", at=at(FROM, "09:02:00")),
    ConversationStateChanged(conversation(NEHA), "resolved", "open", AGENT, AGENT, by=AGENT, at=at(FROM, "10:30:00")),
    ConversationStateChanged(conversation(RAVI), "resolved", "open", AGENT, AGENT, by=AGENT, at=at(FROM, "11:00:00")),
]


def write_known(app: Flask, *, changes: bool = True) -> None:
    with app.app_context():
        for event in KNOWN:
            publish(apply_events([event]))
        if changes:
            bus.publish(*CHANGES)


def timing(count: int, median: float | None, p90: float | None) -> dict[str, Any]:
    return {"count": count, "median": median, "p90": p90}


EXPECTED_TOTALS = {
    "messagesIn": 5, "messagesOut": 5, "aiMessagesOut": 1, "newConversations": 3, "resolved": 2,
    "answered": 3, "aiAnswered": 1,
    "firstResponse": timing(3, 300.0, 600.0),  # 120, 300, 600
    "aiFirstResponse": timing(1, 60.0, 60.0),
    "resolution": timing(2, 4500.0, 7200.0),  # 30 minutes, 2 hours
    "aiShare": 0.3333, "handoffs": 1, "handoffRate": 1.0,
}
EXPECTED_AGENTS = {
    AGENT: {"messagesOut": 2, "firstResponse": timing(2, 210.0, 300.0), "answered": 1, "resolved": 2,
            "resolution": timing(2, 4500.0, 7200.0)},
    BOB: {"messagesOut": 1, "firstResponse": timing(1, 600.0, 600.0), "answered": 1},
    "ai": {"messagesOut": 1, "aiFirstResponse": timing(1, 60.0, 60.0), "answered": 1},
}
