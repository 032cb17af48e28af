"""Working together, in real browsers: two signed-in agents (each in its own browser context) on the
same live server see each other's changes as they happen: filters and their counts, assignment,
resolve and reopen, internal notes, canned replies, presence, drafts and the contact panel."""

from __future__ import annotations

import re
from collections.abc import Callable

import requests
from flask import Flask
from playwright.sync_api import Page, expect

from tests.helpers.app import LiveServer
from tests.helpers.auth import Credentials, agent_credentials
from tests.helpers.browser import Pages, api, assert_accessible, composer, post, row, screenshot
from tests.helpers.graph_api import PHONE_NUMBER_ID, TOKEN, GraphAPI
from tests.helpers.payloads import NEHA, RAVI, inbound, now, text

StartServer = Callable[..., LiveServer]
MARIA = "maria@example.test"


def two_chats(server: LiveServer) -> None:
    post(server, inbound(text("Is the blue chair in stock?", timestamp=now())))
    post(server, inbound(text("Where is my order?", timestamp=now(5), sender=NEHA), name="Neha Shah", wa_id=NEHA))


def maria(make_app: Callable[..., Flask]) -> Credentials:
    """A second, plain agent in the live server's database (same secret key): Maria Lopez."""
    return agent_credentials(make_app(), MARIA, "Maria Lopez", role="agent")


def count(page: Page, name: str) -> object:
    return page.locator(f'#list-filters [data-count="{name}"]')


def filter_button(page: Page, name: str) -> object:
    return page.get_by_role("button", name=re.compile(f"^{name}"))


def test_filters_and_assignment_reach_the_other_agent_live(start_server: StartServer, pages: Pages,
                                                           make_app: Callable[..., Flask]) -> None:
    server = start_server()
    two_chats(server)
    second = maria(make_app)  # an agent before the page lists whom to assign to
    me = pages.open(f"{server.url}/c/{RAVI}")
    other = pages.open(f"{server.url}/", as_agent=second)
    for page in (me, other):
        expect(count(page, "all")).to_have_text("2")
        expect(count(page, "unassigned")).to_have_text("2")
        expect(count(page, "mine")).to_have_text("0")
    expect(filter_button(other, "All")).to_have_attribute("aria-pressed", "true")

    # I assign Ravi's chat to Maria: her Mine counts it at once, and her Mine list shows it
    me.get_by_label("Assigned to").select_option(label="Maria Lopez")
    expect(count(other, "mine")).to_have_text("1")
    expect(count(other, "unassigned")).to_have_text("1")
    expect(count(me, "mine")).to_have_text("0")
    filter_button(other, "Mine").click()
    expect(filter_button(other, "Mine")).to_have_attribute("aria-pressed", "true")
    expect(other.locator("#conversation-list [data-wa-id]")).to_have_count(1)
    expect(row(other, RAVI)).to_be_visible()

    # I resolve it: it leaves her Mine list live, and Resolved counts it on both pages
    me.locator("#chat-state").get_by_role("button", name="Resolve").click()
    expect(me.locator("#chat-state [data-state-label]")).to_have_text("Resolved")
    expect(row(other, RAVI)).to_have_count(0)
    for page in (me, other):
        expect(count(page, "resolved")).to_have_text("1")
    expect(count(other, "mine")).to_have_text("0")
    expect(row(me, RAVI).locator(".row-state")).to_have_text("Resolved")

    # she finds it under Resolved and reopens it: my open chat's header follows
    filter_button(other, "Resolved").click()
    expect(other.locator("#conversation-list [data-wa-id]")).to_have_count(1)
    row(other, RAVI).get_by_role("link").click()
    expect(other.locator("#chat-state [data-state-label]")).to_have_text("Resolved")
    expect(other.get_by_label("Assigned to")).to_have_value(MARIA)
    other.locator("#chat-state").get_by_role("button", name="Reopen").click()
    expect(me.locator("#chat-state [data-state-label]")).to_have_text("Open")
    expect(me.locator("#chat-state").get_by_role("button", name="Resolve")).to_be_visible()
    expect(row(other, RAVI)).to_have_count(0)  # her list still shows Resolved only
    expect(count(me, "resolved")).to_have_text("0")

    # resolved again, then the customer writes: open again everywhere, still Maria's
    me.locator("#chat-state").get_by_role("button", name="Resolve").click()
    expect(other.locator("#chat-state [data-state-label]")).to_have_text("Resolved")
    post(server, inbound(text("One more thing", timestamp=now(20))))
    for page in (me, other):
        expect(page.locator("#chat-state [data-state-label]")).to_have_text("Open")
    expect(count(other, "mine")).to_have_text("1")
    assert api(server, "/conversations?filter=all")[0]["assignee"] == MARIA
    screenshot(me, "team-filters.png")


def test_internal_notes_show_to_agents_and_never_reach_whatsapp(start_server: StartServer, graph_api: GraphAPI,
                                                                pages: Pages, make_app: Callable[..., Flask]) -> None:
    server = start_server(WHATSAPP_ACCESS_TOKEN=TOKEN, WHATSAPP_API_BASE_URL=graph_api.url,
                          PHONE_NUMBER_ID=PHONE_NUMBER_ID)
    graph_api.webhook_url = f"{server.url}/webhook"
    post(server, inbound(text("Can I pay on delivery?", timestamp=now())))
    me = pages.open(f"{server.url}/c/{RAVI}")
    other = pages.open(f"{server.url}/c/{RAVI}", as_agent=maria(make_app))

    me.get_by_role("button", name="Internal note").click()
    me.get_by_placeholder("Write an internal note").fill("VIP customer: offer free shipping")
    me.get_by_role("button", name="Add note").click()
    for page in (me, other):
        note = page.locator("#message-list .msg--note")
        expect(note.locator(".text")).to_have_text("VIP customer: offer free shipping")
        expect(note.locator(".note-label")).to_contain_text("Internal note")
        expect(note.locator(".note-author")).to_have_text("Test Agent")
    expect(me.locator("#note-form")).to_be_hidden()
    # set apart from the messages: its own colours
    background = me.locator(".msg--note .bubble").evaluate("e => getComputedStyle(e).backgroundColor")
    inbound_background = me.locator(".msg--inbound .bubble").first.evaluate(
        "e => getComputedStyle(e).backgroundColor")
    assert background != inbound_background

    # a real reply goes to WhatsApp; the note never did
    composer(me).fill("Yes, you can")
    composer(me).press("Enter")
    graph_api.wait_for(1)
    assert [m.body["text"]["body"] for m in graph_api.sent_messages()] == ["Yes, you can"]
    assert all("VIP" not in str(r.json) + str(r.form) for r in graph_api.requests)  # no request of any kind
    assert [m["text"]["body"] for m in api(server, f"/messages/{RAVI}") if m["type"] == "text"] == [
        "Can I pay on delivery?", "Yes, you can"]
    # still there after a reload, in its place in the timeline
    other.reload()
    expect(other.locator("#message-list .msg--note .text")).to_have_text("VIP customer: offer free shipping")
    kinds = other.locator("#message-list .msg").evaluate_all("els => els.map(e => e.dataset.direction)")
    assert kinds == ["inbound", "note", "outbound"]
    # an empty note is refused, nothing stored
    other.get_by_role("button", name="Internal note").click()
    other.get_by_role("button", name="Add note").click()
    expect(other.locator("#note-error")).to_contain_text("must not be empty")
    expect(other.locator("#message-list .msg--note")).to_have_count(1)


def test_canned_replies_admins_manage_agents_insert_with_a_slash(start_server: StartServer, pages: Pages,
                                                                 make_app: Callable[..., Flask]) -> None:
    server = start_server()
    post(server, inbound(text("Thanks for the help!", timestamp=now())))
    admin = pages.open(f"{server.url}/settings/canned", live=False)  # the test agent is the first: an admin
    expect(admin.get_by_role("navigation", name="Pages").get_by_role("link", name="Canned replies")).to_have_attribute(
        "aria-current", "page")
    admin.get_by_label("Shortcut").fill("thanks")
    admin.get_by_label("Text").fill("You're welcome! Anything else we can do?")
    admin.get_by_role("button", name="Add canned reply").click()
    expect(admin.get_by_role("status")).to_have_text("Saved /thanks.")
    admin.get_by_label("Shortcut").fill("hours")
    admin.get_by_label("Text").fill("We are open 9 to 6, Monday to Saturday.")
    admin.get_by_role("button", name="Add canned reply").click()
    expect(admin.locator(".canned-item")).to_have_count(2)
    admin.get_by_label("Shortcut").fill("hours")
    admin.get_by_label("Text").fill("Again")
    admin.get_by_role("button", name="Add canned reply").click()
    expect(admin.get_by_role("alert")).to_contain_text("The shortcut is taken.")
    assert_accessible(admin)

    agent = pages.open(f"{server.url}/c/{RAVI}", as_agent=maria(make_app))
    response = requests.get(f"{server.url}/settings/canned", timeout=10,
                            cookies={agent.context.cookies()[0]["name"]: agent.context.cookies()[0]["value"]})
    assert response.status_code == 403 and "Only admins" in response.text
    composer(agent).press_sequentially("/")
    menu = agent.get_by_role("listbox", name="Canned replies")
    expect(menu.get_by_role("option")).to_have_count(2)
    composer(agent).press_sequentially("th")
    expect(menu.get_by_role("option")).to_have_count(1)
    expect(menu.get_by_role("option")).to_contain_text("/thanks")
    composer(agent).press("Enter")  # inserts, does not send
    expect(composer(agent)).to_have_value("You're welcome! Anything else we can do?")
    expect(menu).to_have_count(0)
    expect(agent.locator("#message-list .msg--outbound")).to_have_count(0)
    composer(agent).press("Enter")  # now it sends
    expect(agent.locator("#message-list .msg--outbound[data-message-id] .text")).to_have_text(
        "You're welcome! Anything else we can do?")
    # a click inserts too
    composer(agent).press_sequentially("/h")
    menu.get_by_role("option", name=re.compile("hours")).click()
    expect(composer(agent)).to_have_value("We are open 9 to 6, Monday to Saturday.")

    admin.get_by_role("button", name="Delete /hours").click()
    expect(admin.locator(".canned-item")).to_have_count(1)


def test_presence_shows_who_else_is_here_and_typing(start_server: StartServer, pages: Pages,
                                                     make_app: Callable[..., Flask]) -> None:
    server = start_server()
    two_chats(server)
    me = pages.open(f"{server.url}/c/{RAVI}")
    expect(me.locator("#presence")).to_have_text("")
    other = pages.open(f"{server.url}/c/{RAVI}", as_agent=maria(make_app))
    expect(me.locator("#presence")).to_have_text("Also here: Maria Lopez")
    expect(other.locator("#presence")).to_have_text("Also here: Test Agent")

    composer(other).press_sequentially("Let me check")
    expect(me.locator("#presence")).to_have_text("Maria Lopez is typing…")
    expect(other.locator("#presence")).to_have_text("Also here: Test Agent")  # not her own typing
    expect(me.locator("#presence")).to_have_text("Also here: Maria Lopez", timeout=8000)  # it expires

    row(other, NEHA).get_by_role("link").click()  # she goes to another chat
    expect(other.locator(".chat-header")).to_contain_text("Neha Shah")
    expect(me.locator("#presence")).to_have_text("")
    other.close()


def test_drafts_stay_per_chat_and_across_browsers(start_server: StartServer, pages: Pages) -> None:
    server = start_server()
    two_chats(server)
    page = pages.open(f"{server.url}/c/{RAVI}")
    composer(page).fill("Half a reply for Ravi")
    row(page, NEHA).get_by_role("link").click()
    expect(page.locator(".chat-header")).to_contain_text("Neha Shah")
    expect(composer(page)).to_have_value("")
    composer(page).fill("Something for Neha")
    row(page, RAVI).get_by_role("link").click()
    expect(composer(page)).to_have_value("Half a reply for Ravi")

    # kept on the server: another browser, signed in as the same agent, finds both
    elsewhere = pages.open(f"{server.url}/c/{NEHA}")
    expect(composer(elsewhere)).to_have_value("Something for Neha")
    elsewhere.goto(f"{server.url}/c/{RAVI}")
    expect(composer(elsewhere)).to_have_value("Half a reply for Ravi")

    # sent: the draft is gone
    composer(page).press("Enter")
    expect(page.locator("#message-list .msg--outbound[data-message-id] .text")).to_have_text("Half a reply for Ravi")
    elsewhere.reload()
    expect(elsewhere.locator("#message-list .msg--outbound")).to_have_count(1)
    expect(composer(elsewhere)).to_have_value("")


def test_the_contact_panel_opens_from_the_chat_header(start_server: StartServer, pages: Pages) -> None:
    server = start_server()
    two_chats(server)
    page = pages.open(f"{server.url}/c/{RAVI}")
    page.get_by_role("button", name="Contact info").click()
    panel = page.get_by_role("region", name="Contact info")
    expect(panel).to_be_visible()
    expect(panel.locator(".contact-name")).to_have_text("Ravi Kumar")
    expect(panel.locator(".contact-number")).to_have_text("+919937320320")
    expect(panel).to_contain_text("Nobody")
    expect(panel).to_contain_text("No media shared yet.")
    page.get_by_role("button", name="Internal note").click()
    assert_accessible(page)  # the header's tools, the filters, the note form and the panel
    screenshot(page, "team-contact-panel.png")
    panel.get_by_role("button", name="Close contact info").click()
    expect(page.locator("#contact-panel")).to_be_hidden()
