"""AI auto-reply against a local chat-completions server: the reply goes out through the one send path marked
`sentBy: "ai"`, with the configured history window, instructions and limits; quick messages get one reply;
never two replies in flight; tokens are recorded and counted against the budgets."""

from __future__ import annotations

import time
from collections.abc import Callable

from flask import Flask

from tests.helpers.ai import ai_app, conversation_status, messages, sent_by, wait_sent
from tests.helpers.http import webhook_ok
from tests.helpers.llm_api import MODEL, LLMServer, handoff, raw, reply, slow
from tests.helpers.payloads import NEHA, RAVI, inbound, text
from tests.helpers.wait import eventually
from webapp import settings
from webapp.ai import AiConversation, AiReply, AiUsage, LeadFieldsNoticed
from webapp.core.bus import bus
from webapp.inbox.documents import Conversation


def test_a_customer_text_gets_an_ai_reply_through_the_send_path(make_app: Callable[..., Flask],
                                                                llm_api: LLMServer) -> None:
    app = ai_app(make_app, llm_api, **{"ai.instructions": "We sell bikes. Shop open 9-18.",
                                       "ai.temperature": 0.2, "ai.max_reply_tokens": 120})
    client = app.test_client()
    llm_api.script(reply("Hi Ravi! Our shop is open 9 to 18."))
    webhook_ok(client, inbound(text("When are you open?")))
    assert wait_sent(client, "ai", 1) == ["Hi Ravi! Our shop is open 9 to 18."]
    request = llm_api.requests[0]
    assert request["model"] == MODEL
    assert request["temperature"] == 0.2 and request["max_tokens"] == 120
    system = request["messages"][0]
    assert system["role"] == "system" and "We sell bikes. Shop open 9-18." in system["content"]
    assert '"action"' in system["content"]  # the declared form is asked for in the instructions too
    assert request["messages"][1:] == [{"role": "user", "content": "When are you open?"}]
    assert conversation_status(client) == "pending"  # the AI handles it
    with app.app_context():
        cid = Conversation.for_wa_id(RAVI).id
        eventually(lambda: AiConversation.find(cid)["turns"] == 1)  # recorded once the send path has the reply
        record = AiConversation.find(cid)
        assert record["turns"] == 1 and record["tokens"] == 70
        assert AiUsage.used_today() == 70
        (call,) = AiReply.objects(conversation_id=cid)
        assert (call.tokens, call.action, call.model) == (70, "reply", MODEL)
        assert call.sent_message_id == next(m["id"] for m in messages(client) if m["sentBy"] == "ai")


def test_the_history_window_and_roles(make_app: Callable[..., Flask], llm_api: LLMServer) -> None:
    app = ai_app(make_app, llm_api, **{"ai.history_messages": 2})
    client = app.test_client()
    llm_api.script(reply("First answer"), reply("Second answer"))
    webhook_ok(client, inbound(text("one", timestamp=int(time.time()) - 5)))
    wait_sent(client, "ai", 1)
    webhook_ok(client, inbound(text("two", timestamp=int(time.time()) + 1)))
    wait_sent(client, "ai", 2)
    # The latest 2 messages, oldest first: "one" has fallen out of the window; the AI's words are the assistant's.
    assert llm_api.requests[1]["messages"][1:] == [{"role": "assistant", "content": "First answer"},
                                                   {"role": "user", "content": "two"}]


def test_quick_messages_get_one_reply(make_app: Callable[..., Flask], llm_api: LLMServer) -> None:
    app = ai_app(make_app, llm_api, **{"ai.debounce_seconds": 0.8})
    client = app.test_client()
    for words in ("Hi", "I ordered a bike", "order 1234"):
        webhook_ok(client, inbound(text(words, timestamp=int(time.time()))))
        time.sleep(0.1)
    wait_sent(client, "ai", 1)
    time.sleep(1.2)
    assert len(llm_api.requests) == 1
    assert [m["content"] for m in llm_api.requests[0]["messages"][1:]] == ["Hi", "I ordered a bike", "order 1234"]
    assert len(sent_by(client, "ai")) == 1


def test_never_two_replies_in_flight(make_app: Callable[..., Flask], llm_api: LLMServer) -> None:
    app = ai_app(make_app, llm_api, **{"ai.debounce_seconds": 0.2, "ai.timeout_seconds": 5})
    client = app.test_client()
    llm_api.script(slow(1.5, reply("Answer to the first")), reply("Answer to the second"))
    webhook_ok(client, inbound(text("First question", timestamp=int(time.time()))))
    llm_api.wait_for(1)  # the first reply is being made
    webhook_ok(client, inbound(text("Second question", timestamp=int(time.time()))))
    assert wait_sent(client, "ai", 2) == ["Answer to the first", "Answer to the second"]
    assert llm_api.max_in_flight == 1
    assert len(llm_api.requests) == 2


def test_lead_fields_are_kept_and_published(make_app: Callable[..., Flask], llm_api: LLMServer) -> None:
    app = ai_app(make_app, llm_api)
    noticed: list[LeadFieldsNoticed] = []
    with app.app_context():
        bus().subscribe(LeadFieldsNoticed, noticed.append)
    client = app.test_client()
    llm_api.script(reply("Thanks Ravi, we'll quote you.", lead={"name": "Ravi", "email": "ravi@example.com",
                                                                "interest": "e-bike", "junk": None}))
    webhook_ok(client, inbound(text("I'm Ravi, ravi@example.com, I want an e-bike")))
    wait_sent(client, "ai", 1)
    with app.app_context():
        cid = Conversation.for_wa_id(RAVI).id
        assert AiConversation.find(cid)["lead_fields"] == {"name": "Ravi", "email": "ravi@example.com",
                                                            "interest": "e-bike"}
    assert len(noticed) == 1 and noticed[0].conversation_id == cid and noticed[0].fields["email"] == "ravi@example.com"


def test_a_server_without_response_format_still_works(make_app: Callable[..., Flask], llm_api: LLMServer) -> None:
    llm_api.refuse_response_format = True
    app = ai_app(make_app, llm_api)
    client = app.test_client()
    llm_api.script(raw('Sure! ```json\n{"reply": "Fenced but fine", "action": "reply"}\n```'))
    webhook_ok(client, inbound(text("Hello")))
    assert wait_sent(client, "ai", 1) == ["Fenced but fine"]
    assert "response_format" in llm_api.requests[0] and "response_format" not in llm_api.requests[-1]


def test_budgets_stop_the_ai_and_hand_over(make_app: Callable[..., Flask], llm_api: LLMServer) -> None:
    app = ai_app(make_app, llm_api, **{"ai.conversation_token_cap": 100})
    client = app.test_client()
    llm_api.script(reply("One", prompt_tokens=80, completion_tokens=30))
    webhook_ok(client, inbound(text("First", timestamp=int(time.time()))))
    wait_sent(client, "ai", 1)
    webhook_ok(client, inbound(text("Second", timestamp=int(time.time()))))  # 110 tokens used: over the cap
    wait_sent(client, "ai", 2)
    assert sent_by(client, "ai")[-1] == settings.BY_KEY["ai.handoff_message"].default
    assert len(llm_api.requests) == 1  # no call over the budget
    assert eventually(lambda: conversation_status(client) == "open")

    # The business's daily budget: another customer, a budget already spent today.
    with app.app_context():
        settings.change({"ai.daily_token_budget": 100}, by="test")
    webhook_ok(client, inbound(text("Hello", sender=NEHA, timestamp=int(time.time())), wa_id=NEHA, name="Neha"))
    wait_sent(client, "ai", 1, wa_id=NEHA)
    assert len(llm_api.requests) == 1
    assert eventually(lambda: conversation_status(client, NEHA) == "open")


def test_ai_off_or_unconfigured_sends_nothing(make_app: Callable[..., Flask], llm_api: LLMServer) -> None:
    app = ai_app(make_app, llm_api, **{"ai.enabled": False})
    client = app.test_client()
    webhook_ok(client, inbound(text("Hello")))
    unconfigured = make_app()  # no AI_BASE_URL: off whatever the setting says
    with unconfigured.app_context():
        settings.change({"ai.enabled": True}, by="test")
    webhook_ok(unconfigured.test_client(), inbound(text("Hello again", timestamp=int(time.time()))))
    time.sleep(1)
    assert llm_api.requests == [] and sent_by(client, "ai") == []
    assert conversation_status(client) == "open"


def test_a_handoff_action_still_sends_the_models_words(make_app: Callable[..., Flask], llm_api: LLMServer) -> None:
    app = ai_app(make_app, llm_api)
    client = app.test_client()
    llm_api.script(handoff("Let me get a colleague for you."))
    webhook_ok(client, inbound(text("I want a refund")))
    assert wait_sent(client, "ai", 1) == ["Let me get a colleague for you."]
    assert eventually(lambda: conversation_status(client) == "open")
