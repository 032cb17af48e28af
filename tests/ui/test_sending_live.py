"""Sending to WhatsApp from the page, in a real browser: the app points at the local Graph API, which
answers like Meta and posts its status webhooks back. What the agent sees at each step."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import expect

from tests.helpers.app import LiveServer
from tests.helpers.browser import Pages, bubble, composer, post, screenshot, tick
from tests.helpers.graph_api import PHONE_NUMBER_ID, TOKEN, GraphAPI
from tests.helpers.media import png
from tests.helpers.payloads import NEHA, RAVI, inbound, now, text
from tests.helpers.wait import eventually

StartServer = Callable[..., LiveServer]


def live_server(start_server: StartServer, graph_api: GraphAPI) -> LiveServer:
    server = start_server(WHATSAPP_ACCESS_TOKEN=TOKEN, WHATSAPP_API_BASE_URL=graph_api.url,
                          PHONE_NUMBER_ID=PHONE_NUMBER_ID)
    graph_api.webhook_url = f"{server.url}/webhook"
    return server


def test_a_reply_goes_to_whatsapp_and_its_ticks_follow_meta(start_server: StartServer, graph_api: GraphAPI,
                                                            pages: Pages) -> None:
    server = live_server(start_server, graph_api)
    graph_api.auto_statuses(sent=True, delivered_after=0.3, read_after=0.8)
    post(server, inbound(text("Is the blue one in stock?", timestamp=now())))
    page = pages.open(f"{server.url}/c/{RAVI}")
    expect(page.locator(".whatsapp-banner")).to_be_hidden()  # live, and the token works
    expect(page.locator(".chat-header .window")).to_contain_text("left to reply")

    composer(page).fill("Yes, it is!")
    composer(page).press("Enter")
    sent = page.locator("#message-list .msg--outbound[data-message-id]").last
    expect(sent.locator(".text")).to_have_text("Yes, it is!")
    expect(tick(sent)).to_have_attribute("aria-label", "Read", timeout=8000)
    assert graph_api.sent_messages()[0].body["text"]["body"] == "Yes, it is!"
    screenshot(page, "sending-live-read.png")


def test_a_failed_reply_shows_why_and_retry_sends_it(start_server: StartServer, graph_api: GraphAPI,
                                                     pages: Pages) -> None:
    server = live_server(start_server, graph_api)
    post(server, inbound(text("Hello?", timestamp=now())))
    graph_api.fail_next("send", 400, 131026)
    page = pages.open(f"{server.url}/c/{RAVI}")
    composer(page).fill("We shipped it today")
    composer(page).press("Enter")
    message_id = page.locator("#message-list .msg--outbound[data-message-id]").last.get_attribute("data-message-id")
    shown = bubble(page, message_id)
    expect(tick(shown)).to_have_attribute("aria-label", "Failed", timeout=8000)
    shown.locator(".tick-mark").hover()
    expect(shown.locator(".tick-error")).to_contain_text("could not deliver")

    shown.get_by_role("button", name="Retry").click()
    expect(tick(shown)).to_have_attribute("aria-label", "Sent", timeout=8000)
    assert len(graph_api.sent_messages()) == 1


def test_outside_the_window_the_composer_says_why(start_server: StartServer, graph_api: GraphAPI,
                                                  pages: Pages) -> None:
    server = live_server(start_server, graph_api)
    post(server, inbound(text("Thanks!", sender=NEHA, timestamp=int(time.time()) - 26 * 3600),
                         name="Neha Joshi", wa_id=NEHA))
    page = pages.open(f"{server.url}/c/{NEHA}")
    closed = page.locator("#composer")
    expect(closed).to_contain_text("24-hour customer-service window is closed")
    expect(page.get_by_role("textbox", name="Type a message")).to_have_count(0)


def test_demo_mode_says_replies_are_not_sent(start_server: StartServer, pages: Pages) -> None:
    server = start_server()
    page = pages.open(f"{server.url}/")
    expect(page.locator(".whatsapp-banner")).to_have_text("Demo mode: replies are not sent to WhatsApp.")


def test_a_refused_token_puts_up_a_banner_on_every_open_page(start_server: StartServer, graph_api: GraphAPI,
                                                             pages: Pages) -> None:
    server = live_server(start_server, graph_api)
    post(server, inbound(text("Hi", timestamp=now())))
    watcher = pages.open(f"{server.url}/")
    page = pages.open(f"{server.url}/c/{RAVI}")
    graph_api.revoke_token()
    composer(page).fill("Hello")
    composer(page).press("Enter")
    for open_page in (page, watcher):
        expect(open_page.locator(".whatsapp-banner--alert")).to_contain_text("access token", timeout=8000)


def test_a_photo_sent_from_the_composer_shows_at_once_and_is_delivered(start_server: StartServer,
                                                                       graph_api: GraphAPI, pages: Pages,
                                                                       tmp_path: Path) -> None:
    server = start_server(WHATSAPP_ACCESS_TOKEN=TOKEN, WHATSAPP_API_BASE_URL=graph_api.url,
                          PHONE_NUMBER_ID=PHONE_NUMBER_ID, MEDIA_ROOT=str(tmp_path / "media"))
    graph_api.webhook_url = f"{server.url}/webhook"
    graph_api.auto_statuses(sent=True, delivered_after=0.3)
    post(server, inbound(text("Can I see the blue one?", timestamp=now())))
    page = pages.open(f"{server.url}/c/{RAVI}")
    photo = png(120, 90)

    composer(page).fill("Here it is")
    page.set_input_files("#composer-file", files=[{"name": "blue.png", "mimeType": "image/png", "buffer": photo}])
    sent = page.locator("#message-list .msg--outbound[data-message-id]").last
    thumbnail = sent.locator(".media-thumb img")
    expect(thumbnail).to_be_visible()
    expect(sent.locator(".caption")).to_have_text("Here it is")
    assert thumbnail.evaluate("img => img.complete && img.naturalWidth") == 120  # this app's copy, at once
    expect(composer(page)).to_have_value("")
    expect(tick(sent)).to_have_attribute("aria-label", "Delivered", timeout=8000)

    (uploaded,) = graph_api.uploaded_media()
    assert uploaded.data == photo
    (message,) = graph_api.sent_messages()
    assert message.body["image"] == {"id": uploaded.id, "caption": "Here it is"}
    screenshot(page, "sending-photo-delivered.png")


def test_a_file_whatsapp_would_refuse_is_not_sent_and_the_composer_says_why(start_server: StartServer,
                                                                           graph_api: GraphAPI, pages: Pages,
                                                                           tmp_path: Path) -> None:
    server = start_server(WHATSAPP_ACCESS_TOKEN=TOKEN, WHATSAPP_API_BASE_URL=graph_api.url,
                          PHONE_NUMBER_ID=PHONE_NUMBER_ID, MEDIA_ROOT=str(tmp_path / "media"))
    post(server, inbound(text("Can I see the blue one?", timestamp=now())))
    page = pages.open(f"{server.url}/c/{RAVI}")
    composer(page).fill("Keep this text")
    page.set_input_files("#composer-file", files=[{"name": "fake.png", "mimeType": "image/png",
                                                   "buffer": b"not really a picture"}])
    expect(page.locator("#composer-error")).to_contain_text("is not a image/png image")
    expect(composer(page)).to_have_value("Keep this text")
    expect(page.locator("#message-list .msg--outbound")).to_have_count(0)
    assert graph_api.requests_to("upload") == []


def test_an_agent_replies_to_a_message_and_reacts_to_one_from_the_page(start_server: StartServer, graph_api: GraphAPI,
                                                                      pages: Pages) -> None:
    server = live_server(start_server, graph_api)
    graph_api.auto_statuses(sent=True)
    post(server, inbound(text("Do you ship to Pune?", id="wamid.ASK", timestamp=now()),
                         text("And how long does it take?", id="wamid.ASK2", timestamp=now())))
    page = pages.open(f"{server.url}/c/{RAVI}")
    asked = bubble(page, "wamid.ASK")

    asked.hover()
    asked.get_by_role("button", name="Reply").click()
    quote = page.locator("#composer-quote")
    expect(quote).to_be_visible()
    expect(quote).to_contain_text("Ravi Kumar")
    expect(quote).to_contain_text("Do you ship to Pune?")
    expect(composer(page)).to_be_focused()
    composer(page).fill("Yes, in two days")
    composer(page).press("Enter")
    reply = page.locator("#message-list .msg--outbound[data-message-id]").last
    expect(reply.locator(".quote")).to_contain_text("Do you ship to Pune?")
    expect(tick(reply)).to_have_attribute("aria-label", "Sent", timeout=8000)
    expect(quote).to_be_hidden()  # sent: the next message quotes nothing
    sent = graph_api.sent_messages()[0].body
    assert sent["context"] == {"message_id": "wamid.ASK"} and sent["text"]["body"] == "Yes, in two days"

    # A quote started and dropped with Escape sends nothing quoted.
    second = bubble(page, "wamid.ASK2")
    second.hover()
    second.get_by_role("button", name="Reply").click()
    expect(quote).to_contain_text("And how long does it take?")
    composer(page).press("Escape")
    expect(quote).to_be_hidden()
    expect(page.locator(".chat")).to_be_visible()  # Escape dropped the quote, not the chat

    second.hover()
    second.get_by_role("button", name="React").click()
    picker = page.get_by_role("menu", name="React")
    expect(picker).to_be_visible()
    screenshot(page, "reply-and-react.png")
    picker.get_by_role("menuitem", name="React with 👍").click()
    expect(picker).to_be_hidden()
    expect(second.locator("[data-reactions]")).to_have_attribute("aria-label", "Reactions: 👍")
    reaction = eventually(lambda: [m.body for m in graph_api.sent_messages() if m.body["type"] == "reaction"])[0]
    assert reaction["reaction"] == {"message_id": "wamid.ASK2", "emoji": "👍"}

    second.hover()
    second.get_by_role("button", name="React").click()
    picker.get_by_role("menuitem", name="Remove your reaction").click()
    expect(second.locator("[data-reactions]")).to_be_hidden()
    removed = eventually(lambda: [m.body for m in graph_api.sent_messages() if m.body["type"] == "reaction"][1:])[0]
    assert removed["reaction"] == {"message_id": "wamid.ASK2", "emoji": ""}
    assert len(graph_api.sent_messages()) == 3
