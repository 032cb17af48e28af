"""The inbox in a real browser: headless Chromium (Debian's) driven by Playwright, against the app
served by eventlet on a free port with the real database. Each test asserts what an agent sees."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import expect

from tests.helpers.app import LiveServer
from tests.helpers.browser import (
    PHONE,
    Pages,
    api,
    bubble,
    bubble_ids,
    composer,
    post,
    row,
    screenshot,
    tick,
    wait_connected,
)
from tests.helpers.payloads import (
    NEHA,
    RAVI,
    failure,
    inbound,
    message,
    meta_body,
    now,
    outbound,
    raw,
    reaction,
    status,
    statuses,
    text,
    value,
    wamid,
)
from tests.helpers.wait import eventually
from webapp.demo.bodies import demo_bodies
from webapp.webhooks.receive import receive_webhook
from webapp.whatsapp.signature import SignatureVerdict

StartServer = Callable[..., LiveServer]
READ_BLUE = "rgb(26, 139, 208)"  # darker than WhatsApp's #53bdeb: 3:1 on the bubble


def test_pushed_message_appears_without_reload_and_opening_marks_read(start_server: StartServer,
                                                                       pages: Pages) -> None:
    server = start_server()
    page = pages.open(f"{server.url}/")
    expect(page.locator("#chat .empty")).to_contain_text("Pick a chat")
    page.evaluate("window.sameDocument = true")

    first = wamid()
    post(server, inbound(text("Hi, is the blue chair in stock?", id=first, timestamp=now())))
    ravi = row(page, RAVI)
    expect(ravi.locator(".row-name")).to_have_text("Ravi Kumar")
    expect(ravi.locator(".row-text")).to_have_text("Hi, is the blue chair in stock?")
    expect(ravi.locator(".avatar")).to_have_text("RK")
    expect(ravi.locator(".badge")).to_have_text("1")

    ravi.get_by_role("link").click()
    expect(page).to_have_url(f"{server.url}/c/{RAVI}")
    expect(page.locator(".chat-header")).to_contain_text("Ravi Kumar")
    expect(page.locator(".chat-header")).to_contain_text("+919937320320")
    expect(bubble(page, first).locator(".text")).to_have_text("Hi, is the blue chair in stock?")
    expect(ravi.locator(".badge")).to_have_count(0)

    second = wamid()
    post(server, inbound(text("Also in green?", id=second, timestamp=now(5))))
    expect(bubble(page, second)).to_be_visible()
    assert bubble_ids(page) == [first, second]
    assert "msg--inbound" in (bubble(page, second).get_attribute("class") or "")
    # the open chat reads what arrives in it, for everyone
    eventually(lambda: api(server, "/conversations")[0]["unreadCount"] == 0)
    expect(ravi.locator(".badge")).to_have_count(0)
    assert page.evaluate("window.sameDocument") is True  # no reload happened
    screenshot(page, "inbox-desktop-live.png")


def test_keyboard_send_then_ticks_go_sent_delivered_read(start_server: StartServer, pages: Pages) -> None:
    server = start_server()
    post(server, inbound(text("Can I book a visit?", timestamp=now())))
    page = pages.open(f"{server.url}/")

    page.keyboard.press("Tab")  # the skip link
    expect(page.get_by_role("link", name="Skip to the chat")).to_be_focused()
    page.keyboard.press("Tab")  # the header's Documents link
    expect(page.get_by_role("link", name="Documents")).to_be_focused()
    page.keyboard.press("Tab")  # the header's bell: turn on notifications
    page.keyboard.press("Tab")  # the header's sound switch
    page.keyboard.press("Tab")  # the header's sign-out button
    expect(page.get_by_role("button", name="Sign out")).to_be_focused()
    page.keyboard.press("Tab")  # the search box
    expect(page.get_by_role("searchbox", name="Search chats by name or number")).to_be_focused()
    for name in ("Mine", "Unassigned", "All", "Unread", "Resolved"):  # the list's filters
        page.keyboard.press("Tab")
        expect(page.get_by_role("button", name=re.compile(f"^{name}"))).to_be_focused()
    page.keyboard.press("Tab")  # the first chat
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{server.url}/c/{RAVI}")
    box = composer(page)
    expect(box).to_be_focused()
    page.keyboard.type("Sure!")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("Saturday at 11?")
    page.keyboard.press("Enter")

    sent = page.locator("#message-list .msg--outbound[data-message-id]")
    expect(sent).to_have_count(1)
    expect(sent.locator(".text")).to_have_text("Sure!\nSaturday at 11?")
    expect(box).to_have_value("")
    expect(box).to_be_focused()
    expect(tick(sent)).to_have_attribute("aria-label", "Sent")
    reply = sent.get_attribute("data-message-id") or ""
    assert api(server, f"/messages/{RAVI}")[-1]["id"] == reply

    post(server, statuses(status(reply, "delivered", timestamp=now(10))))
    expect(tick(sent)).to_have_attribute("aria-label", "Delivered")
    post(server, statuses(status(reply, "read", timestamp=now(20))))
    expect(tick(sent)).to_have_attribute("aria-label", "Read")
    assert tick(sent).evaluate("e => getComputedStyle(e).color") == READ_BLUE
    expect(tick(row(page, RAVI))).to_have_attribute("aria-label", "Read")

    post(server, statuses(status(reply, "delivered", timestamp=now(15))))  # late and stale
    barrier = wamid()
    post(server, inbound(text("Great", id=barrier, timestamp=now(30))))
    expect(bubble(page, barrier)).to_be_visible()
    expect(tick(sent)).to_have_attribute("aria-label", "Read")
    assert bubble_ids(page).count(reply) == 1  # pushed and answered, shown once


def test_server_validation_errors_show_next_to_the_composer(start_server: StartServer, pages: Pages) -> None:
    server = start_server(MESSAGE_MAX_LENGTH=20)
    post(server, inbound(text("Hello", timestamp=now())))
    page = pages.open(f"{server.url}/c/{RAVI}")
    box = composer(page)
    box.fill("This message is far too long for the limit")
    box.press("Enter")

    error = page.locator("#composer-error")
    expect(error).to_have_text("The message must be at most 20 characters.")
    expect(box).to_have_value("This message is far too long for the limit")  # kept, to fix
    expect(page.locator("#message-list .msg--outbound")).to_have_count(0)

    box.fill("")
    page.get_by_role("button", name="Send").click()
    expect(error).to_have_text("The message must not be empty.")
    box.fill("Short one")
    box.press("Enter")
    expect(page.locator("#message-list .msg--outbound[data-message-id] .text")).to_have_text("Short one")
    expect(error).to_be_hidden()


def test_two_agents_and_a_list_tab_stay_in_step(start_server: StartServer, pages: Pages) -> None:
    server = start_server()
    post(server, inbound(text("Hi from Ravi", timestamp=now())))
    post(server, inbound(text("Hi from Neha", sender=NEHA, timestamp=now(1)), name="Neha Joshi", wa_id=NEHA))
    first = pages.open(f"{server.url}/c/{RAVI}")
    second = pages.open(f"{server.url}/c/{RAVI}")
    watcher = pages.open(f"{server.url}/")

    composer(first).fill("Hello Ravi, how can we help?")
    composer(first).press("Enter")
    mine = first.locator("#message-list .msg--outbound[data-message-id]")
    expect(mine).to_have_count(1)
    reply = mine.get_attribute("data-message-id") or ""
    expect(bubble(second, reply).locator(".text")).to_have_text("Hello Ravi, how can we help?")
    expect(row(watcher, RAVI).locator(".row-text")).to_have_text("Hello Ravi, how can we help?")
    expect(watcher.locator("#conversation-list [data-wa-id]").first).to_have_attribute("data-wa-id", RAVI)

    post(server, statuses(status(reply, "read", timestamp=now(10))))
    for page in (first, second):
        expect(tick(bubble(page, reply))).to_have_attribute("aria-label", "Read")
    expect(tick(row(watcher, RAVI))).to_have_attribute("aria-label", "Read")

    later = wamid()
    post(server, inbound(text("I need a bigger size", id=later, sender=NEHA, timestamp=now(200)), name="Neha Joshi",
                         wa_id=NEHA))
    for page in (first, second, watcher):
        neha = row(page, NEHA)
        expect(page.locator("#conversation-list [data-wa-id]").first).to_have_attribute("data-wa-id", NEHA)
        expect(neha.locator(".badge")).to_have_text("2")
        expect(neha.locator(".row-text")).to_have_text("I need a bigger size")

    assert bubble_ids(first).count(reply) == 1 and bubble_ids(second).count(reply) == 1  # pushed and answered

    row(second, NEHA).get_by_role("link").click()  # the second agent opens Neha's chat: read everywhere
    expect(bubble(second, later)).to_be_visible()
    for page in (first, second, watcher):
        expect(row(page, NEHA).locator(".badge")).to_have_count(0)


def test_hostile_text_shows_as_text_and_runs_nothing(start_server: StartServer, pages: Pages) -> None:
    server = start_server()
    name = '<img src=x onerror="window.pwned=1;alert(1)">'
    body = '<script>window.pwned=2;alert(2)</script><img src=x onerror="window.pwned=3;alert(3)">'
    place = '"><svg onload="window.pwned=4">'
    page = pages.open(f"{server.url}/")
    first, second = wamid(), wamid()
    post(server, inbound(text(body, id=first, timestamp=now()),
                         message("location", {"latitude": 1, "longitude": 2, "name": place, "address": body},
                                 id=second, timestamp=now(1)), name=name))

    expect(row(page, RAVI).locator(".row-name")).to_have_text(name)
    row(page, RAVI).get_by_role("link").click()
    expect(bubble(page, first).locator(".text")).to_have_text(body)
    expect(bubble(page, second).locator(".card-title")).to_have_text(place)
    expect(page.locator(".chat-header h2")).to_have_text(name)

    composer(page).fill(body)  # the agent's own text, shown at once and after the round trip
    composer(page).press("Enter")
    expect(page.locator("#message-list .msg--outbound[data-message-id] .text")).to_have_text(body)

    page.reload()
    expect(bubble(page, first).locator(".text")).to_have_text(body)
    expect(page.locator("#message-list .msg--outbound[data-message-id] .text")).to_have_text(body)
    assert page.evaluate("window.pwned") is None
    assert page.locator("#app img, #app svg[onload]").count() == 0
    assert page.locator("script").count() == 5  # htmx, the Socket.IO client and ours (three); nothing injected
    assert pages.dialogs == []


def test_phone_width_shows_one_pane_with_a_back_button(start_server: StartServer, pages: Pages) -> None:
    server = start_server()
    long_word = "Supercalifragilistic" * 12
    post(server, inbound(text("Hello from my phone", timestamp=now()),
                         text(f"{long_word} https://example.com/{'a' * 150}", timestamp=now(1)),
                         message("location", {"latitude": 18.5, "longitude": 73.8, "name": long_word,
                                              "address": long_word}, timestamp=now(2))))
    post(server, inbound(text("Other chat", sender=NEHA, timestamp=now(3)), name="Neha Joshi", wa_id=NEHA))
    page = pages.open(f"{server.url}/", viewport=PHONE)

    def no_horizontal_scroll() -> bool:
        return page.evaluate("() => document.documentElement.scrollWidth <= innerWidth && "
                             "[...document.querySelectorAll('.messages, .conversations')]"
                             ".every(e => e.scrollWidth <= e.clientWidth)")

    sidebar, chat = page.locator(".sidebar"), page.locator(".chat-pane")
    expect(sidebar).to_be_visible()
    expect(chat).to_be_hidden()
    assert no_horizontal_scroll()
    screenshot(page, "inbox-phone-list.png")

    row(page, RAVI).get_by_role("link").click()
    expect(chat).to_be_visible()
    expect(sidebar).to_be_hidden()
    expect(page.locator("#message-list .msg")).to_have_count(3)
    assert no_horizontal_scroll()
    for box in page.locator("#message-list .bubble").evaluate_all("els => els.map(e => e.getBoundingClientRect())"):
        assert box["left"] >= 0 and box["right"] <= PHONE["width"]
    screenshot(page, "inbox-phone-chat.png")

    page.get_by_role("link", name="Back to chats").click()
    expect(page).to_have_url(f"{server.url}/")
    expect(sidebar).to_be_visible()
    expect(chat).to_be_hidden()
    page.go_forward()  # the in-app back button went back: forward returns to the chat
    expect(page).to_have_url(f"{server.url}/c/{RAVI}")
    expect(page.locator(".chat-header h2")).to_have_text("Ravi Kumar")
    expect(sidebar).to_be_hidden()


def test_deep_link_back_and_forward(start_server: StartServer, pages: Pages) -> None:
    server = start_server()
    post(server, inbound(text("Ravi here", timestamp=now())))
    post(server, inbound(text("Neha here", sender=NEHA, timestamp=now(1)), name="Neha Joshi", wa_id=NEHA))
    page = pages.open(f"{server.url}/c/{RAVI}")
    expect(page.locator(".chat-header h2")).to_have_text("Ravi Kumar")
    expect(row(page, RAVI).get_by_role("link")).to_have_attribute("aria-current", "page")

    row(page, NEHA).get_by_role("link").click()
    expect(page).to_have_url(f"{server.url}/c/{NEHA}")
    expect(page.locator(".chat-header h2")).to_have_text("Neha Joshi")
    expect(page).to_have_title("Neha Joshi · Acme Support")
    expect(row(page, NEHA).get_by_role("link")).to_have_attribute("aria-current", "page")
    expect(row(page, RAVI).get_by_role("link")).not_to_have_attribute("aria-current", "page")

    page.go_back()
    expect(page).to_have_url(f"{server.url}/c/{RAVI}")
    expect(page.locator(".chat-header h2")).to_have_text("Ravi Kumar")
    expect(page.locator("#message-list .text")).to_have_text(["Ravi here"])
    page.go_forward()
    expect(page.locator(".chat-header h2")).to_have_text("Neha Joshi")

    missing = page.goto(f"{server.url}/c/15550009999")
    assert missing is not None and missing.status == 404
    expect(page.locator("#chat .empty")).to_contain_text("No conversation with 15550009999")


def test_search_filters_as_you_type(start_server: StartServer, pages: Pages) -> None:
    server = start_server()
    post(server, inbound(text("one", timestamp=now())))
    post(server, inbound(text("two", sender=NEHA, timestamp=now(1)), name="Neha Joshi", wa_id=NEHA))
    post(server, inbound(text("three", sender="447700900123", timestamp=now(2)), name="Sam O'Brien",
                         wa_id="447700900123"))
    page = pages.open(f"{server.url}/")
    rows = page.locator("#conversation-list [data-wa-id]")
    expect(rows).to_have_count(3)
    search = page.get_by_role("searchbox", name="Search chats by name or number")

    search.press_sequentially("neh")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-wa-id", NEHA)
    search.fill("")
    search.press_sequentially("4477")
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".row-name")).to_have_text("Sam O'Brien")
    search.fill("nobody")
    expect(rows).to_have_count(0)
    expect(page.locator(".list-empty")).to_contain_text("No chats match")
    search.fill("")
    expect(rows).to_have_count(3)


def test_scrolling_up_loads_older_messages_without_jumping(start_server: StartServer, pages: Pages) -> None:
    server = start_server()
    ids = [wamid() for _ in range(70)]
    post(server, inbound(*(text(f"message number {i}", id=ids[i], timestamp=now(-7000 + 60 * i))
                           for i in range(70))))
    page = pages.open(f"{server.url}/c/{RAVI}")
    expect(page.locator("#message-list [data-message-id]")).to_have_count(50)
    assert bubble_ids(page) == ids[20:]
    anchor = bubble(page, ids[20])

    top_before = page.locator(".messages").evaluate(
        "(scroller, id) => { scroller.scrollTop = -scroller.scrollHeight;"
        " return document.querySelector(`[data-message-id='${id}']`).getBoundingClientRect().top; }", ids[20])
    expect(page.locator("#message-list [data-message-id]")).to_have_count(70)
    page.wait_for_function("() => !document.querySelector('.htmx-settling')")
    assert bubble_ids(page) == ids
    top_after = anchor.evaluate("e => e.getBoundingClientRect().top")
    assert abs(top_after - top_before) <= 2, (top_before, top_after)
    expect(page.locator("#message-list .older")).to_have_count(0)  # nothing older left


def test_every_message_type_renders(start_server: StartServer, pages: Pages) -> None:
    server = start_server()
    ids = {name: wamid() for name in ("image", "document", "voice", "video", "sticker", "location", "contacts",
                                      "button_reply", "list_reply", "button", "quoted", "reply", "odd", "sent")}
    post(server, inbound(
        message("image", {"id": "M1", "mime_type": "image/jpeg", "caption": "Our new shop"}, id=ids["image"],
                timestamp=now()),
        message("document", {"id": "M2", "mime_type": "application/pdf", "filename": "invoice_0425.pdf"},
                id=ids["document"], timestamp=now(1)),
        message("audio", {"id": "M3", "mime_type": "audio/ogg", "voice": True}, id=ids["voice"], timestamp=now(2)),
        message("video", {"id": "M4", "mime_type": "video/mp4"}, id=ids["video"], timestamp=now(3)),
        message("sticker", {"id": "M5", "mime_type": "image/webp"}, id=ids["sticker"], timestamp=now(4)),
        message("location", {"latitude": 12.9756, "longitude": 77.605, "name": "MG Road Metro",
                             "address": "Mahatma Gandhi Rd, Bengaluru"}, id=ids["location"], timestamp=now(5)),
        message("contacts", [{"name": {"formatted_name": "Asha Rao"}, "phones": [{"phone": "+91 99000 11111"}]}],
                id=ids["contacts"], timestamp=now(6)),
        message("interactive", {"type": "button_reply", "button_reply": {"id": "y", "title": "Yes, book it"}},
                id=ids["button_reply"], timestamp=now(7)),
        message("interactive", {"type": "list_reply", "list_reply": {"id": "b", "title": "Billing",
                                                                     "description": "Invoices and refunds"}},
                id=ids["list_reply"], timestamp=now(8)),
        message("button", {"payload": "STOP", "text": "Stop promotions"}, id=ids["button"], timestamp=now(9)),
        text("Which colours do you have?", id=ids["quoted"], timestamp=now(10)),
        text("And in oak?", id=ids["reply"], timestamp=now(11), context={"from": RAVI, "id": ids["quoted"]}),
        message("ephemeral", None, id=ids["odd"], timestamp=now(12)),
    ))
    post(server, inbound(outbound("Blue and grey", id=ids["sent"], timestamp=now(13))))
    post(server, statuses(status(ids["sent"], "failed", timestamp=now(14),
                                 errors=[failure(131047, "Re-engagement message", "More than 24 hours passed.")])))
    page = pages.open(f"{server.url}/c/{RAVI}")

    def shows(name: str, *texts: str) -> None:
        for expected in texts:
            expect(bubble(page, ids[name])).to_contain_text(expected)

    shows("image", "Photo", "Our new shop")
    shows("document", "invoice_0425.pdf")
    shows("voice", "Voice message")
    shows("video", "Video")
    shows("sticker", "Sticker")
    shows("location", "MG Road Metro", "Mahatma Gandhi Rd, Bengaluru")
    link = bubble(page, ids["location"]).get_by_role("link", name="Open in map")
    assert "mlat=12.9756&mlon=77.605" in (link.get_attribute("href") or "")
    shows("contacts", "Asha Rao", "+91 99000 11111")
    shows("button_reply", "Button reply", "Yes, book it")
    shows("list_reply", "Billing", "Invoices and refunds")
    shows("button", "Stop promotions")
    expect(bubble(page, ids["reply"]).locator("blockquote")).to_contain_text("Which colours do you have?")
    shows("odd", "Unsupported message")

    failed = tick(bubble(page, ids["sent"]))
    expect(failed).to_have_attribute("aria-label", "Failed")
    tooltip = bubble(page, ids["sent"]).get_by_role("tooltip")
    expect(tooltip).to_be_hidden()
    failed.focus()  # by keyboard: the error's title and details show
    expect(tooltip).to_be_visible()
    expect(tooltip).to_contain_text("Re-engagement message (131047)")
    expect(tooltip).to_contain_text("More than 24 hours passed.")

    post(server, inbound(reaction(ids["sent"], "👍", timestamp=now(20))))  # pushed onto its bubble
    expect(bubble(page, ids["sent"]).get_by_role("img", name="Reactions: 👍")).to_be_visible()
    post(server, inbound(reaction(ids["sent"], "", timestamp=now(21))))  # and removed
    expect(bubble(page, ids["sent"]).locator("[data-reactions]")).to_be_hidden()
    screenshot(page, "message-types.png")


def test_times_are_smart_in_the_viewers_time_zone(start_server: StartServer, pages: Pages) -> None:
    zone = "Pacific/Kiritimati"  # UTC+14: "today" here is often not today in UTC
    local_now = datetime.now(ZoneInfo(zone))
    ago = {
        "919900000001": timedelta(minutes=3),
        "919900000002": timedelta(days=1),
        "919900000003": timedelta(days=3),
        "919900000004": timedelta(days=30),
    }
    server = start_server()
    for number, delta in ago.items():
        at = local_now - delta
        post(server, inbound(text(f"hello {number}", sender=number, timestamp=int(at.timestamp())),
                             name=f"Customer {number[-1]}", wa_id=number))

    def expected(at: datetime) -> str:
        days = (local_now.date() - at.date()).days
        if days == 0:
            return at.strftime("%-I:%M %p")
        if days == 1:
            return "Yesterday"
        if days < 7:
            return at.strftime("%A")
        return at.strftime("%m/%d/%Y")

    page = pages.open(f"{server.url}/", timezone=zone)
    for number, delta in ago.items():
        at = (local_now - delta).replace(second=0, microsecond=0)
        expect(row(page, number).locator("time")).to_have_text(expected(at))

    row(page, "919900000002").get_by_role("link").click()
    expect(page.locator("#message-list .day")).to_have_text(["Yesterday"])
    sent_at = (local_now - ago["919900000002"]).strftime("%-I:%M %p")
    expect(page.locator("#message-list .msg time")).to_have_text([sent_at])

    composer(page).fill("Replying now")
    composer(page).press("Enter")
    expect(page.locator("#message-list .day")).to_have_text(["Yesterday", "Today"])


def test_offline_banner_and_catch_up_after_the_server_comes_back(start_server: StartServer, pages: Pages,
                                                                 make_app: Callable[..., Flask]) -> None:
    server = start_server()
    post(server, inbound(text("Before the outage", timestamp=now())))
    post(server, inbound(text("Neha before", sender=NEHA, timestamp=now(1)), name="Neha Joshi", wa_id=NEHA))
    page = pages.open(f"{server.url}/c/{RAVI}")
    banner = page.get_by_role("status").filter(has_text="offline")
    expect(banner).to_be_hidden()

    server.stop()
    expect(banner).to_be_visible()
    missed, neha_missed = wamid(), wamid()
    with make_app().app_context():  # written while no page can be told: only a catch-up shows it
        receive_webhook(raw(inbound(text("Sent during the outage", id=missed, timestamp=now(10)))),
                        signature=SignatureVerdict.NOT_CHECKED)
        receive_webhook(raw(inbound(text("Neha during the outage", id=neha_missed, sender=NEHA, timestamp=now(11)),
                                    name="Neha Joshi", wa_id=NEHA)), signature=SignatureVerdict.NOT_CHECKED)

    server.start()
    expect(banner).to_be_hidden(timeout=15000)
    expect(bubble(page, missed).locator(".text")).to_have_text("Sent during the outage")
    expect(row(page, NEHA).locator(".row-text")).to_have_text("Neha during the outage")
    expect(row(page, NEHA).locator(".badge")).to_have_text("2")
    expect(page.locator("#conversation-list [data-wa-id]").first).to_have_attribute("data-wa-id", NEHA)
    eventually(lambda: api(server, "/conversations")[1]["unreadCount"] == 0)  # Ravi's chat is open: read


# The page's Socket.IO client waits for the test's word before it first connects: the window between a
# page's HTML and its connection, held open.
HOLD_FIRST_CONNECT = """
let realIo;
Object.defineProperty(window, "io", { configurable: true, set(v) { realIo = v; }, get() {
  return realIo && ((options) => {
    const socket = realIo({ ...options, autoConnect: false });
    window.connectNow = () => socket.connect();
    return socket;
  });
} });
"""


def test_a_change_between_the_page_and_its_first_connection_is_caught_up(start_server: StartServer,
                                                                         pages: Pages) -> None:
    server = start_server()
    post(server, inbound(text("Already here", timestamp=now())))
    post(server, inbound(text("Neha's question", sender=NEHA, timestamp=now(1)), name="Neha Joshi", wa_id=NEHA))
    page = pages.open(f"{server.url}/c/{RAVI}", live=False, init_script=HOLD_FIRST_CONNECT)
    expect(page.locator(".chat")).to_be_visible()
    assert page.evaluate("document.documentElement.dataset.socket") is None  # not connected yet
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url) if "/ui/conversations" in r.url else None)

    missed = wamid()
    post(server, inbound(text("Written before the page listened", id=missed, timestamp=now(10))))
    post(server, inbound(text("Neha again", sender=NEHA, timestamp=now(11)), name="Neha Joshi", wa_id=NEHA))
    page.evaluate("window.connectNow()")
    wait_connected(page)
    expect(bubble(page, missed).locator(".text")).to_have_text("Written before the page listened")
    expect(row(page, NEHA).locator(".row-text")).to_have_text("Neha again")
    assert fetched  # the list was fetched again

    # Nothing changed in between: the first connection fetches nothing again.
    eventually(lambda: {c["wa_id"]: c["unreadCount"] for c in api(server, "/conversations")}[RAVI] == 0)
    page.close()  # its read was the last change
    quiet = pages.open(f"{server.url}/c/{NEHA}", live=False, init_script=HOLD_FIRST_CONNECT)
    expect(quiet.locator(".chat")).to_be_visible()
    again: list[str] = []
    quiet.on("request", lambda r: again.append(r.url) if "/ui/" in r.url or "/messages" in r.url else None)
    quiet.evaluate("window.connectNow()")
    wait_connected(quiet)
    eventually(lambda: any("/ui/changes" in url for url in again))
    time.sleep(0.5)
    assert [url for url in again if "/ui/conversations" in url or "/c/" in url] == []


def ravi_open_and_neha_new_before_connecting(start_server: StartServer, pages: Pages) -> tuple[LiveServer, Any]:
    """Ravi's chat open in a page not yet connected, and a message from Neha since: its first connection
    catches up."""
    server = start_server()
    post(server, inbound(text("Ravi here", timestamp=now())))
    page = pages.open(f"{server.url}/c/{RAVI}", live=False, init_script=HOLD_FIRST_CONNECT)
    expect(page.locator(".chat")).to_be_visible()
    post(server, inbound(text("Neha here", sender=NEHA, timestamp=now(1)), name="Neha Joshi", wa_id=NEHA))
    return server, page


def test_counts_fetched_before_a_chat_was_read_do_not_bring_its_count_back(start_server: StartServer,
                                                                          pages: Pages) -> None:
    """The first connection's catch-up fetches the unread counts; when that answer comes after the agent
    has read the chats (their counts pushed at 0), the tab title stays without a count."""
    _, page = ravi_open_and_neha_new_before_connecting(start_server, pages)
    held: list[Any] = []
    page.route("**/ui/unread", lambda route: held.append((route, route.fetch())))  # answered, held back
    with page.expect_request("**/ui/unread"):
        page.evaluate("window.connectNow()")
    wait_connected(page)
    row(page, NEHA).get_by_role("link").click()
    expect(page.locator(".chat-header h2")).to_have_text("Neha Joshi")
    expect(page).to_have_title("Neha Joshi · Acme Support")  # both chats read, their counts pushed
    route, before_reading = held[0]
    route.fulfill(response=before_reading)  # the counts as they were when the catch-up asked: 1 and 1
    page.wait_for_timeout(500)
    expect(page).to_have_title("Neha Joshi · Acme Support")


def test_a_list_and_chat_fetched_before_a_push_do_not_undo_it(start_server: StartServer, pages: Pages) -> None:
    """The catch-up on the first connection fetches the list and the open chat again; a message pushed
    while those answers are out (they were read before it) stays in its row and its chat once they land."""
    server, page = ravi_open_and_neha_new_before_connecting(start_server, pages)
    held: list[Any] = []
    for path in ("**/ui/conversations?*", f"**/c/{RAVI}/messages"):
        page.route(path, lambda route: held.append((route, route.fetch())))  # answered, held back
    page.evaluate("window.connectNow()")
    wait_connected(page)
    for _ in range(200):  # Playwright answers routes while the page waits
        if len(held) == 2:
            break
        page.wait_for_timeout(50)
    assert len(held) == 2
    post(server, inbound(text("Ravi again", timestamp=now(2))))
    expect(row(page, RAVI).locator(".row-text")).to_have_text("Ravi again")
    expect(page.locator("#message-list .msg .text").last).to_have_text("Ravi again")
    for route, answer in held:  # the list and the chat as they were before "Ravi again"
        route.fulfill(response=answer)
    page.wait_for_timeout(500)
    expect(row(page, RAVI).locator(".row-text")).to_have_text("Ravi again")
    expect(page.locator("#conversation-list [data-wa-id]").first).to_have_attribute("data-wa-id", RAVI)
    expect(page.locator("#message-list .msg .text")).to_have_text(["Ravi here", "Ravi again"])


def test_demo_inbox_feels_alive(start_server: StartServer, pages: Pages, make_app: Callable[..., Flask]) -> None:
    """The demo inbox with simulated delivery: a reply goes sent → delivered → read by itself, and
    `flask simulate` plays customers writing in (signed, since the app secret is set)."""
    secret = "simulation-secret"
    server = start_server(SIMULATE_DELIVERY=True, SIMULATE_DELIVERED_AFTER=0.5, SIMULATE_READ_AFTER=1.2,
                          WHATSAPP_APP_SECRET=secret)
    app = make_app(WHATSAPP_APP_SECRET=secret)
    with app.app_context():
        for body in demo_bodies():
            receive_webhook(body, signature=SignatureVerdict.NOT_CHECKED, source="demo")

    page = pages.open(f"{server.url}/")
    expect(page.locator("#conversation-list [data-wa-id]")).to_have_count(6)
    screenshot(page, "inbox-desktop-list.png")
    row(page, RAVI).get_by_role("link").click()
    expect(page.locator("#message-list .msg").first).to_be_visible()
    page.evaluate("""() => {  // note every tick the newest outbound bubble shows, in order
        window.ticks = [];
        new MutationObserver(() => {
            const mine = [...document.querySelectorAll('#message-list .msg--outbound[data-message-id]')].pop();
            const label = mine?.querySelector('[data-tick] [aria-label]')?.getAttribute('aria-label');
            if (mine?.textContent.includes('ships today') && label && window.ticks.at(-1) !== label) {
                window.ticks.push(label);
            }
        }).observe(document.querySelector('#message-list'), {subtree: true, childList: true, attributes: true});
    }""")
    composer(page).fill("Your order ships today 📦")
    composer(page).press("Enter")
    mine = page.locator("#message-list .msg--outbound[data-message-id]").last
    expect(mine.locator(".text")).to_have_text("Your order ships today 📦")
    expect(tick(mine)).to_have_attribute("aria-label", "Read", timeout=10000)
    assert page.evaluate("window.ticks") == ["Sent", "Delivered", "Read"]
    page.mouse.move(900, 780)  # not hovering over a row
    screenshot(page, "inbox-desktop.png", docs="inbox-desktop.png")

    phone = pages.open(f"{server.url}/c/{RAVI}", viewport=PHONE)
    expect(phone.locator("#message-list .msg").first).to_be_visible()
    screenshot(phone, "inbox-phone.png", docs="inbox-phone.png")

    result = app.test_cli_runner().invoke(args=["simulate", "--url", server.url, "--rate", "20", "--count", "3",
                                                "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert result.output.count("-> 200") == 3
    simulated = [m for c in api(server, "/conversations") for m in api(server, f"/messages/{c['wa_id']}")
                 if m["id"].startswith("wamid.SIMULATED.")]
    assert len(simulated) == 3
    for item in simulated:  # each pushed into the open page
        expect(page.locator(f'#conversation-list [data-wa-id="{item["wa_id"]}"] .row-text')).to_be_visible()


def test_unsigned_simulation_is_refused_when_the_app_checks_signatures(
    start_server: StartServer, make_app: Callable[..., Flask]
) -> None:
    server = start_server(WHATSAPP_APP_SECRET="the-real-secret")
    result = make_app(WHATSAPP_APP_SECRET="").test_cli_runner().invoke(
        args=["simulate", "--url", server.url, "--rate", "50", "--count", "2"])
    assert result.exit_code != 0
    assert "401" in result.output and "2 of 2 message(s) were refused" in result.output
    assert api(server, "/conversations") == []


def test_meta_bodies_with_several_messages_render_in_order(start_server: StartServer, pages: Pages) -> None:
    server = start_server()
    page = pages.open(f"{server.url}/")
    ids = [wamid(), wamid()]
    post(server, meta_body(value(messages=[text("second", id=ids[1], timestamp=now(5)),
                                           text("first", id=ids[0], timestamp=now())],
                                 contacts=[(RAVI, "Ravi Kumar")])))
    row(page, RAVI).get_by_role("link").click()
    expect(page.locator("#message-list [data-message-id]")).to_have_count(2)
    assert bubble_ids(page) == ids
    older = wamid()  # arrives late but belongs between them
    post(server, inbound(text("in between", id=older, timestamp=now(2))))
    expect(bubble(page, older)).to_be_visible()
    assert bubble_ids(page) == [ids[0], older, ids[1]]


def test_sending_needs_the_pages_own_request(client: FlaskClient) -> None:
    """A form posted from another site carries no HX-Request header: it cannot send as the business."""
    assert client.post("/webhook", json=inbound(text("Hi", timestamp=now()))).status_code == 200
    forged = client.post(f"/c/{RAVI}/messages", data={"body": "Click this link"})
    assert forged.status_code == 400 and "Send messages from the inbox page." in forged.text
    assert [m["direction"] for m in client.get(f"/api/messages/{RAVI}").get_json()["data"]] == ["inbound"]

    sent = client.post(f"/c/{RAVI}/messages", data={"body": "Hello"}, headers={"HX-Request": "true"})
    assert sent.status_code == 200 and 'aria-label="Sent"' in sent.text
    refused = client.post(f"/c/{RAVI}/messages", data={"body": " "}, headers={"HX-Request": "true"})
    assert refused.status_code == 422 and refused.headers["HX-Retarget"] == "#composer-error"
    assert "The message must not be empty." in refused.text


def test_reacting_from_the_page_checks_the_request_and_the_chat(client: FlaskClient) -> None:
    assert client.post("/webhook", json=inbound(text("Hi", id="wamid.HI", timestamp=now()))).status_code == 200
    neha = inbound(text("Hey", id="wamid.HEY", sender=NEHA, timestamp=now()), name="Neha Joshi", wa_id=NEHA)
    assert client.post("/webhook", json=neha).status_code == 200
    hx = {"HX-Request": "true"}
    forged = client.post(f"/c/{RAVI}/messages/wamid.HI/reaction", data={"emoji": "👍"})
    assert forged.status_code == 400 and "React to messages from the inbox page." in forged.text
    elsewhere = client.post(f"/c/{RAVI}/messages/wamid.HEY/reaction", data={"emoji": "👍"}, headers=hx)
    assert elsewhere.status_code == 422 and "No message wamid.HEY in this chat." in elsewhere.text
    too_long = client.post(f"/c/{RAVI}/messages/wamid.HI/reaction", data={"emoji": "x" * 40}, headers=hx)
    assert too_long.status_code == 422 and too_long.headers["HX-Retarget"] == "#composer-error"
    assert client.get(f"/api/messages/{RAVI}").get_json()["data"][0].get("reactions") in (None, [])

    reacted = client.post(f"/c/{RAVI}/messages/wamid.HI/reaction", data={"emoji": "🙏"}, headers=hx)
    assert reacted.status_code == 200 and 'aria-label="Reactions: 🙏"' in reacted.text
    assert [r["emoji"] for r in client.get(f"/api/messages/{RAVI}").get_json()["data"][0]["reactions"]] == ["🙏"]
    taken_back = client.post(f"/c/{RAVI}/messages/wamid.HI/reaction", data={"emoji": ""}, headers=hx)
    assert taken_back.status_code == 200 and "hidden" in taken_back.text


def test_a_reply_from_the_composer_quotes_the_message(client: FlaskClient) -> None:
    asked = inbound(text("Where is it?", id="wamid.WHERE", timestamp=now()))
    assert client.post("/webhook", json=asked).status_code == 200
    sent = client.post(f"/c/{RAVI}/messages", data={"body": "On its way", "reply_to": "wamid.WHERE"},
                       headers={"HX-Request": "true"})
    assert sent.status_code == 200 and "Where is it?" in sent.text and 'class="quote' in sent.text
    reply = client.get(f"/api/messages/{RAVI}").get_json()["data"][-1]
    assert reply["context"]["id"] == "wamid.WHERE"
    missing = client.post(f"/c/{RAVI}/messages", data={"body": "Hm", "reply_to": "wamid.NOPE"},
                          headers={"HX-Request": "true"})
    assert missing.status_code == 422 and missing.headers["HX-Retarget"] == "#composer-error"
