"""Templates from the page, in a real browser against the local Graph API: in a chat whose 24-hour window
is closed the picker takes the composer's place; the agent syncs, chooses, fills in, sees the text, sends."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from playwright.sync_api import Locator, expect

from tests.helpers.app import LiveServer
from tests.helpers.browser import Pages, composer, post, screenshot, tick
from tests.helpers.graph_api import PHONE_NUMBER_ID, TOKEN, WABA_ID, GraphAPI
from tests.helpers.payloads import NEHA, RAVI, inbound, now, text

StartServer = Callable[..., LiveServer]


def live_server(start_server: StartServer, graph_api: GraphAPI) -> LiveServer:
    server = start_server(WHATSAPP_ACCESS_TOKEN=TOKEN, WHATSAPP_API_BASE_URL=graph_api.url,
                          PHONE_NUMBER_ID=PHONE_NUMBER_ID, WHATSAPP_BUSINESS_ACCOUNT_ID=WABA_ID)
    graph_api.webhook_url = f"{server.url}/webhook"
    return server


def settled(picker: Locator) -> None:
    """htmx wires a swapped-in select up only when the swap settles: choosing before that would go unnoticed."""
    expect(picker.locator(".htmx-added")).to_have_count(0)
    expect(picker).not_to_have_class(re.compile(r"\bhtmx-settling\b"))


def test_a_closed_window_chat_sends_a_filled_in_template(start_server: StartServer, graph_api: GraphAPI,
                                                         pages: Pages) -> None:
    graph_api.add_template("order_update", "Hi {{1}}, your order {{2}} is on its way.")
    graph_api.add_template("hello_world", "Hello! Thanks for contacting us.")
    graph_api.auto_statuses(sent=True, delivered_after=0.3, read_after=None)
    server = live_server(start_server, graph_api)
    post(server, inbound(text("Where is my order?", sender=NEHA, timestamp=int(time.time()) - 26 * 3600),
                         name="Neha Joshi", wa_id=NEHA))
    page = pages.open(f"{server.url}/c/{NEHA}")
    expect(page.locator("#composer")).to_contain_text("24-hour customer-service window is closed")
    expect(page.get_by_role("textbox", name="Type a message")).to_have_count(0)

    picker = page.locator("#template-picker")
    expect(picker.get_by_role("combobox")).to_contain_text("No templates stored yet")
    settled(picker)
    picker.get_by_role("button", name="Sync templates").click()
    expect(picker).to_contain_text("2 template(s) stored, 0 removed")
    settled(picker)
    picker.get_by_role("combobox").select_option(label="order_update (en_US)")
    preview = picker.locator(".template-preview")
    expect(preview).to_have_text("Hi {{1}}, your order {{2}} is on its way.")
    settled(picker)
    picker.get_by_role("textbox", name="{{1}}").fill("Neha")
    expect(preview).to_have_text("Hi Neha, your order {{2}} is on its way.")
    picker.get_by_role("textbox", name="{{2}}").fill("#1042")
    expect(preview).to_have_text("Hi Neha, your order #1042 is on its way.")
    screenshot(page, "template-picker.png")

    picker.get_by_role("button", name="Send template").click()
    sent = page.locator("#message-list .msg--outbound[data-message-id]")
    expect(sent).to_have_count(1)
    expect(sent.locator(".text")).to_have_text("Hi Neha, your order #1042 is on its way.")
    expect(tick(sent)).to_have_attribute("aria-label", "Delivered", timeout=8000)
    expect(page.locator(f'#conversation-list [data-wa-id="{NEHA}"]')).to_contain_text("your order #1042")
    (message,) = graph_api.sent_messages()
    assert message.body["template"] == {"name": "order_update", "language": {"code": "en_US"},
                                        "components": [{"type": "body", "parameters": [
                                            {"type": "text", "text": "Neha"}, {"type": "text", "text": "#1042"}]}]}
    expect(preview).to_have_text("Hi {{1}}, your order {{2}} is on its way.")  # ready for the next one


def test_an_open_window_reaches_the_picker_with_the_template_button(start_server: StartServer, graph_api: GraphAPI,
                                                                    pages: Pages) -> None:
    graph_api.add_template("hello_world", "Hello! Thanks for contacting us.")
    server = live_server(start_server, graph_api)
    post(server, inbound(text("Hi", timestamp=now())))
    page = pages.open(f"{server.url}/c/{RAVI}")
    page.get_by_role("button", name="Template", exact=True).click()
    picker = page.locator("#template-picker")
    expect(picker.get_by_role("combobox")).to_be_visible()
    settled(picker)
    picker.get_by_role("button", name="Sync templates").click()
    expect(picker).to_contain_text("1 template(s) stored")
    settled(picker)
    picker.get_by_role("combobox").select_option(label="hello_world (en_US)")
    expect(picker.get_by_role("button", name="Send template")).to_be_visible()
    settled(picker)
    picker.get_by_role("button", name="Send template").click()
    expect(page.locator("#message-list .msg--outbound .text").last).to_have_text("Hello! Thanks for contacting us.")
    picker.get_by_role("button", name="Close the template picker").click()
    expect(picker).to_be_empty()
    expect(composer(page)).to_be_visible()
