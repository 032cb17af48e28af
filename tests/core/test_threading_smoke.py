"""The app also runs with Flask-SocketIO's `threading` mode (simple-websocket, no eventlet):
the page loads, and a message is pushed to the browser and to a python-socketio client."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import expect

from tests.helpers.app import LiveServer
from tests.helpers.browser import Listener, Pages, post
from tests.helpers.payloads import RAVI, inbound, text, wamid


def test_threading_mode_serves_the_page_and_pushes(start_server: Callable[..., LiveServer], pages: Pages,
                                                   listen: Callable[[LiveServer], Listener]) -> None:
    server = start_server(SOCKETIO_ASYNC_MODE="threading")
    listener = listen(server)
    page = pages.open(f"{server.url}/")
    assert listener.client.transport() == "websocket"  # simple-websocket upgraded the connection

    first = wamid()
    post(server, inbound(text("Hello over threads", id=first, timestamp=1754400000)))
    assert listener.wait_for("message:new", id=first)["text"] == {"body": "Hello over threads"}
    expect(page.locator(f'#conversation-list [data-wa-id="{RAVI}"] .row-text')).to_have_text("Hello over threads")
    page.locator(f'#conversation-list [data-wa-id="{RAVI}"] a').click()
    expect(page.locator(f'[data-message-id="{first}"] .text')).to_have_text("Hello over threads")
