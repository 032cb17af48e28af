"""Security headers as the app serves them (Flask-Talisman): the strict Content-Security-Policy on
every kind of response, proved in a real browser to let the inbox work and to block what it must;
HTTPS redirects and HSTS in production only; production refuses to start without its secrets."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser, expect

from devdb.launcher import free_port
from tests.helpers.app import LiveServer, start_wsgi
from tests.helpers.browser import Pages, bubble, composer, post, row, wait_connected
from tests.helpers.payloads import RAVI, inbound, now, text, wamid

StartServer = Callable[..., LiveServer]


def policy(header: str) -> dict[str, list[str]]:
    """'a x y; b z' → {'a': ['x', 'y'], 'b': ['z']}"""
    directives = [part.split() for part in header.split(";") if part.strip()]
    return {words[0]: words[1:] for words in directives}


def expected_policy(host: str) -> dict[str, list[str]]:
    return {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "media-src": ["'self'"],
        "connect-src": ["'self'", f"ws://{host}", f"wss://{host}"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }


def assert_secure_headers(response, host: str = "localhost") -> None:  # type: ignore[no-untyped-def]
    header = response.headers.get("Content-Security-Policy", "")
    assert policy(header) == expected_policy(host), header
    assert "unsafe" not in header  # neither 'unsafe-inline' nor 'unsafe-eval', anywhere
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in response.headers  # production only


def test_every_kind_of_response_carries_the_strict_policy(client: FlaskClient) -> None:
    assert client.post("/webhook", json=inbound(text("Hello", timestamp=now()))).status_code == 200
    answers = {
        "/": 200,
        f"/c/{RAVI}": 200,
        "/ui/conversations?q=ravi": 200,
        "/api/conversations": 200,
        "/webhook": 403,  # a failed verification handshake, in the envelope
        "/no/such/page": 404,
        "/api/no/such/thing": 404,
        "/static/css/inbox.css": 200,
        "/healthz": 200,
    }
    for path, status in answers.items():
        response = client.get(path, headers={"HX-Request": "true"} if path.startswith("/ui/") else {})
        assert response.status_code == status, (path, response.status_code)
        assert_secure_headers(response)
    sent = client.post(f"/c/{RAVI}/messages", data={"body": "Hi"}, headers={"HX-Request": "true"})
    assert sent.status_code == 200
    assert_secure_headers(sent)


def test_socket_sources_name_only_a_well_formed_host(client: FlaskClient) -> None:
    """The ws:/wss: sources repeat the Host header; a forged one cannot add sources to the policy."""
    served = client.get("/healthz", headers={"Host": "inbox.example.com:8443"})
    assert policy(served.headers["Content-Security-Policy"])["connect-src"] == [
        "'self'", "ws://inbox.example.com:8443", "wss://inbox.example.com:8443"]
    forged = client.get("/healthz", headers={"Host": "evil.example script-src * 'unsafe-inline'"})
    header = forged.headers["Content-Security-Policy"]
    assert policy(header)["connect-src"] == ["'self'"]
    assert policy(header)["script-src"] == ["'self'"]
    assert "evil" not in header and "unsafe" not in header


def test_no_https_redirect_or_hsts_outside_production(make_app: Callable[..., Flask]) -> None:
    app = make_app(APP_ENV="development")
    client = app.test_client()
    plain = client.get("/healthz")
    assert plain.status_code == 200
    secure = app.test_client().get("/healthz", base_url="https://localhost")
    assert secure.status_code == 200 and "Strict-Transport-Security" not in secure.headers


def test_production_redirects_to_https_and_sends_hsts(make_app: Callable[..., Flask]) -> None:
    app = make_app(APP_ENV="production", WHATSAPP_APP_SECRET="meta-app-secret", PUBLIC_URL="https://inbox.example.com")
    client = app.test_client()

    for path in ("/c/919937320320?x=1", "/api/conversations", "/webhook?hub.mode=subscribe"):
        redirected = client.get(path)
        assert redirected.status_code in (301, 302), path
        assert redirected.headers["Location"] == f"https://inbox.example.com{path}"
    # the Host header a client sends is not where anyone is sent
    forged = client.get("/c/919937320320", headers={"Host": "evil.example"})
    assert forged.headers["Location"] == "https://inbox.example.com/c/919937320320"

    over_https = client.get("/healthz", base_url="https://localhost")
    assert over_https.status_code == 200
    hsts = over_https.headers["Strict-Transport-Security"]
    assert hsts.startswith("max-age=") and int(hsts.split(";")[0].split("=")[1]) >= 31_536_000
    assert "includeSubDomains" in hsts
    assert over_https.headers["X-Content-Type-Options"] == "nosniff"

    # a load balancer probes over plain HTTP inside the network: answered, not redirected
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200


def test_production_without_a_public_url_refuses_plain_http_instead_of_trusting_the_host(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(APP_ENV="production", WHATSAPP_APP_SECRET="meta-app-secret")
    refused = app.test_client().get("/c/919937320320", headers={"Host": "evil.example"})
    assert refused.status_code == 403 and "Location" not in refused.headers
    assert refused.json["status"] == "error" and "HTTPS only" in refused.json["message"]
    assert app.test_client().get("/healthz", base_url="https://inbox.example.com").status_code == 200


def test_the_pages_websocket_source_is_the_public_url(make_app: Callable[..., Flask]) -> None:
    app = make_app(PUBLIC_URL="https://inbox.example.com")
    csp = app.test_client().get("/healthz", headers={"Host": "evil.example"}).headers["Content-Security-Policy"]
    assert "wss://inbox.example.com" in csp and "evil.example" not in csp


def test_production_will_not_start_without_the_webhook_app_secret(mongodb_uri: str) -> None:
    """Without it, anyone could post forged webhooks; production says so in one line and stops."""
    result = start_wsgi({"MONGODB_URI": mongodb_uri, "APP_ENV": "production", "PORT": str(free_port()),
                    "SECRET_KEY": "k" * 32, "WHATSAPP_VERIFY_TOKEN": "verify", "WHATSAPP_APP_SECRET": ""})
    assert result.returncode == 1
    assert result.stderr.strip() == "error: WHATSAPP_APP_SECRET is required when APP_ENV=production"


# --- in a real browser, under the policy the app serves --------------------------------------------


def test_the_inbox_works_under_the_apps_own_policy(start_server: StartServer, pages: Pages) -> None:
    """Search, open a chat, send, receive a push over the WebSocket, reload: all of it under the
    policy the server sends, with nothing blocked and nothing in the console."""
    server = start_server()
    post(server, inbound(text("Hello", timestamp=now())))
    served = requests.get(f"{server.url}/", timeout=10)
    assert policy(served.headers["Content-Security-Policy"]) == expected_policy(f"127.0.0.1:{server.port}")

    page = pages.open(f"{server.url}/")
    search = page.get_by_role("searchbox", name="Search chats by name or number")
    search.press_sequentially("ravi")  # htmx: GET on input, after a delay
    expect(page.locator("#conversation-list [data-wa-id]")).to_have_count(1)
    row(page, RAVI).get_by_role("link").click()
    expect(page).to_have_url(f"{server.url}/c/{RAVI}")
    composer(page).fill("Under the app's policy")
    composer(page).press("Enter")
    expect(page.locator("#message-list .msg--outbound[data-message-id] .text")).to_have_text("Under the app's policy")
    pushed = wamid()
    post(server, inbound(text("Pushed under the policy", id=pushed, timestamp=now(5))))
    expect(bubble(page, pushed)).to_be_visible()
    page.reload()  # a full page load under the policy as well
    wait_connected(page)
    expect(bubble(page, pushed)).to_be_visible()

    # the stylesheet applied; htmx injected no <style> of its own (the policy would refuse it)
    assert page.locator(".chat-header").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(0, 128, 105)"
    assert page.locator("style").count() == 0
    # Socket.IO went over a WebSocket to this origin (connect-src), not only long-polling
    assert any(url.startswith(f"ws://127.0.0.1:{server.port}/socket.io/") for url in pages.websockets)
    assert page.evaluate("window.cspViolations") == []
    assert pages.console_errors == []


def test_the_browser_enforces_the_served_policy(start_server: StartServer, browser: Browser) -> None:
    """The control for the test above: what the policy forbids really is refused and reported."""
    server = start_server()
    context = browser.new_context()
    try:
        Pages(browser, [server]).sign_in(context, server.url)  # the test agent's session cookie
        context.add_init_script("window.cspViolations = []; document.addEventListener('securitypolicyviolation', "
                                "e => window.cspViolations.push(e.effectiveDirective))")
        page = context.new_page()
        console: list[str] = []
        page.on("console", lambda msg: console.append(msg.text) if msg.type == "error" else None)
        page.goto(f"{server.url}/")
        wait_connected(page)
        page.evaluate("""() => {
            const script = document.createElement('script');
            script.textContent = 'window.inlineRan = true';
            document.head.append(script);
            const style = document.createElement('style');
            style.textContent = 'body { background: red }';
            document.head.append(style);
            const img = document.createElement('img');
            img.src = 'https://images.example.invalid/pixel.png';
            document.body.append(img);
            try { fetch('https://api.example.invalid/steal').catch(() => {}); } catch (e) {}
            const button = document.createElement('button');
            button.setAttribute('onclick', 'window.handlerRan = true');
            document.body.append(button);
            button.click();
        }""")
        violations = page.wait_for_function(
            "() => new Set(window.cspViolations).size >= 5 && window.cspViolations", timeout=5000).json_value()
        assert sorted(set(violations)) == ["connect-src", "img-src", "script-src-attr", "script-src-elem",
                                           "style-src-elem"]
        assert page.evaluate("window.inlineRan === undefined && window.handlerRan === undefined")
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") != "rgb(255, 0, 0)"
        assert any("Content Security Policy" in message for message in console)
    finally:
        context.close()


@pytest.mark.parametrize("path", ["/", "/static/js/inbox.js"])
def test_pages_and_scripts_are_not_sniffed(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.mimetype in ("text/html", "text/javascript", "application/javascript")
