"""The inbox for keyboard and screen-reader users (WCAG 2.2 AA): axe-core finds nothing serious on
the inbox and sign-in pages, colours reach AA contrast, the chat list moves with the arrow keys,
Escape closes a chat, a skip link leads to the chat, signing out asks first, and the message pane
announces a new message but not a page of history."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import expect

from tests.helpers.app import LiveServer
from tests.helpers.browser import PHONE, Pages, assert_accessible, bubble, composer, post, row, tick
from tests.helpers.payloads import NEHA, RAVI, inbound, message, now, outbound, status, statuses, text, wamid

StartServer = Callable[..., LiveServer]

# The contrast of an element's text colour on its background, the translucent layers under it blended in.
CONTRAST = """(el) => {
  const parse = (c) => { const v = c.match(/[\\d.]+/g).map(Number); return [v[0], v[1], v[2], v[3] ?? 1]; };
  const lum = ([r, g, b]) => {
    const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const layers = [];
  for (let e = el; e; e = e.parentElement) {
    const c = parse(getComputedStyle(e).backgroundColor);
    if (c[3] > 0) layers.push(c);
    if (c[3] === 1) break;
  }
  let bg = [255, 255, 255];
  for (const [r, g, b, a] of layers.reverse()) {
    bg = [r * a + bg[0] * (1 - a), g * a + bg[1] * (1 - a), b * a + bg[2] * (1 - a)];
  }
  const a = lum(parse(getComputedStyle(el).color)); const b = lum(bg);
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


def test_axe_finds_nothing_serious_on_the_inbox_and_sign_in(start_server: StartServer, pages: Pages) -> None:
    server = start_server()
    quoted = wamid()
    post(server, inbound(text("Hello, *is* this https://example.com in stock?", id=quoted, timestamp=now(-60)),
                         message("location", {"latitude": 18.5, "longitude": 73.8, "name": "Shop"},
                                 timestamp=now(-50)),
                         text("Replying to that", timestamp=now(-40), context={"id": quoted})))
    post(server, inbound(text("Neha here", sender=NEHA, timestamp=now(-30)), name="Neha Joshi", wa_id=NEHA))
    page = pages.open(f"{server.url}/")
    assert_accessible(page)  # the list, nothing open

    row(page, RAVI).get_by_role("link").click()
    expect(page.locator("#message-list .msg")).to_have_count(3)
    composer(page).fill("On its way")
    composer(page).press("Enter")
    expect(page.locator("#message-list .msg--outbound[data-message-id]")).to_have_count(1)
    expect(page.locator("#message-list .msg[data-pending]")).to_have_count(0)  # the push may come before the answer
    assert_accessible(page)  # an open chat with bubbles, a quote, a card, ticks and the composer

    login = pages.open(f"{server.url}/login", signed_in=False)
    assert_accessible(login)
    login.get_by_label("Email").fill("nobody@example.test")
    login.get_by_label("Password").fill("wrong password")
    login.get_by_role("button", name="Sign in").click()
    expect(login.get_by_role("alert")).to_be_visible()
    assert_accessible(login)  # with its error


def test_ticks_badges_times_and_quotes_reach_aa_contrast(start_server: StartServer, pages: Pages) -> None:
    server = start_server()
    quoted, reply = wamid(), wamid()
    post(server, inbound(text("First", id=quoted, timestamp=now(-60)),
                         text("Quoting", timestamp=now(-50), context={"id": quoted})))
    post(server, inbound(outbound("Our answer", id=reply, timestamp=now(-40))))
    post(server, inbound(text("Unread one", sender=NEHA, timestamp=now(-30)), name="Neha Joshi", wa_id=NEHA))
    post(server, statuses(status(reply, "read", timestamp=now(-35))))
    page = pages.open(f"{server.url}/c/{RAVI}")
    sent = bubble(page, reply)
    expect(tick(sent)).to_have_attribute("aria-label", "Read")

    def ratio(selector: str) -> float:
        return page.locator(selector).first.evaluate(CONTRAST)

    assert ratio(f'[data-wa-id="{NEHA}"] .badge') >= 4.5  # the unread count
    assert ratio(f'[data-wa-id="{NEHA}"] .row-top time') >= 4.5  # an unread chat's time
    assert ratio(f'[data-message-id="{reply}"] .meta time') >= 4.5  # a bubble's time
    assert ratio(".quote-author") >= 4.5
    assert ratio(f'[data-message-id="{reply}"] .tick') >= 3  # a graphic: 3:1 (WCAG 1.4.11)


def test_delivered_and_read_differ_by_more_than_colour(start_server: StartServer, pages: Pages) -> None:
    server = start_server()
    delivered, read = wamid(), wamid()
    post(server, inbound(outbound("One", id=delivered, timestamp=now(-20)),
                         outbound("Two", id=read, timestamp=now(-10))))
    post(server, statuses(status(delivered, "delivered", timestamp=now(-5)), status(read, "read", timestamp=now(-4))))
    page = pages.open(f"{server.url}/c/{RAVI}")
    expect(tick(bubble(page, delivered))).to_have_accessible_name("Delivered")
    expect(tick(bubble(page, read))).to_have_accessible_name("Read")

    def shape(wa_message: str) -> str:
        return bubble(page, wa_message).locator("[data-tick] path").first.evaluate(
            "p => getComputedStyle(p).strokeWidth")
    assert shape(delivered) != shape(read)  # seen without telling blue from grey


def test_arrow_keys_move_in_the_list_and_escape_closes_the_chat(start_server: StartServer, pages: Pages) -> None:
    server = start_server()
    post(server, inbound(text("Ravi", timestamp=now(-20))))
    post(server, inbound(text("Neha", sender=NEHA, timestamp=now(-10)), name="Neha Joshi", wa_id=NEHA))
    page = pages.open(f"{server.url}/")
    neha, ravi = row(page, NEHA).get_by_role("link"), row(page, RAVI).get_by_role("link")
    neha.focus()
    page.keyboard.press("ArrowDown")
    expect(ravi).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(neha).to_be_focused()
    page.keyboard.press("End")
    expect(ravi).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{server.url}/c/{RAVI}")
    expect(composer(page)).to_be_focused()

    page.keyboard.press("Escape")
    expect(page.locator("#chat .empty")).to_be_visible()
    expect(page).to_have_url(f"{server.url}/")
    expect(ravi).to_be_focused()  # back where the agent was in the list


def test_skip_link_leads_to_the_chat(start_server: StartServer, pages: Pages) -> None:
    server = start_server()
    post(server, inbound(text("Hello", timestamp=now())))
    page = pages.open(f"{server.url}/c/{RAVI}", viewport=PHONE)  # nothing focused on load at phone width
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to the chat")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("#chat")).to_be_focused()
    page.keyboard.press("Tab")  # the next stop is inside the chat, not the list
    assert page.evaluate("document.activeElement.closest('#chat') !== null")


def test_signing_out_asks_first(start_server: StartServer, pages: Pages) -> None:
    server = start_server()
    page = pages.open(f"{server.url}/")
    page.get_by_role("button", name="Sign out").click()
    dialog = page.get_by_role("dialog", name="Sign out of the inbox?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(page).to_have_url(f"{server.url}/")

    page.get_by_role("button", name="Sign out").click()
    dialog.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{server.url}/login?signed_out=1")


def test_the_pane_announces_a_new_message_but_not_a_page_of_history(start_server: StartServer, pages: Pages) -> None:
    server = start_server()
    post(server, inbound(*(text(f"old {i}", timestamp=now(-7000 + 60 * i)) for i in range(60))))
    page = pages.open(f"{server.url}/c/{RAVI}")
    messages = page.locator(".messages")
    # the pane itself is not a live region: loading history into it says nothing
    assert messages.get_attribute("aria-live") in (None, "off")
    assert messages.get_attribute("role") != "log"
    assert page.locator("#message-list").evaluate(
        "e => !e.closest('[aria-live]:not([aria-live=off]), [role=log], [role=status], [role=alert]')")
    announcer = page.locator("#announcer")
    expect(announcer).to_have_text("")
    messages.evaluate("s => { s.scrollTop = -s.scrollHeight; }")
    expect(page.locator("#message-list [data-message-id]")).to_have_count(60)
    expect(announcer).to_have_text("")

    post(server, inbound(text("Is it ready?", timestamp=now())))
    expect(announcer).to_have_text("New message from Ravi Kumar: Is it ready?")
    assert announcer.get_attribute("role") == "status"
