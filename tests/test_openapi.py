"""/openapi.json and /docs: a valid OpenAPI 3.1 document that documents every /api and /webhook
route of the app, generated from the schemas the routes validate with, whose response schemas the
real answers keep; and Swagger UI, served from our own files, working under the app's CSP."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from webapp.apidocs.components import META_EXAMPLE, WRAPPER_EXAMPLE
from webapp.apidocs.openapi import OPERATIONS

from tests.conftest import ROOT, LiveServer
from tests.payloads import (
    NEHA,
    RAVI,
    SAMPLE_CONTENT,
    failure,
    inbound,
    message,
    meta_body,
    outbound,
    raw,
    reaction,
    status,
    statuses,
    text,
    value,
    wrapper_body,
)
from tests.test_schemathesis import credentials
from tests.ui_helpers import screenshot
from webapp import schemas
from webapp.inbox.queries import MAX_PAGE

T0 = 1754400000
METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}
DOCUMENTED = ("/api", "/webhook")
SWAGGER_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "LICENSE")


@pytest.fixture
def spec(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def validator(spec: dict[str, Any], name: str | None = None, schema: dict[str, Any] | None = None) -> Any:
    """A JSON Schema validator for a component of `spec` (or `schema`), its $refs resolved in `spec`."""
    root = {**(schema or {"$ref": f"#/components/schemas/{name}"}), "components": spec["components"]}
    return jsonschema_rs.Draft202012Validator(root)


def errors_of(check: Any, instance: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.instance_path))}: {e.message}" for e in check.iter_errors(instance)]


# --- the document -------------------------------------------------------------------------------------------


def test_the_document_is_valid_openapi_3_1(spec):
    assert spec["openapi"] == "3.1.0"
    schemathesis.openapi.from_dict(spec).validate()  # OpenAPI 3.1's own schema, as schemathesis ships it


def test_the_validator_would_notice_a_broken_document(spec):
    broken = json.loads(json.dumps(spec))
    del broken["paths"]["/api/messages"]["post"]["responses"]["201"]["description"]
    with pytest.raises(jsonschema_rs.ValidationError):
        schemathesis.openapi.from_dict(broken).validate()


def test_every_reference_resolves(spec):
    refs = set(re.findall(r'"\$ref": "([^"]+)"', json.dumps(spec)))
    assert refs
    for target in refs:
        node: Any = spec
        for part in target.removeprefix("#/").split("/"):
            assert part in node, target
            node = node[part]


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def test_every_api_and_webhook_route_is_documented_and_nothing_else(app: Flask, spec):
    routes = {(rule.endpoint, openapi_path(rule.rule), method.lower())
              for rule in app.url_map.iter_rules() if rule.rule.startswith(DOCUMENTED)
              for method in (rule.methods or set()) & METHODS}
    assert len(routes) >= 6
    documented = {(op.endpoint, op.path, op.method) for op in OPERATIONS}
    assert routes == documented, f"undocumented: {routes - documented}; documented but missing: {documented - routes}"
    for _, path, method in routes:
        assert method in spec["paths"][path], (method, path)
    assert {path for path in spec["paths"] if not path.startswith(DOCUMENTED)} == set()


EXPECTED_STATUSES = {
    ("get", "/api/conversations"): {"200", "400", "401", "429", "503"},
    ("get", "/api/messages/{wa_id}"): {"200", "400", "401", "404", "429", "503"},
    ("post", "/api/messages"): {"201", "400", "401", "403", "413", "415", "429", "503"},
    ("post", "/api/conversations/{wa_id}/read"): {"200", "400", "401", "403", "404", "429", "503"},
    ("get", "/webhook"): {"200", "400", "403", "429"},
    ("post", "/webhook"): {"200", "400", "401", "413", "429", "503"},
}


def test_each_operation_documents_the_answers_it_can_give(spec):
    for (method, path), expected in EXPECTED_STATUSES.items():
        responses = spec["paths"][path][method]["responses"]
        assert set(responses) == expected, (method, path)
        for code, response in responses.items():
            assert response["description"]
            if code.startswith(("4", "5")):
                assert response["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/ErrorEnvelope"}
        for code in ("429", "503"):
            if code in responses:
                assert "Retry-After" in responses[code]["headers"]


def test_the_api_needs_a_token_or_a_session_and_the_webhook_is_public(app: Flask, spec):
    schemes = spec["components"]["securitySchemes"]
    assert set(schemes) == {"bearerAuth", "cookieAuth"}
    assert (schemes["bearerAuth"]["type"], schemes["bearerAuth"]["scheme"]) == ("http", "bearer")
    assert (schemes["cookieAuth"]["type"], schemes["cookieAuth"]["in"]) == ("apiKey", "cookie")
    assert schemes["cookieAuth"]["name"] == app.config["SESSION_COOKIE_NAME"]
    for path, item in spec["paths"].items():
        for operation in item.values():
            if path.startswith("/api"):
                assert operation["security"] == [{"bearerAuth": []}, {"cookieAuth": []}]
            else:
                assert operation["security"] == []
    receive = spec["paths"]["/webhook"]["post"]
    assert [p["name"] for p in receive["parameters"] if p["in"] == "header"] == ["X-Hub-Signature-256"]


def test_parameters_and_bodies_are_generated_from_the_declared_schemas(app: Flask, spec):
    listing = {p["name"]: p for p in spec["paths"]["/api/conversations"]["get"]["parameters"]}
    assert set(listing) == {f.name for f in schemas.CONVERSATIONS_QUERY.fields} == {"limit", "q", "before"}
    assert listing["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 50}
    assert listing["q"]["schema"]["maxLength"] == 100 and listing["q"]["required"] is False
    messages = {p["name"]: p for p in spec["paths"]["/api/messages/{wa_id}"]["get"]["parameters"]}
    assert messages["wa_id"]["in"] == "path" and messages["wa_id"]["required"] is True
    assert messages["wa_id"]["schema"]["pattern"] == r"^(?:\+?[0-9]{6,15})$"
    handshake = {p["name"] for p in spec["paths"]["/webhook"]["get"]["parameters"]}
    assert handshake == {"hub.mode", "hub.verify_token", "hub.challenge"}
    body = spec["components"]["schemas"]["SendMessage"]
    with app.app_context():
        assert body == schemas.SEND_MESSAGE.json_schema()
    assert body["required"] == ["waId", "messageBody"] and body["additionalProperties"] is False
    assert body["properties"]["messageBody"]["maxLength"] == app.config["MESSAGE_MAX_LENGTH"]
    send = spec["paths"]["/api/messages"]["post"]["requestBody"]["content"]["application/json"]
    assert send["example"] == {"waId": RAVI, "messageBody": "Hello from the inbox"}


def test_the_documented_body_rules_are_the_ones_enforced(client, spec):
    send_body = validator(spec, "SendMessage")
    cases = [({"waId": RAVI, "messageBody": "hi"}, 201), ({"waId": "+15551234567", "messageBody": " x "}, 201),
             ({"waId": "123", "messageBody": "hi"}, 400), ({"waId": RAVI, "messageBody": " \t "}, 400),
             ({"waId": RAVI, "messageBody": "hi", "extra": 1}, 400), ({"waId": RAVI}, 400),
             ({"waId": RAVI, "messageBody": "a\x00"}, 400), ({"waId": RAVI, "messageBody": "x" * 4097}, 400)]
    for body, expected in cases:
        assert send_body.is_valid(body) is (expected == 201), body
        assert client.post("/api/messages", json=body).status_code == expected, body


# --- the webhook bodies: the description accepts what WhatsApp sends --------------------------------------------


def sample_bodies() -> list[dict[str, Any]]:
    every_type = [message(mtype, content, timestamp=T0 + i) for i, (mtype, (content, _)) in
                  enumerate(SAMPLE_CONTENT.items())]
    return [
        META_EXAMPLE, WRAPPER_EXAMPLE,
        inbound(*every_type),
        wrapper_body(value(messages=[text("hi", timestamp=T0)], contacts=[(RAVI, "Ravi Kumar")])),
        meta_body(value(messages=[outbound("On its way", timestamp=T0)])),
        inbound(reaction("wamid.X", "👍", timestamp=T0), text("reply", context={"from": RAVI, "id": "wamid.X"})),
        statuses(status("wamid.A", "delivered"), status("wamid.B", "failed", errors=[failure()])),
        meta_body(value(statuses=[status("wamid.C", "read")]), field="message_template_status_update"),
    ]


def test_the_webhook_description_accepts_whatsapp_bodies(client, spec):
    body = validator(spec, "WebhookBody")
    for sample in sample_bodies():
        assert errors_of(body, sample) == [], sample
        response = client.post("/webhook", data=raw(sample), content_type="application/json")
        assert response.status_code == 200, response.get_json()
    for wrong in [{}, {"object": "whatsapp_business_account"}, {"payload_type": "whatsapp_webhook"},
                  {"object": "page", "entry": []}, inbound({**text("x"), "from": "abc"})]:
        assert not body.is_valid(wrong), wrong
        assert client.post("/webhook", data=raw(wrong), content_type="application/json").status_code == 400, wrong


# --- the responses keep their documented schemas ------------------------------------------------------------------


def response_schema(spec: dict[str, Any], method: str, path: str, status_code: int) -> Any:
    content = spec["paths"][path][method]["responses"][str(status_code)]["content"]
    return validator(spec, schema=content["application/json"]["schema"])


def test_real_answers_keep_the_documented_response_schemas(client, spec):
    every_type = [message(mtype, content, timestamp=T0 + i, id=f"wamid.T{i}") for i, (mtype, (content, _)) in
                  enumerate(SAMPLE_CONTENT.items())]
    for body in [inbound(*every_type),
                 inbound(text("reply", id="wamid.R", timestamp=T0 + 50, context={"from": RAVI, "id": "wamid.T0"}),
                         reaction("wamid.T0", "❤️", timestamp=T0 + 51)),
                 meta_body(value(messages=[outbound("Sorry", id="wamid.O", timestamp=T0 + 60)])),
                 statuses(status("wamid.O", "failed", timestamp=T0 + 61, errors=[failure()])),
                 inbound(text("hi", sender=NEHA, timestamp=T0 + 70), wa_id=NEHA, name="Neha")]:
        response = client.post("/webhook", data=raw(body), content_type="application/json")
        assert errors_of(response_schema(spec, "post", "/webhook", 200), response.get_json()) == []
    sent = client.post("/api/messages", json={"waId": RAVI, "messageBody": "On its way"})
    answers = [
        ("post", "/api/messages", 201, sent),
        ("get", "/api/conversations", 200, client.get("/api/conversations")),
        ("get", "/api/messages/{wa_id}", 200, client.get(f"/api/messages/{RAVI}?limit=200")),
        ("post", "/api/conversations/{wa_id}/read", 200, client.post(f"/api/conversations/{NEHA}/read")),
        ("get", "/api/messages/{wa_id}", 404, client.get("/api/messages/15550009999")),
        ("get", "/api/conversations", 400, client.get("/api/conversations?limit=0&x=1")),
        ("post", "/api/messages", 415, client.post("/api/messages", data="hi", content_type="text/plain")),
        ("get", "/webhook", 403, client.get("/webhook?hub.mode=subscribe&hub.verify_token=no&hub.challenge=1")),
        ("post", "/webhook", 400, client.post("/webhook", data=b"{}", content_type="application/json")),
    ]
    for method, path, status_code, response in answers:
        assert response.status_code == status_code, (path, response.get_json())
        assert errors_of(response_schema(spec, method, path, status_code), response.get_json()) == [], path
    items = client.get(f"/api/messages/{RAVI}?limit=200").get_json()["data"]
    assert {item["type"] for item in items} >= set(SAMPLE_CONTENT) - {"ephemeral"} | {"text"}
    assert any(item["error"] for item in items) and any(item["reactions"] for item in items)
    assert any(item["context"] for item in items)


def test_a_response_that_broke_its_schema_would_be_noticed(client, spec):
    check = response_schema(spec, "get", "/api/messages/{wa_id}", 200)
    client.post("/webhook", data=raw(inbound(text("hi", timestamp=T0))), content_type="application/json")
    good = client.get(f"/api/messages/{RAVI}").get_json()
    assert errors_of(check, good) == []
    for broken in ({"status": "delivered?"}, {"timestamp": None}, {"reactions": {}}, {"id": 5}):
        item = {**good["data"][0], **broken}
        assert errors_of(check, {**good, "data": [item]}), broken
    assert errors_of(check, {k: v for k, v in good.items() if k != "meta"})


# --- behind sign-in, and served from our own files -----------------------------------------------------------------


def test_the_description_and_the_docs_need_sign_in(app: Flask):
    anonymous = FlaskClient(app, app.response_class)
    for url in ("/openapi.json", "/docs"):
        response = anonymous.get(url)
        assert response.status_code == 302 and response.location.startswith("/login"), url
        assert b'"openapi"' not in response.data and b"swagger-ui" not in response.data
    response = anonymous.get("/openapi.json", headers={"Accept": "application/json"})  # a program: the envelope
    assert response.status_code == 401 and response.get_json()["status"] == "error"


def test_the_docs_page_loads_only_our_own_files_and_no_inline_script(client):
    page = client.get("/docs").get_data(as_text=True)
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page, re.S)
    assert [re.search(r'src="([^"]+)"', attrs).group(1) for attrs, _ in scripts] == [
        "/static/vendor/swagger-ui/swagger-ui-bundle.js", "/static/js/docs.js"]
    assert all(body.strip() == "" for _, body in scripts)
    assert "style=" not in page and "<style" not in page and "http" not in page.split("<body>")[1]
    assert 'data-spec-url="/openapi.json"' in page
    for url in re.findall(r'(?:src|href)="(/static/[^"]+)"', page):
        assert client.get(url).status_code == 200, url


def test_swagger_ui_is_pinned_and_vendored_from_npm():
    package = json.loads((ROOT / "package.json").read_text())
    lock = json.loads((ROOT / "package-lock.json").read_text())
    version = package["dependencies"]["swagger-ui-dist"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), "pinned exactly"
    assert lock["packages"]["node_modules/swagger-ui-dist"]["version"] == version
    vendored = ROOT / "static" / "vendor" / "swagger-ui"
    for name in SWAGGER_FILES:
        assert (vendored / name).stat().st_size > 0, name
    assert f'PACKAGE_VERSION:"{version}"' in (vendored / "swagger-ui-bundle.js").read_text()
    assert "swagger-ui-dist" in (ROOT / "Makefile").read_text()


# --- in a real browser, under the app's Content-Security-Policy -----------------------------------------------------


def test_the_docs_page_shows_every_operation_and_can_try_one(app: Flask, live_server: LiveServer, browser: Any):
    headers = credentials(app)
    context = browser.new_context(extra_http_headers=headers)
    context.set_default_timeout(10_000)
    context.add_init_script("window.cspViolations = []; document.addEventListener('securitypolicyviolation', "
                            "e => window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`))")
    problems: list[str] = []
    requests_elsewhere: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
        page.on("console", lambda msg: problems.append(f"console: {msg.text}") if msg.type == "error" else None)
        page.on("request", lambda r: requests_elsewhere.append(r.url)
                if not r.url.startswith((live_server.url, "data:")) else None)
        response = page.goto(f"{live_server.url}/docs")
        assert response is not None and response.status == 200
        page.locator(".opblock").nth(len(OPERATIONS) - 1).wait_for()
        shown = {(block.locator(".opblock-summary-method").inner_text().lower(),
                  block.locator(".opblock-summary-path").get_attribute("data-path"))
                 for block in page.locator(".opblock").all()}
        assert shown == {(op.method, op.path) for op in OPERATIONS}
        screenshot(page, "docs.png")
        page.locator("#operations-conversations-listConversations .opblock-summary").click()
        page.get_by_role("button", name="Try it out").click()
        page.get_by_role("button", name="Execute").click()
        code = page.locator("#operations-conversations-listConversations .live-responses-table tbody "
                            ".response-col_status")
        assert code.first.inner_text(timeout=10_000).strip() == "200"
        assert page.evaluate("window.cspViolations") == []
    finally:
        context.close()
    assert problems == []
    assert requests_elsewhere == []
    policy = response.headers["content-security-policy"]  # the app's own, strict: no inline script or style
    assert "script-src 'self'" in policy and "style-src 'self'" in policy and "unsafe" not in policy


def test_an_agent_signed_in_with_the_cookie_can_try_a_change_from_the_docs(live_server: LiveServer, browser: Any):
    """docs.js sends the page's CSRF token with changes, as the inbox page does (else: 403)."""
    import requests

    from tests.ui_helpers import post

    post(live_server, inbound(text("hi", timestamp=T0)))
    assert requests.get(f"{live_server.url}/api/conversations", headers=live_server.auth_headers,
                        timeout=10).json()["data"][0]["unreadCount"] == 1
    creds = live_server.credentials
    assert creds is not None
    context = browser.new_context()
    context.set_default_timeout(10_000)
    context.add_cookies([{"name": creds.cookie_name, "value": creds.session_cookie, "url": live_server.url}])
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/docs")
        operation = page.locator("#operations-conversations-markConversationRead")
        operation.locator(".opblock-summary").click()
        operation.get_by_role("button", name="Try it out").click()
        operation.locator("input[placeholder='wa_id']").fill(RAVI)
        operation.get_by_role("button", name="Execute").click()
        code = operation.locator(".live-responses-table tbody .response-col_status")
        assert code.first.inner_text(timeout=10_000).strip() == "200"
    finally:
        context.close()
    assert requests.get(f"{live_server.url}/api/conversations", headers=live_server.auth_headers,
                        timeout=10).json()["data"][0]["unreadCount"] == 0
