"""Signing in and out in a real browser: the sign-in page, the agent's name in the inbox, a message
sent as that agent, and signing out, which also sends the agent's other tabs to the sign-in page."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.helpers.app import LiveServer
from tests.helpers.auth import AGENT_EMAIL, AGENT_NAME, TEST_PASSWORD
from tests.helpers.browser import Pages, api, post, screenshot, wait_connected
from tests.helpers.payloads import RAVI, inbound, text
from tests.helpers.wait import eventually

StartServer = Callable[..., LiveServer]


def fill_sign_in(page: Page, email: str, password: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_sign_in_send_as_yourself_and_sign_out(start_server: StartServer, pages: Pages) -> None:
    server = start_server()
    post(server, inbound(text("Is my order on its way?", timestamp=int(time.time()) - 60)))
    page = pages.open(f"{server.url}/", signed_in=False)
    expect(page).to_have_url(f"{server.url}/login")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    screenshot(page, "sign-in.png", docs="sign-in.png")

    fill_sign_in(page, AGENT_EMAIL, "not my password")
    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    expect(page.get_by_label("Email")).to_have_value(AGENT_EMAIL)  # kept, to fix the password

    fill_sign_in(page, AGENT_EMAIL, TEST_PASSWORD)
    expect(page).to_have_url(f"{server.url}/")
    wait_connected(page)
    expect(page.locator(".sidebar-header .agent-name")).to_have_text(f"Signed in as {AGENT_NAME}")

    page.locator(f'#conversation-list [data-wa-id="{RAVI}"]').get_by_role("link").click()
    box = page.get_by_role("textbox", name="Type a message")
    box.fill("Yes, it ships today")
    box.press("Enter")
    sent = page.locator("#message-list .msg--outbound[data-message-id]")
    expect(sent.locator(".text")).to_have_text("Yes, it ships today")
    last = api(server, f"/messages/{RAVI}")[-1]
    assert last["id"] == sent.get_attribute("data-message-id") and last["sentBy"] == AGENT_EMAIL
    # a message into the open chat is read by the page's own POST, which carries the CSRF token
    post(server, inbound(text("Great, thanks!", timestamp=int(time.time()))))
    expect(page.locator("#message-list .msg--inbound .text").last).to_have_text("Great, thanks!")
    eventually(lambda: api(server, "/conversations")[0]["unreadCount"] == 0)

    other_tab = page.context.new_page()
    other_tab.goto(f"{server.url}/c/{RAVI}")
    wait_connected(other_tab)

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("dialog").get_by_role("button", name="Sign out").click()  # it asks first
    expect(page).to_have_url(f"{server.url}/login?signed_out=1")
    expect(page.get_by_role("status")).to_have_text("You signed out.")
    # the other tab's connection was closed with the session: it goes to the sign-in page by itself
    expect(other_tab).to_have_url(re.compile(rf"/login\?next=/c/{RAVI}$"))
    page.goto(f"{server.url}/")
    expect(page).to_have_url(f"{server.url}/login")


def test_a_deep_link_comes_back_after_sign_in(start_server: StartServer, pages: Pages) -> None:
    server = start_server()
    post(server, inbound(text("Hello?", timestamp=int(time.time()) - 60)))
    page = pages.open(f"{server.url}/c/{RAVI}", signed_in=False)
    expect(page).to_have_url(f"{server.url}/login?next=/c/{RAVI}")
    fill_sign_in(page, AGENT_EMAIL, TEST_PASSWORD)
    expect(page).to_have_url(f"{server.url}/c/{RAVI}")
    expect(page.locator(".chat-header h2")).to_have_text("Ravi Kumar")
    wait_connected(page)
