"""The AI on the page, in a real browser: a customer's message gets an AI reply (with its badge, the chat
header and the list say the AI handles it), the customer asks for a person (every open page is notified, the
header says people handle it), the agent hands it back to the AI and then takes it over. And the settings page."""

from __future__ import annotations

import time
from collections.abc import Callable

from flask import Flask
from playwright.sync_api import expect

from tests.helpers.ai import ai_env
from tests.helpers.app import LiveServer
from tests.helpers.browser import Pages, composer, post, row, screenshot
from tests.helpers.http import run_cli
from tests.helpers.llm_api import LLMServer, reply
from tests.helpers.payloads import RAVI, inbound, text
from webapp import settings

HANDOFF = settings.BY_KEY["ai.handoff_message"].default


def test_ai_reply_handoff_and_take_over(start_server: Callable[..., LiveServer], make_app: Callable[..., Flask],
                                        llm_api: LLMServer, pages: Pages) -> None:
    app = make_app(**ai_env(llm_api))
    assert run_cli(app, "settings", "set", "ai.enabled", "true").exit_code == 0
    assert run_cli(app, "settings", "set", "ai.debounce_seconds", "0.5").exit_code == 0
    server = start_server(**ai_env(llm_api))
    # The inbox is open before the customer writes (a page only hears what happens once it is connected).
    page = pages.open(f"{server.url}/")
    other = pages.open(f"{server.url}/")  # another agent's page, on the list
    post(server, inbound(text("Hello", timestamp=int(time.time()) - 60)))
    row(page, RAVI).get_by_role("link").click()
    handler = page.locator("#ai-handler")
    expect(handler).to_contain_text("AI is handling this chat")  # it took the conversation and answered
    # The first answer of a process also loads the openai client's modules: generous on a busy machine.
    expect(page.locator(".message-list .bubble", has_text="How can I help you today?")).to_be_visible(timeout=20000)

    llm_api.script(reply("Hi! Our bikes start at 300 EUR."))
    post(server, inbound(text("How much is a bike?", timestamp=int(time.time()))))
    ai_bubble = page.locator(".message-list .bubble", has_text="Hi! Our bikes start at 300 EUR.")
    expect(ai_bubble).to_be_visible(timeout=15000)
    expect(ai_bubble.locator(".ai-badge")).to_have_text("AI")
    expect(handler).to_contain_text("AI is handling this chat")
    expect(row(page, RAVI).locator(".ai-tag")).to_have_text("AI")
    screenshot(page, "ai-reply.png")

    post(server, inbound(text("I want to talk to a person", timestamp=int(time.time()))))
    expect(page.locator(".message-list .bubble", has_text=HANDOFF)).to_be_visible(timeout=15000)
    expect(handler).to_contain_text("People are handling this chat")
    expect(other.locator(".ai-notice")).to_contain_text("the customer asked for a person")
    expect(row(page, RAVI).locator(".ai-tag")).to_have_count(0)
    assert len(llm_api.requests) == 2

    handler.get_by_role("button", name="Hand back to AI").click()
    expect(handler).to_contain_text("AI is handling this chat")
    handler.get_by_role("button", name="Take over").click()
    expect(handler).to_contain_text("People are handling this chat")
    composer(page).fill("Hi Ravi, Maria here. Which size do you need?")
    composer(page).press("Enter")
    expect(page.locator(".message-list .bubble", has_text="Maria here")).to_be_visible()
    post(server, inbound(text("Size M please", timestamp=int(time.time()))))
    expect(page.locator(".message-list .bubble", has_text="Size M please")).to_be_visible()
    time.sleep(1)
    assert len(llm_api.requests) == 2  # people handle it: the AI stays quiet


def test_the_settings_page_in_the_browser(start_server: Callable[..., LiveServer], pages: Pages) -> None:
    server = start_server()
    page = pages.open(f"{server.url}/")
    page.get_by_role("link", name="Settings").click()
    expect(page.locator("#ai-off")).to_contain_text("AI_BASE_URL is not set")
    page.get_by_label("Temperature").fill("0.5")
    page.get_by_label("Greeting for new contacts").fill("Welcome to Acme!")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status").filter(has_text="Saved 2 changes")).to_be_visible()
    expect(page.locator(".settings-history")).to_contain_text("ai.greeting")
    page.get_by_label("Temperature").fill("7")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("alert").filter(has_text="must be at most 2")).to_be_visible()
