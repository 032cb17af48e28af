"""Noticing new messages (issue 10, item 3), in a real browser: the unread total in the tab's title
and icon, an optional sound, browser notifications asked for with a button (never on load), and a
"new messages" pill when a message arrives while the agent reads further up, the view kept still.
Also: the chat list pages on past its first 50 rows as it scrolls."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient
from playwright.sync_api import expect

from tests.helpers.app import LiveServer
from tests.helpers.browser import Pages, bubble, post, row
from tests.helpers.payloads import NEHA, RAVI, inbound, now, text, wamid

StartServer = Callable[..., LiveServer]

# A stand-in for the browser's Notification API that records what the page asks for and shows
# (headless Chromium cannot show notifications); everything else on the page is real.
NOTIFICATIONS = """
window.notificationsAsked = 0;
window.notificationsShown = [];
window.Notification = class {
  static permission = "default";
  static requestPermission() {
    window.notificationsAsked += 1;
    window.Notification.permission = "granted";
    return Promise.resolve("granted");
  }
  constructor(title, options) { window.notificationsShown.push({ title, body: options.body }); }
};
"""


def test_the_list_loads_past_its_first_50_chats_as_it_scrolls(start_server: StartServer, pages: Pages) -> None:
    server = start_server()
    numbers = [f"4477009{i:05d}" for i in range(62)]
    for i, number in enumerate(numbers):
        post(server, inbound(text(f"hello {i}", sender=number, timestamp=now(-1000 + i)), name=f"Customer {i:02d}",
                             wa_id=number))
    page = pages.open(f"{server.url}/")
    rows = page.locator("#conversation-list [data-wa-id]")
    expect(rows).to_have_count(50)
    more = page.locator("#conversation-list .list-more")
    expect(more).to_have_text("Loading more chats…")

    page.locator("#conversation-list").evaluate("list => { list.scrollTop = list.scrollHeight; }")
    expect(rows).to_have_count(62)
    expect(more).to_have_count(0)  # nothing left to load
    shown = rows.evaluate_all("els => els.map(e => e.dataset.waId)")
    assert shown == list(reversed(numbers))  # newest first, each once


def test_a_message_arriving_while_scrolled_up_shows_a_pill_and_the_view_stays(start_server: StartServer,
                                                                              pages: Pages) -> None:
    server = start_server()
    ids = [wamid() for _ in range(40)]
    post(server, inbound(*(text(f"message number {i}", id=ids[i], timestamp=now(-4000 + 60 * i))
                           for i in range(40))))
    page = pages.open(f"{server.url}/c/{RAVI}")
    expect(page.locator("#message-list [data-message-id]")).to_have_count(40)
    pill = page.locator("#new-messages")
    expect(pill).to_be_hidden()

    anchor = bubble(page, ids[10])
    anchor.scroll_into_view_if_needed()
    top_before = anchor.evaluate("e => e.getBoundingClientRect().top")
    assert page.locator(".messages").evaluate("s => s.scrollTop") < -200  # well up in the history

    first = wamid()
    post(server, inbound(text("Are you there?", id=first, timestamp=now())))
    expect(bubble(page, first)).to_have_count(1)
    expect(pill).to_be_visible()
    expect(pill).to_have_text("1 new message ↓")
    assert abs(anchor.evaluate("e => e.getBoundingClientRect().top") - top_before) <= 2  # the view did not move
    expect(bubble(page, first)).not_to_be_in_viewport()

    second = wamid()
    post(server, inbound(text("Hello?", id=second, timestamp=now(1))))
    expect(pill).to_have_text("2 new messages ↓")
    assert abs(anchor.evaluate("e => e.getBoundingClientRect().top") - top_before) <= 2

    pill.click()
    expect(bubble(page, second)).to_be_in_viewport()
    expect(pill).to_be_hidden()

    third = wamid()  # at the bottom, a new message just shows: no pill
    post(server, inbound(text("Thanks", id=third, timestamp=now(2))))
    expect(bubble(page, third)).to_be_in_viewport()
    expect(pill).to_be_hidden()


def test_the_unread_total_is_in_the_tab_title_and_icon(start_server: StartServer, pages: Pages) -> None:
    server = start_server()
    post(server, inbound(text("One", timestamp=now(-30)), text("Two", timestamp=now(-29))))
    page = pages.open(f"{server.url}/")
    expect(page).to_have_title("(2) Acme Support · Inbox")
    icon = page.locator('link[rel="icon"]')
    expect(icon).to_have_attribute("href", "/static/img/favicon-unread.svg")

    post(server, inbound(text("Hi", sender=NEHA, timestamp=now()), name="Neha Joshi", wa_id=NEHA))
    expect(page).to_have_title("(3) Acme Support · Inbox")

    row(page, RAVI).get_by_role("link").click()  # opening a chat reads it
    expect(page).to_have_title("(1) Ravi Kumar · Acme Support")
    row(page, NEHA).get_by_role("link").click()
    expect(page).to_have_title("Neha Joshi · Acme Support")
    expect(icon).to_have_attribute("href", "/static/img/favicon.svg")


def test_notifications_are_asked_for_with_a_button_and_shown_for_other_chats(start_server: StartServer,
                                                                            pages: Pages) -> None:
    server = start_server()
    post(server, inbound(text("Hello", timestamp=now(-10))))
    page = pages.open(f"{server.url}/c/{RAVI}", init_script=NOTIFICATIONS)
    button = page.get_by_role("button", name="Turn on notifications")
    expect(button).to_be_visible()
    assert page.evaluate("window.notificationsAsked") == 0  # never on load

    button.click()
    expect(button).to_be_hidden()
    assert page.evaluate("window.notificationsAsked") == 1

    post(server, inbound(text("Where is my order?", sender=NEHA, timestamp=now()), name="Neha Joshi", wa_id=NEHA))
    expect(row(page, NEHA)).to_have_count(1)
    page.wait_for_function("window.notificationsShown.length === 1")
    assert page.evaluate("window.notificationsShown") == [{"title": "Neha Joshi", "body": "Where is my order?"}]

    post(server, inbound(text("Still here", timestamp=now(1))))  # the chat on screen: no notification
    expect(page.locator("#message-list .text").last).to_have_text("Still here")
    assert page.evaluate("window.notificationsShown.length") == 1


def test_a_sound_plays_for_new_messages_when_switched_on(start_server: StartServer, pages: Pages) -> None:
    server = start_server()
    page = pages.open(f"{server.url}/")
    page.evaluate("window.chimes = 0; document.addEventListener('inbox:chime', () => { window.chimes += 1; })")
    sound = page.get_by_role("button", name="Sound for new messages")
    expect(sound).to_have_attribute("aria-pressed", "false")

    post(server, inbound(text("Quiet one", timestamp=now(-5))))
    expect(row(page, RAVI)).to_have_count(1)
    assert page.evaluate("window.chimes") == 0  # off until the agent switches it on

    sound.click()
    expect(sound).to_have_attribute("aria-pressed", "true")
    post(server, inbound(text("Loud one", timestamp=now())))
    page.wait_for_function("window.chimes === 1")

    page.reload()  # the choice is remembered
    expect(page.get_by_role("button", name="Sound for new messages")).to_have_attribute("aria-pressed", "true")


def test_unread_counts_for_a_reconnecting_page(client: FlaskClient) -> None:
    client.post("/webhook", json=inbound(text("One", timestamp=now(-5)), text("Two", timestamp=now(-4))))
    client.post("/webhook", json=inbound(text("Hi", sender=NEHA, timestamp=now()), name="Neha Joshi", wa_id=NEHA))
    assert client.get("/ui/unread").get_json() == {"unread": {RAVI: 2, NEHA: 1}}
    client.post(f"/api/conversations/{RAVI}/read")
    assert client.get("/ui/unread").get_json() == {"unread": {NEHA: 1}}
    page = client.get("/")
    assert f'data-unread="{{&#34;{NEHA}&#34;: 1}}"' in page.text
