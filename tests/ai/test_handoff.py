"""Every handoff trigger: the model's action, a handoff keyword, a failed or slow call, unreadable output,
too many turns, an agent's reply, "Take over"; and "Hand back to AI". Business hours and the greeting."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from flask import Flask

from tests.helpers.ai import ai_app, conversation_status, sent_by, wait_sent
from tests.helpers.http import assert_error, run_cli, webhook_ok
from tests.helpers.llm_api import LLMServer, error, raw, reply, slow
from tests.helpers.payloads import RAVI, inbound, text
from tests.helpers.wait import eventually
from webapp import settings
from webapp.ai import AiConversation
from webapp.ai.hours import closed_period
from webapp.inbox import writes
from webapp.inbox.documents import Conversation

HANDOFF = settings.BY_KEY["ai.handoff_message"].default


def now_text(body: str) -> dict:
    return text(body, timestamp=int(time.time()))


@pytest.mark.parametrize("words", ["Can I talk to a human please?", "Quiero hablar con un humano",
                                   "मुझे किसी इंसान से बात करनी है", "Quero falar com um atendente"])
def test_a_handoff_keyword_passes_to_people_without_asking_the_model(
        make_app: Callable[..., Flask], llm_api: LLMServer, words: str) -> None:
    app = ai_app(make_app, llm_api)
    client = app.test_client()
    webhook_ok(client, inbound(now_text(words)))
    assert wait_sent(client, "ai", 1) == [HANDOFF]
    assert eventually(lambda: conversation_status(client) == "open")
    time.sleep(0.6)
    assert llm_api.requests == []


@pytest.mark.parametrize("answer", [error(429), error(500), raw("I think you should try again later."),
                                    raw('{"reply": "x", "action": "dance"}'), slow(3.0)],
                         ids=["429", "500", "not-json", "unknown-action", "timeout"])
def test_a_failed_slow_or_unreadable_answer_hands_over_never_silence(
        make_app: Callable[..., Flask], llm_api: LLMServer, answer) -> None:
    app = ai_app(make_app, llm_api, **{"ai.timeout_seconds": 1.0})
    client = app.test_client()
    llm_api.script(answer)
    webhook_ok(client, inbound(now_text("Where is my order?")))
    assert wait_sent(client, "ai", 1) == [HANDOFF]
    assert eventually(lambda: conversation_status(client) == "open")
    with app.app_context():
        record = AiConversation.find(Conversation.for_wa_id(RAVI).id)
        assert record["with_people"] and record["handoff_reason"] in ("error", "unreadable")
    # People handle it now: the customer's next message does not go to the model.
    webhook_ok(client, inbound(now_text("Hello?")))
    time.sleep(0.8)
    assert len(llm_api.requests) == 1 and len(sent_by(client, "ai")) == 1


def test_too_many_turns_hand_over(make_app: Callable[..., Flask], llm_api: LLMServer) -> None:
    app = ai_app(make_app, llm_api, **{"ai.max_turns": 2})
    client = app.test_client()
    llm_api.script(reply("One"), reply("Two"))
    for number, words in enumerate(("a", "b", "c"), start=1):
        webhook_ok(client, inbound(now_text(words)))
        wait_sent(client, "ai", number)
    assert sent_by(client, "ai") == ["One", "Two", HANDOFF]
    assert len(llm_api.requests) == 2
    assert eventually(lambda: conversation_status(client) == "open")  # the notice goes first, then the state


def test_an_agents_reply_takes_over(make_app: Callable[..., Flask], llm_api: LLMServer) -> None:
    app = ai_app(make_app, llm_api)
    client = app.test_client()
    webhook_ok(client, inbound(now_text("Hi")))
    wait_sent(client, "ai", 1)
    assert client.post("/api/messages", json={"waId": RAVI, "messageBody": "Hi, Maria here"}).status_code == 201
    assert eventually(lambda: conversation_status(client) == "open")
    webhook_ok(client, inbound(now_text("Thanks Maria")))
    time.sleep(0.8)
    assert len(llm_api.requests) == 1


def test_take_over_and_hand_back(make_app: Callable[..., Flask], llm_api: LLMServer) -> None:
    app = ai_app(make_app, llm_api)
    client = app.test_client()
    webhook_ok(client, inbound(now_text("Hi")))
    wait_sent(client, "ai", 1)
    taken = client.post(f"/api/conversations/{RAVI}/takeover")
    assert taken.status_code == 200 and taken.get_json()["data"]["conversationStatus"] == "open"
    webhook_ok(client, inbound(now_text("Still there?")))
    time.sleep(0.8)
    assert len(llm_api.requests) == 1
    back = client.post(f"/api/conversations/{RAVI}/handback")
    assert back.status_code == 200 and back.get_json()["data"]["conversationStatus"] == "pending"
    llm_api.script(reply("Back again!"))
    webhook_ok(client, inbound(now_text("Hello AI")))
    assert wait_sent(client, "ai", 2)[-1] == "Back again!"
    assert_error(client.post("/api/conversations/000000/takeover"), 404)
    with app.app_context():
        settings.change({"ai.enabled": False}, by="test")
    client.post(f"/api/conversations/{RAVI}/takeover")
    assert_error(client.post(f"/api/conversations/{RAVI}/handback"), 409)


def test_resolving_gives_the_next_conversation_to_the_ai_again(make_app: Callable[..., Flask],
                                                               llm_api: LLMServer) -> None:
    app = ai_app(make_app, llm_api)
    client = app.test_client()
    webhook_ok(client, inbound(now_text("I need a person")))
    wait_sent(client, "ai", 1)
    with app.app_context():
        writes.set_state(Conversation.for_wa_id(RAVI).id, by="maria@example.test", status="resolved")
    webhook_ok(client, inbound(now_text("New question: do you ship to Goa?")))
    wait_sent(client, "ai", 2)
    assert len(llm_api.requests) == 1 and conversation_status(client) == "pending"


def test_closed_periods() -> None:
    values = {**{s.key: s.default for s in settings.DEFINITIONS},
              "hours.enabled": True, "hours.timezone": "Asia/Kolkata"}
    monday_noon = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)  # 12:00 in Kolkata
    assert closed_period(values, monday_noon) is None
    monday_night = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)  # 22:30
    tuesday_dawn = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # 06:30
    assert closed_period(values, monday_night) == closed_period(values, tuesday_dawn) == "2026-11-23T18:00:00+05:30"
    saturday = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
    assert closed_period(values, saturday) == "2026-11-27T18:00:00+05:30"
    assert closed_period({**values, "hours.enabled": False}, saturday) is None


def test_the_away_message_goes_once_per_closed_period(make_app: Callable[..., Flask], llm_api: LLMServer) -> None:
    app = ai_app(make_app, llm_api, **{"ai.enabled": False, "hours.enabled": True, "hours.days": [],
                                       "hours.away_message": "We're closed, back soon."})
    client = app.test_client()
    webhook_ok(client, inbound(now_text("Hello?")))
    webhook_ok(client, inbound(now_text("Anyone?")))
    assert sent_by(client, "auto") == ["We're closed, back soon."]
    with app.app_context():  # a new closed period: the away message again
        AiConversation.update(Conversation.for_wa_id(RAVI).id, {"away_sent_for": "an earlier night"})
    webhook_ok(client, inbound(now_text("Hello again")))
    assert sent_by(client, "auto") == ["We're closed, back soon."] * 2


def test_a_handoff_while_closed_sends_the_away_message(make_app: Callable[..., Flask], llm_api: LLMServer) -> None:
    app = ai_app(make_app, llm_api, **{"hours.enabled": True, "hours.days": [],
                                       "hours.away_message": "We're closed, back soon."})
    client = app.test_client()
    webhook_ok(client, inbound(now_text("human please")))
    assert wait_sent(client, "ai", 1) == ["We're closed, back soon."]
    webhook_ok(client, inbound(now_text("hello?")))
    assert sent_by(client, "auto") == []  # already told in this closed period


def test_a_new_contact_is_greeted_once(make_app: Callable[..., Flask], llm_api: LLMServer) -> None:
    app = ai_app(make_app, llm_api, **{"ai.enabled": False, "ai.greeting": "Welcome to Acme!"})
    client = app.test_client()
    webhook_ok(client, inbound(now_text("Hi")))
    webhook_ok(client, inbound(now_text("Hi again")))
    assert sent_by(client, "auto") == ["Welcome to Acme!"]


def test_hand_back_answers_the_customers_unanswered_message(make_app: Callable[..., Flask],
                                                            llm_api: LLMServer) -> None:
    app = ai_app(make_app, llm_api)
    client = app.test_client()
    webhook_ok(client, inbound(now_text("Hi")))
    wait_sent(client, "ai", 1)
    client.post(f"/api/conversations/{RAVI}/takeover")
    webhook_ok(client, inbound(now_text("Do you deliver on Sundays?")))
    llm_api.script(reply("Yes, we deliver on Sundays."))
    assert client.post(f"/api/conversations/{RAVI}/handback").status_code == 200
    assert wait_sent(client, "ai", 2)[-1] == "Yes, we deliver on Sundays."
    assert {"role": "user", "content": "Do you deliver on Sundays?"} in llm_api.requests[-1]["messages"]


def test_switching_the_ai_off_gives_its_conversations_to_people(make_app: Callable[..., Flask],
                                                                llm_api: LLMServer) -> None:
    app = ai_app(make_app, llm_api)
    client = app.test_client()
    webhook_ok(client, inbound(now_text("Hi")))
    wait_sent(client, "ai", 1)
    assert run_cli(app, "settings", "set", "ai.enabled", "false").exit_code == 0
    webhook_ok(client, inbound(now_text("Hello?")))
    assert conversation_status(client) == "open"
    time.sleep(0.8)
    assert len(llm_api.requests) == 1 and len(sent_by(client, "ai")) == 1
