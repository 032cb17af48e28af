"""Defects of the inbox page (issue 10, item 6), each as the agent meets it: refused sends, search,
links and formatting, phone width, and the small ones."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from flask.testing import FlaskClient
from playwright.sync_api import Route, expect

from devdb.launcher import DevDB
from tests.helpers.app import LiveServer, settings
from tests.helpers.auth import AgentClient
from tests.helpers.browser import PHONE, Pages, bubble, composer, post, row
from tests.helpers.payloads import NEHA, RAVI, inbound, message, now, text, wamid
from webapp import create_app
from webapp.ui.formatting import rich_text

StartServer = Callable[..., LiveServer]


# --- a send the server refuses -------------------------------------------------------------------------


def test_a_send_refused_while_the_database_is_down_says_so_and_retry_sends_it(
        start_server: StartServer, pages: Pages, tmp_path: Path) -> None:
    with DevDB(tmp_path / "db") as db:
        server = start_server(MONGODB_URI=db.uri + "refused", MONGODB_TIMEOUT_MS=500)
        post(server, inbound(text("Is it in stock?", timestamp=now())))
        page = pages.open(f"{server.url}/c/{RAVI}")
        db.stop()
        composer(page).fill("Yes, two left")
        composer(page).press("Enter")
        error = page.locator("#composer-error")
        expect(error).to_contain_text("Not sent: the inbox is unavailable right now (503). Try again in 5 s.")
        expect(composer(page)).to_have_value("Yes, two left")  # kept, to send again
        expect(page.locator("#message-list .msg--outbound")).to_have_count(0)

        db.start()  # same port, same files
        error.get_by_role("button", name="Retry").click()
        sent = page.locator("#message-list .msg--outbound[data-message-id] .text")
        expect(sent).to_have_text("Yes, two left", timeout=15000)
        expect(error).to_be_hidden()
        expect(composer(page)).to_have_value("")


def test_a_send_refused_with_429_or_500_says_so(start_server: StartServer, pages: Pages) -> None:
    server = start_server()
    post(server, inbound(text("Hello", timestamp=now())))
    page = pages.open(f"{server.url}/c/{RAVI}")
    answers = [(429, {"Retry-After": "30"}, '{"status": "error", "message": "Too many requests", "data": null}'),
               (500, {}, "Internal server error")]

    def refuse(route: Route) -> None:  # a proxy in front of the app, refusing the next sends
        if route.request.method == "POST" and answers:
            status, headers, body = answers.pop(0)
            route.fulfill(status=status, headers=headers, body=body)
        else:
            route.continue_()

    page.route(re.compile(r".*/c/\d+/messages$"), refuse)
    error = page.locator("#composer-error")
    composer(page).fill("First try")
    composer(page).press("Enter")
    expect(error).to_contain_text("Not sent: too many messages at once. Try again in 30 s.")
    expect(composer(page)).to_have_value("First try")
    composer(page).press("Enter")
    expect(error).to_contain_text("Not sent: the server had a problem (500).")
    expect(error.get_by_role("button", name="Retry")).to_be_visible()
    composer(page).press("End")
    composer(page).type("!")  # editing clears the error
    expect(error).to_be_hidden()
    composer(page).press("Enter")
    expect(page.locator("#message-list .msg--outbound[data-message-id] .text")).to_have_text("First try!")


# --- search ---------------------------------------------------------------------------------------------


def test_search_ignores_accents_takes_numbers_as_typed_and_finds_message_text(start_server: StartServer,
                                                                               pages: Pages) -> None:
    server = start_server()
    post(server, inbound(text("Hola, quiero el sofá azul", timestamp=now(-30)), name="María José", wa_id=RAVI))
    post(server, inbound(text("Do you deliver on Sunday?", sender=NEHA, timestamp=now(-20)), name="Neha Joshi",
                         wa_id=NEHA))
    post(server, inbound(text("Price list please", sender="447700900123", timestamp=now(-10)), name="Sam O'Brien",
                         wa_id="447700900123"))
    page = pages.open(f"{server.url}/")
    rows = page.locator("#conversation-list [data-wa-id]")
    expect(rows).to_have_count(3)
    search = page.get_by_role("searchbox", name="Search chats by name or number")

    for typed, expected in [("maria", [RAVI]), ("MARÍA jos", [RAVI]), ("+44 7700 900", ["447700900123"]),
                            ("+91 99373-20320", [RAVI]), ("sofa", [RAVI]), ("deliver on", [NEHA]),
                            ("please", ["447700900123"])]:
        search.fill(typed)
        expect(rows).to_have_count(len(expected))
        expect(rows.first).to_have_attribute("data-wa-id", expected[0])


def test_a_chats_own_search_finds_its_messages(start_server: StartServer, pages: Pages) -> None:
    server = start_server()
    post(server, inbound(text("The blue sofá, please", timestamp=now(-40)), text("And a lamp", timestamp=now(-30)),
                         text("Is the SOFA in stock?", timestamp=now(-20))))
    post(server, inbound(text("sofa too", sender=NEHA, timestamp=now(-10)), name="Neha Joshi", wa_id=NEHA))
    page = pages.open(f"{server.url}/c/{RAVI}")
    box = page.get_by_role("searchbox", name="Search this chat")
    box.fill("sofa")
    results = page.locator("#chat-search-results")
    expect(results.locator(".chat-search-count")).to_have_text("2 messages match “sofa”")
    expect(results.locator(".chat-search-text")).to_have_text(["Is the SOFA in stock?", "The blue sofá, please"])
    box.fill("chair")
    expect(results.locator(".chat-search-count")).to_have_text("No messages match “chair”")


def test_search_over_the_api_and_the_page_route(client: FlaskClient) -> None:
    body = inbound(text("Quiero el sofá", timestamp=now()), name="Zoë Ñúñez")
    assert client.post("/webhook", json=body).status_code == 200
    for q in ("zoe", "ÑUÑ", "+91 9937", "919937", "quiero EL sofa"):
        found = client.get("/api/conversations", query_string={"q": q}).get_json()["data"]
        assert [c["wa_id"] for c in found] == [RAVI], q
    assert client.get("/api/conversations", query_string={"q": "+1 555"}).get_json()["data"] == []
    hits = client.get(f"/c/{RAVI}/search", query_string={"q": "SOFA"})
    assert hits.status_code == 200 and "Quiero el sofá" in hits.text and "1 message matches" in hits.text


# --- links, formatting, long messages --------------------------------------------------------------------


def test_links_numbers_and_emails_are_clickable_and_formatting_renders(start_server: StartServer,
                                                                      pages: Pages) -> None:
    server = start_server()
    long_text = "Here is the whole story. " * 60
    ids = {"links": wamid(), "format": wamid(), "long": wamid(), "unsafe": wamid()}
    post(server, inbound(
        text("See https://example.com/a?b=1&c=2, www.acme.in or mail help@acme.in, call +91 99373 20320",
             id=ids["links"], timestamp=now(-40)),
        text("*Bold* _italic_ ~gone~ ```x = *y*``` snake_case_name", id=ids["format"], timestamp=now(-30)),
        text(long_text, id=ids["long"], timestamp=now(-20)),
        text("javascript:alert(1) <b>not bold</b> data:text/html,hi", id=ids["unsafe"], timestamp=now(-10)),
    ))
    page = pages.open(f"{server.url}/c/{RAVI}")
    links = bubble(page, ids["links"]).locator(".text a")
    expect(links).to_have_count(4)
    assert links.evaluate_all("els => els.map(a => [a.getAttribute('href'), a.rel])") == [
        ["https://example.com/a?b=1&c=2", "noopener noreferrer"],
        ["https://www.acme.in", "noopener noreferrer"],
        ["mailto:help@acme.in", "noopener noreferrer"],
        ["tel:+919937320320", "noopener noreferrer"],
    ]
    assert links.first.get_attribute("target") == "_blank"

    shown = bubble(page, ids["format"]).locator(".text")
    expect(shown.locator("strong")).to_have_text("Bold")
    expect(shown.locator("em")).to_have_text("italic")
    expect(shown.locator("s")).to_have_text("gone")
    expect(shown.locator("code")).to_have_text("x = *y*")
    expect(shown).to_contain_text("snake_case_name")

    unsafe = bubble(page, ids["unsafe"]).locator(".text")
    expect(unsafe.locator("a, b")).to_have_count(0)
    expect(unsafe).to_contain_text("javascript:alert(1) <b>not bold</b>")

    long_bubble = bubble(page, ids["long"])
    folded = long_bubble.locator(".text").evaluate("e => e.scrollHeight > e.clientHeight + 20")
    assert folded
    long_bubble.get_by_role("button", name="Read more").click()
    expect(long_bubble.get_by_role("button", name="Read more")).to_have_count(0)
    assert long_bubble.locator(".text").evaluate("e => e.scrollHeight <= e.clientHeight + 1")


def test_rich_text_makes_only_safe_links() -> None:
    html = str(rich_text('javascript:alert(1) "><img src=x> vbscript:x file:///etc/passwd ftp://x.y *<i>*'))
    assert "<a" not in html and "<img" not in html and "<i>" not in html
    assert "&lt;img src=x&gt;" in html and "<strong>&lt;i&gt;</strong>" in html
    assert str(rich_text("on 2024-05-01 order 12345678, 3*4*5")) == "on 2024-05-01 order 12345678, 3*4*5"


# --- phone width ----------------------------------------------------------------------------------------


def test_the_back_button_adds_no_history_entry(start_server: StartServer, pages: Pages) -> None:
    server = start_server()
    post(server, inbound(text("Hello from my phone", timestamp=now())))
    page = pages.open(f"{server.url}/", viewport=PHONE)
    start = page.evaluate("history.length")
    row(page, RAVI).get_by_role("link").click()
    expect(page).to_have_url(f"{server.url}/c/{RAVI}")
    assert page.evaluate("history.length") == start + 1

    page.get_by_role("link", name="Back to chats").click()
    expect(page).to_have_url(f"{server.url}/")
    expect(page.locator(".sidebar")).to_be_visible()
    expect(row(page, RAVI)).to_be_visible()
    assert page.evaluate("history.length") == start + 1  # went back: no new entry

    # A chat opened from its address (nothing to go back to in the app): back replaces it.
    page.goto(f"{server.url}/c/{RAVI}")
    length = page.evaluate("history.length")
    page.get_by_role("link", name="Back to chats").click()
    expect(page).to_have_url(f"{server.url}/")
    expect(row(page, RAVI)).to_be_visible()
    assert page.evaluate("history.length") == length


def test_enter_adds_a_line_on_touch_devices_where_the_send_button_sends(start_server: StartServer,
                                                                        pages: Pages) -> None:
    server = start_server()
    post(server, inbound(text("Hello", timestamp=now())))
    page = pages.open(f"{server.url}/c/{RAVI}", viewport=PHONE, touch=True)
    box = composer(page)
    box.tap()
    page.keyboard.type("First line")
    page.keyboard.press("Enter")
    page.keyboard.type("second line")
    expect(box).to_have_value("First line\nsecond line")
    expect(page.locator("#message-list .msg--outbound")).to_have_count(0)
    page.get_by_role("button", name="Send").tap()
    expect(page.locator("#message-list .msg--outbound[data-message-id] .text")).to_have_text(
        "First line\nsecond line")


# --- the small ones -------------------------------------------------------------------------------------


def test_times_have_no_leading_zero_in_12_hour_format(start_server: StartServer, pages: Pages) -> None:
    server = start_server()
    post(server, inbound(text("Morning", timestamp=1767258300)))  # 2026-01-01 09:05 UTC
    page = pages.open(f"{server.url}/c/{RAVI}")
    expect(page.locator("#message-list .msg time")).to_have_text(["9:05 AM"])


def test_an_unsupported_message_says_so_with_a_capital(client: FlaskClient) -> None:
    client.post("/webhook", json=inbound(message("unsupported", {}, timestamp=now())))
    page = client.get(f"/c/{RAVI}")
    assert '<p class="text unsupported">Unsupported message</p>' in page.text


def test_a_chat_address_that_is_not_a_number_shows_a_friendly_page(client: FlaskClient) -> None:
    for address in ("/c/not-a-number", "/c/12ab"):
        page = client.get(address)
        assert page.status_code == 404
        assert page.mimetype == "text/html"
        assert "is not a WhatsApp number. Pick a chat on the left." in page.text
        assert '<aside class="sidebar"' in page.text  # the whole inbox around it
        assert "wa_id" not in page.text.split('<section class="empty"')[1]


def test_with_the_database_down_pages_show_an_html_error_page(tmp_path: Path) -> None:
    with DevDB(tmp_path / "db") as db:
        app = create_app(settings(db.uri + "down", MONGODB_TIMEOUT_MS=400))
        app.testing = True
        app.test_client_class = AgentClient
        client = app.test_client()  # signed in while the database answers
        db.stop()
        for path in ("/", f"/c/{RAVI}"):
            page = client.get(path)
            assert page.status_code == 503 and page.mimetype == "text/html", path
            assert "The inbox cannot reach its database" in page.text
            assert page.headers["Retry-After"] == "5"
        api = client.get("/api/conversations")
        assert api.status_code == 503 and api.get_json()["status"] == "error"


def test_the_offline_banner_does_not_cover_the_chat_header(start_server: StartServer, pages: Pages) -> None:
    server = start_server()
    post(server, inbound(text("Hello", timestamp=now())))
    page = pages.open(f"{server.url}/c/{RAVI}")
    server.stop()
    banner = page.get_by_role("status").filter(has_text="offline")
    expect(banner).to_be_visible()
    header = page.locator(".chat-header").bounding_box()
    box = banner.bounding_box()
    assert header and box and box["y"] + box["height"] <= header["y"] + 0.5, (box, header)
    sidebar = page.locator(".sidebar-header").bounding_box()
    assert sidebar and box["y"] + box["height"] <= sidebar["y"] + 0.5
    server.start()
    expect(banner).to_be_hidden(timeout=15000)
    assert page.locator(".chat-header").bounding_box()["y"] == 0


def test_a_count_shows_near_the_limit_and_the_error_clears_as_the_agent_edits(start_server: StartServer,
                                                                              pages: Pages) -> None:
    server = start_server(MESSAGE_MAX_LENGTH=20)
    post(server, inbound(text("Hello", timestamp=now())))
    page = pages.open(f"{server.url}/c/{RAVI}")
    box, count, error = composer(page), page.locator("#char-count"), page.locator("#composer-error")
    box.fill("Short")
    expect(count).to_be_hidden()
    box.fill("Eighteen chars now")
    expect(count).to_have_text("18 / 20")
    box.fill("This one is over the limit")
    expect(count).to_have_text("26 / 20")
    box.press("Enter")
    expect(error).to_have_text("The message must be at most 20 characters.")
    box.press("Backspace")
    expect(error).to_be_hidden()
    box.fill("Fits: ok")
    box.press("Enter")
    expect(page.locator("#message-list .msg--outbound[data-message-id] .text")).to_have_text("Fits: ok")
    expect(count).to_be_hidden()

