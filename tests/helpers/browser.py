"""Fixtures and helpers for the browser and Socket.IO tests (loaded by conftest's pytest_plugins):
headless Chromium from Debian driven by Playwright, a python-socketio client on a real socket,
and webhook posting to the live server."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio
from playwright.sync_api import Browser, BrowserContext, Locator, Page, Playwright, sync_playwright

from tests.helpers.app import ARTIFACTS, ROOT, LiveServer
from tests.helpers.auth import Credentials
from tests.helpers.payloads import raw
from tests.helpers.wait import eventually

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}
EVENTS = ("message:new", "message:status", "message:reactions", "conversation:update")
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"


# --- the browser -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


class Pages:
    """Opens pages (each in its own context: another agent, another tab's storage) and records what
    would betray a broken or attacked page: script errors, dialogs, console errors, and what the
    app's Content-Security-Policy blocked (window.cspViolations in each page)."""

    def __init__(self, browser: Browser, servers: list[LiveServer] | None = None) -> None:
        self.browser = browser
        self.servers = servers if servers is not None else []  # whose agent session a page signs in with
        self.contexts: list[BrowserContext] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.console_errors: list[str] = []
        self.websockets: list[str] = []

    def open(self, url: str, *, viewport: dict[str, int] = DESKTOP, timezone: str = "UTC",
             signed_in: bool = True, live: bool | None = None, init_script: str | None = None,
             touch: bool = False, as_agent: Credentials | None = None) -> Page:
        """A page at `url`, signed in as the server's test agent (its session cookie) unless
        `signed_in=False`, or as another agent (`as_agent`: tests.helpers.auth.agent_credentials); a
        signed-in inbox page is returned once its Socket.IO client is connected (`live=False`: a page
        without one, such as /leads). `init_script` runs before the page's own scripts; `touch` makes a
        touch-screen device."""
        context = self.browser.new_context(viewport=viewport, locale="en-US", timezone_id=timezone,
                                           has_touch=touch, is_mobile=touch)
        context.set_default_timeout(8000)
        self.contexts.append(context)
        if signed_in:
            self.sign_in(context, url, as_agent)
        context.add_init_script("window.cspViolations = []; document.addEventListener('securitypolicyviolation', "
                                "e => window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`))")
        if init_script:
            context.add_init_script(init_script)
        page = context.new_page()
        page.on("websocket", lambda ws: self.websockets.append(ws.url))
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        page.on("console", lambda msg: self.console_errors.append(msg.text) if msg.type == "error" else None)
        page.goto(url)
        if signed_in and (live if live is not None else "/c/" in url or url.rstrip("/").count("/") == 2):
            wait_connected(page)
        return page

    def sign_in(self, context: BrowserContext, url: str, as_agent: Credentials | None = None) -> None:
        server = next((s for s in self.servers if url.startswith(s.url) and s.credentials), None)
        assert server is not None and server.credentials is not None, f"no server started by start_server at {url}"
        credentials = as_agent or server.credentials
        context.add_cookies([{"name": credentials.cookie_name, "value": credentials.session_cookie,
                              "url": server.url, "httpOnly": True, "sameSite": "Lax"}])

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def pages(browser: Browser, start_server: Callable[..., LiveServer]) -> Iterator[Pages]:
    opened = Pages(browser, getattr(start_server, "servers", None))
    yield opened
    opened.close()
    assert not opened.errors, f"script errors on the page: {opened.errors}"
    blocked = [m for m in opened.console_errors if "Content Security Policy" in m]
    assert not blocked, f"the app's Content-Security-Policy blocked something: {blocked}"


def wait_connected(page: Page) -> None:
    """The page's Socket.IO client is connected, so what the server pushes from now on reaches it."""
    page.locator("html[data-socket=connected]").wait_for(state="attached")


def screenshot(page: Page, name: str, *, docs: str | None = None) -> Path:
    """Save to test-artifacts/; with UPDATE_DOCS_SCREENSHOTS=1 also to docs/ (committed, for the README)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), caret="initial")  # "hide" injects a <style> the CSP refuses
    if docs and os.environ.get("UPDATE_DOCS_SCREENSHOTS") == "1":
        (ROOT / "docs").mkdir(exist_ok=True)
        shutil.copyfile(path, ROOT / "docs" / docs)
    return path


def assert_accessible(page: Page, *, include: str | None = None, impacts: tuple[str, ...] = ("serious", "critical"),
                      ignore: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Run axe-core (tests/helpers/vendor/axe.min.js) on the page as it is now, against WCAG 2.0 to 2.2 A
    and AA, and fail on every `serious` or `critical` violation, naming the rule and the elements.
    The app's CSP allows no injected <script> from elsewhere, so the source is evaluated in the page
    (a test's evaluate is not subject to the CSP). Returns the minor and moderate ones, for a look."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    options = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]}}
    violations: list[dict[str, Any]] = page.evaluate(
        "async ([context, options]) => (await axe.run(context || document, options)).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => `${n.target.join(' ')}: ${n.failureSummary}`)}))",
        [include, options])
    bad = [v for v in violations if v["impact"] in impacts and v["id"] not in ignore]
    assert not bad, "accessibility violations:\n" + "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']}\n    " + "\n    ".join(v["nodes"][:5]) for v in bad)
    return [v for v in violations if v not in bad]


# --- finding things on the page ---


def row(page: Page, wa_id: str) -> Locator:
    return page.locator(f'#conversation-list [data-wa-id="{wa_id}"]')


def bubble(page: Page, message_id: str) -> Locator:
    return page.locator(f'#message-list [data-message-id="{message_id}"]')


def tick(where: Locator) -> Locator:
    return where.locator("[data-tick] [aria-label]")


def composer(page: Page) -> Locator:
    return page.get_by_role("textbox", name="Type a message")


def bubble_ids(page: Page) -> list[str]:
    return page.locator("#message-list [data-message-id]").evaluate_all("els => els.map(e => e.dataset.messageId)")


# --- the server ------------------------------------------------------------------------------------


def post(server: LiveServer, body: Any) -> dict[str, Any]:
    response = requests.post(f"{server.url}/webhook", data=raw(body) if not isinstance(body, bytes) else body,
                             headers={"Content-Type": "application/json"}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def api(server: LiveServer, path: str) -> Any:
    response = requests.get(f"{server.url}/api{path}", headers=server.auth_headers, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["data"]


# --- a Socket.IO client on a real socket -------------------------------------------------------------


class Listener:
    """A python-socketio client that records every inbox event, in order of arrival."""

    def __init__(self, url: str, *, auth: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> None:
        self.url = url
        self.auth = auth  # {"token": ...}: an API token in the Socket.IO handshake
        self.headers = headers or {}  # e.g. a Cookie: an agent's session
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()
        self.client = socketio.Client(reconnection=False)
        for name in EVENTS:
            self.client.on(name, self._recorder(name))

    def _recorder(self, name: str) -> Callable[[dict[str, Any]], None]:
        def record(data: dict[str, Any]) -> None:
            with self.lock:
                self.events.append((name, data))
        return record

    def connect(self) -> Listener:
        self.client.connect(self.url, auth=self.auth, headers=self.headers, wait_timeout=10,
                            transports=["websocket"])  # the server takes no long-polling
        return self

    def disconnect(self) -> None:
        if self.client.connected:
            self.client.disconnect()

    def of(self, name: str, **match: Any) -> list[dict[str, Any]]:
        with self.lock:
            return [data for event, data in self.events
                    if event == name and all(data.get(k) == v for k, v in match.items())]

    def names(self) -> list[str]:
        with self.lock:
            return [event for event, _ in self.events]

    def wait_for(self, name: str, timeout: float = 8.0, **match: Any) -> dict[str, Any]:
        return eventually(lambda: (self.of(name, **match) or [None])[-1], timeout)


@pytest.fixture
def listen() -> Iterator[Callable[[LiveServer], Listener]]:
    listeners: list[Listener] = []

    def connect(server: LiveServer) -> Listener:
        listener = Listener(server.url, auth={"token": server.token}).connect()
        listeners.append(listener)
        return listener

    yield connect
    for listener in listeners:
        listener.disconnect()
