"""Declared request models (pydantic, webapp/core/validation.py): the field types, what they refuse and
how they name it, and the attacks they stop (operator injection in bodies and query strings, keys MongoDB would read as
operators or paths, text that is not Unicode, bodies too large or nested too deep)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict

from tests.helpers.app import BUSINESS_NUMBER
from tests.helpers.http import assert_error, post_webhook
from tests.helpers.payloads import RAVI, failure, inbound, message, meta_body, raw, status, statuses, text, value
from webapp.api.models import ConversationsQuery, SendMessage
from webapp.core.errors import Invalid
from webapp.core.storable import problems
from webapp.core.validation import Request, Strict, parse, whole_number
from webapp.core.validation import text as text_field
from webapp.inbox.documents import Conversation, Message, PendingUpdate
from webapp.inbox.schemas import ContactPath
from webapp.ui.schemas import SearchQuery
from webapp.webhooks.documents import WebhookEvent
from webapp.whatsapp.numbers import WA_ID_PROBLEM, is_wa_id

T0 = 1754400000


def refused(model: type[Request], source: dict[str, Any] | MultiDict) -> dict[str, str]:
    with pytest.raises(Invalid) as caught:
        parse(model, source)
    assert caught.value.status == 400
    for name in caught.value.errors or {}:
        assert name in caught.value.message
    return caught.value.errors or {}


def nothing_stored() -> bool:
    return (Message.objects.count(), Conversation.objects.count(), WebhookEvent.objects.count(),
            PendingUpdate.objects.count()) == (0, 0, 0, 0)


# --- the field types and models -------------------------------------------------------------------------------


class ProbeText(Strict):
    name: text_field(max_length=10)


class ProbeBody(Strict):
    body: text_field(strip=False)


class ProbeSearch(Strict):
    q: text_field(required=False) = None


class ProbeLimit(Strict):
    limit: whole_number(1, 200) = 50


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ({}, "is required"),
        ({"name": None}, "is required"),
        ({"name": ""}, "must not be empty"),
        ({"name": "  \n "}, "must not be empty"),
        ({"name": 5}, "must be a string"),
        ({"name": True}, "must be a string"),
        ({"name": {"$gt": ""}}, "must be a string"),
        ({"name": ["a"]}, "must be a string"),
        ({"name": "x" * 11}, "must be at most 10 characters"),
        ({"name": "a\x00b"}, "must not contain control characters"),
        ({"name": "a\x1bb"}, "must not contain control characters"),
        ({"name": "a\x85b"}, "must not contain control characters"),
        ({"name": "\ud800"}, "is not valid Unicode text (it holds a lone surrogate)"),
    ],
)
def test_text_refuses_naming_the_problem(source, problem):
    assert refused(ProbeText, source) == {"name": problem}


def test_text_keeps_tabs_newlines_and_everything_printable():
    assert parse(ProbeBody, {"body": "  Line one\n\tline two 🙂\r\n"}).body == "  Line one\n\tline two 🙂\r\n"
    assert parse(ProbeText, {"name": "  Ravi  "}).name == "Ravi"
    assert parse(ProbeSearch, {"q": "   "}).q is None
    assert parse(ProbeSearch, {}).q is None


@pytest.mark.parametrize("number", ["919937320320", "+919937320320", " 919937320320 ", "12345", "1" * 20,
                                    "9199373203201234567"])
def test_a_phone_number_is_kept_as_digits(number):
    assert parse(ContactPath, {"wa_id": number}).wa_id == number.strip().lstrip("+")


@pytest.mark.parametrize("number", ["1234", "1" * 21, "91-9937320320", "abc", "++919937320320", "९१९९३७३२०३२०",
                                    "919937320320\n1", "＋919937320320"])
def test_anything_else_is_not_a_phone_number(number):
    assert refused(ContactPath, {"wa_id": number}) == {"wa_id": WA_ID_PROBLEM}


def test_the_webhook_parser_keeps_the_same_number_rule():
    """The parser and the models share webapp.whatsapp.numbers: what one stores, the other opens."""
    for number in ["12345", "1" * 20, "+919937320320"]:
        assert is_wa_id(number) and parse(ContactPath, {"wa_id": number})
    for number in ["1234", "1" * 21, "91-99373"]:
        assert not is_wa_id(number)
        refused(ContactPath, {"wa_id": number})


@pytest.mark.parametrize(("source", "expected"), [({}, 50), ({"limit": ""}, 50), ({"limit": "7"}, 7),
                                                  ({"limit": 7}, 7), ({"limit": "200"}, 200)])
def test_a_whole_number_is_read_with_a_default(source, expected):
    assert parse(ProbeLimit, source).limit == expected


@pytest.mark.parametrize(("raw_value", "problem"), [
    ("0", "must be between 1 and 200"), ("201", "must be between 1 and 200"), ("-1", "must be between 1 and 200"),
    ("1.5", "must be a whole number"), ("1_0", "must be a whole number"), ("x", "must be a whole number"),
    (True, "must be a whole number"), ("9" * 40, "must be a whole number"), ("٣", "must be a whole number"),
])
def test_a_whole_number_refuses_naming_the_problem(raw_value, problem):
    assert refused(ProbeLimit, {"limit": raw_value}) == {"limit": problem}


def test_a_model_names_every_bad_field_at_once(app):
    with app.app_context():  # messageBody's bound is a setting
        errors = refused(SendMessage, {"waId": "abc", "messageBody": "", "to": 5})
    assert errors == {"waId": WA_ID_PROBLEM, "messageBody": "must not be empty", "to": "must be a string"}


def test_a_strict_model_refuses_unknown_and_repeated_names(app):
    errors = refused(ConversationsQuery, MultiDict([("limt", "5"), ("q", "a"), ("q", "b")]))
    assert errors == {"limt": "is not a known parameter", "q": "must be given once"}
    with app.app_context():
        assert refused(SendMessage, {"waId": RAVI, "messageBody": "hi", "status": "read"}) == {
            "status": "is not a known field"}
        # Only the published names: not the Python ones behind them.
        assert refused(SendMessage, {"wa_id": RAVI, "message_body": "hi"}) == {
            "wa_id": "is not a known field", "message_body": "is not a known field", "waId": "is required",
            "messageBody": "is required"}


def test_a_lenient_model_ignores_unknown_names():
    query = parse(SearchQuery, MultiDict([("q", "ravi"), ("_", "123"), ("utm_source", "x")]))
    assert (query.q, query.before) == ("ravi", None)


def test_a_field_describes_itself_as_json_schema():
    assert ContactPath.model_json_schema()["properties"]["wa_id"] == {
        "type": "string", "maxLength": 21, "minLength": 1, "pattern": r"^(?:\+?[0-9]{5,20})$",
        "description": "The contact's WhatsApp number: 5 to 20 digits, optionally after a +.", "examples": [RAVI]}
    limit = ConversationsQuery.model_json_schema()["properties"]["limit"]
    assert limit == {"type": "integer", "minimum": 1, "maximum": 200, "default": 50,
                     "description": "How many conversations, most recent first."}
    described = SendMessage.model_json_schema()
    assert described["required"] == ["waId", "messageBody"] and described["additionalProperties"] is False
    assert ProbeSearch.model_json_schema()["properties"]["q"]["maxLength"] == 4096


def test_the_described_patterns_agree_with_the_checks():
    """The JSON Schema patterns (what clients read) accept what the checks accept, and refuse the rest."""
    import re

    required = ProbeText.model_json_schema()["properties"]["name"]["pattern"]
    optional = ProbeSearch.model_json_schema()["properties"]["q"]["pattern"]
    for sample in ["hi", "  Line\n\ttwo", "é", "\u00a0x"]:
        assert parse(ProbeText, {"name": sample}) and re.search(required, sample), sample
    for sample in ["a\x00b", "a\x7fb", "\x9f", " \n\t "]:
        refused(ProbeText, {"name": sample})
        assert not re.search(required, sample), sample
    assert re.search(optional, "") and not re.search(optional, "\x01")


def test_storable_names_every_unsafe_key_and_broken_string_with_its_path():
    found = problems({"a": {"$gt": 1, "ok": [{"b.c": 1}, "\udc00"]}, "$where": "x", "fine": "text"})
    assert found == {
        "$where": "is not allowed: a key may not start with $ or contain .",
        "a.$gt": "is not allowed: a key may not start with $ or contain .",
        "a.ok[0].b.c": "is not allowed: a key may not start with $ or contain .",
        "a.ok[1]": "is not valid Unicode text (it holds a lone surrogate)",
    }
    assert problems({"deep": json.loads("[" * 500 + "]" * 500)}) == {}


# --- operator injection in the JSON API --------------------------------------------------------------------


def send(client: FlaskClient, body: Any):
    return client.post("/api/messages", data=json.dumps(body), content_type="application/json")


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"waId": {"$gt": ""}, "messageBody": "hi"}, {"waId", "waId.$gt"}),
        ({"waId": {"$ne": None}, "messageBody": {"$regex": ".*"}}, {"waId", "waId.$ne", "messageBody",
                                                                    "messageBody.$regex"}),
        ({"$where": "sleep(1000)", "waId": RAVI, "messageBody": "hi"}, {"$where"}),
        ({"a.b": 1, "waId": RAVI, "messageBody": "hi"}, {"a.b"}),
        ({"waId": RAVI, "messageBody": "hi", "to": [{"$gt": ""}]}, {"to", "to[0].$gt"}),
        ({"waId": RAVI, "messageBody": "hi", "extra": {"nested": {"$set": {"unreadCount": 0}}}},
         {"extra", "extra.nested.$set"}),
        ({"waId": RAVI, "messageBody": "hi", "$": 1}, {"$"}),
        ({"waId": RAVI, "messageBody": "hi", "status": "read"}, {"status"}),
    ],
)
def test_operator_injection_in_a_body_is_refused_naming_each_key(client, body, named):
    error = assert_error(send(client, body), 400)
    assert set(error["errors"]) == named, error
    for key in named:
        assert key in error["message"]
    assert nothing_stored()


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("/api/conversations?q[$ne]=x", "q[$ne]"),
        ("/api/conversations?q[$regex]=.*&limit=5", "q[$regex]"),
        ("/api/conversations?limit[$gt]=0", "limit[$gt]"),
        ("/api/conversations?$where=1", "$where"),
        (f"/api/messages/{RAVI}?before[$gt]=", "before[$gt]"),
        (f"/api/messages/{RAVI}?phone_number_id[$ne]=1", "phone_number_id[$ne]"),
        ("/api/conversations?limt=5", "limt"),
        (f"/api/conversations/{RAVI}/read?wa_id[$ne]=1", "wa_id[$ne]"),
    ],
)
def test_operator_injection_in_a_query_string_is_refused_naming_the_parameter(client, url, named):
    client.post("/webhook", data=raw(inbound(text("hi", timestamp=T0))), content_type="application/json")
    before = Conversation.objects.get().unread_count
    error = assert_error(client.post(url) if url.endswith("/read") or "/read?" in url else client.get(url), 400)
    assert error["errors"] == {named: "is not a known parameter"}
    assert named in error["message"]
    assert Conversation.objects.get().unread_count == before == 1
    assert Message.objects.count() == 1


def test_a_repeated_parameter_is_refused(client):
    error = assert_error(client.get("/api/conversations?limit=1&limit=200"), 400)
    assert error["errors"] == {"limit": "must be given once"}


@pytest.mark.parametrize("q", ["a\x00b", "\x00", "x\x1by"])
def test_control_characters_in_a_search_are_refused_not_a_server_error(client, q):
    error = assert_error(client.get("/api/conversations", query_string={"q": q}), 400)
    assert error["errors"] == {"q": "must not contain control characters"}


@pytest.mark.parametrize(("body", "field", "problem"), [
    ('{"waId": "919937320320", "messageBody": "\\ud800"}', "messageBody", "is not valid Unicode text"),
    ('{"waId": "919937320320", "messageBody": "a\\u0000b"}', "messageBody", "must not contain control characters"),
    ('{"waId": "919937320320", "messageBody": "hi", "\\udfff": 1}', "\\udfff", "is not valid Unicode text"),
])
def test_text_that_cannot_be_stored_is_refused_naming_the_field(client, body, field, problem):
    error = assert_error(client.post("/api/messages", data=body, content_type="application/json"), 400)
    assert field in error["errors"] and error["errors"][field].startswith(problem), error
    assert nothing_stored()


def test_a_body_nested_too_deeply_is_a_400_not_a_server_error(client):
    deep = "[" * 100_000 + "]" * 100_000
    error = assert_error(client.post("/api/messages", data=deep, content_type="application/json"), 400)
    assert "nested too deeply" in error["message"]
    error = assert_error(client.post("/webhook", data=deep, content_type="application/json"), 400)
    assert "nested too deeply" in error["message"]
    assert nothing_stored()


@pytest.mark.parametrize("path", ["/api/messages", "/webhook"])
def test_an_oversized_body_is_a_413_envelope_and_nothing_is_stored(make_app, path):
    client = make_app(MAX_CONTENT_LENGTH=2048).test_client()
    body = {"waId": RAVI, "messageBody": "x" * 4000} if path == "/api/messages" else \
        inbound(text("x" * 4000, timestamp=T0))
    error = assert_error(client.post(path, data=json.dumps(body), content_type="application/json"), 413)
    assert "2048 bytes" in error["message"]
    assert nothing_stored()


def test_message_text_is_capped_by_the_setting(make_app):
    client = make_app(MESSAGE_MAX_LENGTH=20).test_client()
    error = assert_error(send(client, {"waId": RAVI, "messageBody": "x" * 21}), 400)
    assert error["errors"] == {"messageBody": "must be at most 20 characters"}
    assert send(client, {"waId": RAVI, "messageBody": "x" * 20}).status_code == 201
    spec = client.get("/openapi.json").get_json()
    assert spec["components"]["schemas"]["SendMessage"]["properties"]["messageBody"]["maxLength"] == 20


# --- every schema error names its field -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_args", "field"),
    [
        (("get", "/api/conversations?limit=0"), "limit"),
        (("get", "/api/conversations?limit=abc"), "limit"),
        (("get", "/api/conversations?q=" + "x" * 101), "q"),
        (("get", "/api/conversations?before=12"), "before"),
        (("get", f"/api/messages/{RAVI}?limit=201"), "limit"),
        (("get", f"/api/messages/{RAVI}?before=" + "x" * 257), "before"),
        (("get", f"/api/messages/{RAVI}?phone_number_id=abc"), "phone_number_id"),
        (("get", "/api/messages/abc"), "wa_id"),
        (("post", "/api/conversations/12/read"), "wa_id"),
        (("get", "/webhook?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=" + "1" * 257),
         "hub.challenge"),
        (("get", "/webhook?hub.mode=" + "s" * 33), "hub.mode"),
        (("get", "/ui/conversations?q=a%00"), "q"),
        (("get", "/ui/conversations?before=abc"), "before"),
    ],
)
def test_every_schema_error_names_its_field(client, request_args, field):
    method, url = request_args
    response = getattr(client, method)(url, headers={"HX-Request": "true"})
    assert response.status_code == 400, response.data
    if response.mimetype == "application/json":
        body = response.get_json()
        assert field in body["errors"] and f"check {field}." in body["message"], body
    else:  # a page's HTMX partial: its notice says it
        assert f"check {field}." in response.get_data(as_text=True)


def test_the_webhook_handshake_ignores_unknown_parameters(client):
    response = client.get("/webhook?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=42&extra[$ne]=1")
    assert response.status_code == 200 and response.get_data(as_text=True) == "42"


def test_the_inbox_page_survives_a_search_it_cannot_run(client):
    response = client.get("/?q=a%00b")
    assert response.status_code == 200
    assert b"a\x00b" not in response.data


def test_the_composer_refuses_control_characters_naming_them(client):
    client.post("/webhook", data=raw(inbound(text("hi", timestamp=T0))), content_type="application/json")
    response = client.post(f"/c/{RAVI}/messages", data={"body": "hi\x00"}, headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert "The message must not contain control characters." in response.get_data(as_text=True)
    assert Message.objects.count() == 1


# --- the webhook: raw JSON stored raw, typed before it reaches a query -----------------------------------------


@pytest.mark.parametrize(
    ("msg", "path"),
    [
        (message("text", {"body": "x", "$where": "1"}), "entry[0].changes[0].value.messages[0].text.$where"),
        (message("text", {"body": "x", "a.b": 1}), "entry[0].changes[0].value.messages[0].text.a.b"),
        (message("text", {"body": "x"}, context={"id": "wamid.X", "$gt": 1}),
         "entry[0].changes[0].value.messages[0].context.$gt"),
        ({**message("text", {"body": "x"}), "errors": [{"code": 1, "$set": {}}]},
         "entry[0].changes[0].value.messages[0].errors[0].$set"),
        (message("image", {"id": "M1", "nested": [{"deeper": {"$inc": 1}}]}),
         "entry[0].changes[0].value.messages[0].image.nested[0].deeper.$inc"),
    ],
)
def test_a_webhook_part_that_would_be_stored_with_an_operator_key_is_refused(client, msg, path):
    error = assert_error(post_webhook(client, inbound(msg)), 400)
    assert error["errors"] == {path: "is not allowed: a key may not start with $ or contain ."}
    assert nothing_stored()


def test_a_status_error_with_an_operator_key_is_refused(client):
    body = statuses(status("wamid.S", "failed", errors=[{"code": {"$gt": 1}, "title": "x"}]))
    error = assert_error(post_webhook(client, body), 400)
    assert error["errors"] == {"entry[0].changes[0].value.statuses[0].errors[0].code.$gt":
                               "is not allowed: a key may not start with $ or contain ."}
    assert nothing_stored()


def test_operator_objects_where_the_webhook_wants_strings_are_refused(client):
    msg = {"from": {"$gt": ""}, "id": {"$ne": None}, "timestamp": {"$gt": 0}, "type": {"$exists": True}}
    body = meta_body(value(messages=[msg], contacts=[(RAVI, "Ravi")],
                           statuses=[{"id": {"$gt": ""}, "status": "read", "timestamp": str(T0)}]))
    error = assert_error(post_webhook(client, body), 400)
    base = "entry[0].changes[0].value"
    assert set(error["errors"]) == {f"{base}.messages[0].id", f"{base}.messages[0].from",
                                    f"{base}.messages[0].timestamp", f"{base}.messages[0].type",
                                    f"{base}.statuses[0].id"}
    assert nothing_stored()


def test_unicode_that_cannot_be_stored_is_refused_before_anything_is(client):
    body = json.dumps(inbound(text("PLACEHOLDER", timestamp=T0))).replace("PLACEHOLDER", "\\ud83d")
    error = assert_error(post_webhook(client, body), 400)
    assert error["errors"] == {"entry[0].changes[0].value.messages[0].text.body":
                               "is not valid Unicode text (it holds a lone surrogate)"}
    assert nothing_stored()
    # a surrogate pair is text like any other
    body = json.dumps(inbound(text("PLACEHOLDER", timestamp=T0))).replace("PLACEHOLDER", "\\ud83d\\ude00")
    assert post_webhook(client, body).status_code == 200
    assert Message.objects.get().content == {"body": "😀"}


def test_parsed_webhook_values_are_typed_strings():
    """Every value the write path puts in a query filter is a string (or a datetime), whatever JSON sent."""
    from webapp.whatsapp.events import Business, MessageEvent, StatusEvent
    from webapp.whatsapp.parse import parse_webhook

    msg = {"from": 919937320320, "id": 12345, "timestamp": T0, "type": "text", "text": {"body": "hi"},
           "context": {"id": "wamid.Q"}}
    body = meta_body(value(messages=[msg], statuses=[{"id": 678, "status": "read", "timestamp": T0,
                                                      "recipient_id": 919937320320}],
                           contacts=[(RAVI, "Ravi")]))
    batch = parse_webhook(body, Business("1", BUSINESS_NUMBER))
    message_event, status_event = batch.events
    assert isinstance(message_event, MessageEvent) and isinstance(status_event, StatusEvent)
    for text_value in (message_event.wamid, message_event.sender, message_event.contact_wa_id,
                       message_event.recipient, message_event.type, message_event.conversation_id,
                       status_event.wamid, status_event.status):
        assert type(text_value) is str
    assert (message_event.wamid, message_event.sender, status_event.wamid) == ("12345", RAVI, "678")


def test_a_message_type_named_like_a_field_does_not_overwrite_it(client):
    msgs = [{**message("status", {"a": 1}, timestamp=T0), "id": "wamid.T1"},
            {**message("timestamp", None, timestamp=T0 + 1), "id": "wamid.T2"},
            {**message("errors", {"x": 1}, timestamp=T0 + 2), "id": "wamid.T3"}]
    assert post_webhook(client, inbound(*msgs)).status_code == 200
    items = {m["id"]: m for m in client.get(f"/api/messages/{RAVI}").get_json()["data"]}
    assert items["wamid.T1"]["status"] is None and items["wamid.T1"]["content"] == {"a": 1}
    assert items["wamid.T2"]["timestamp"] == "2025-08-05T13:20:01Z" and items["wamid.T2"]["content"] == str(T0 + 1)
    assert items["wamid.T3"]["content"] == {"x": 1} and "errors" not in items["wamid.T3"]


def test_a_failure_with_odd_error_fields_is_shown_typed(client):
    webhook_body = inbound({**message("text", {"body": "hi"}, timestamp=T0), "id": "wamid.F", "from": BUSINESS_NUMBER,
                            "to": RAVI})
    assert post_webhook(client, webhook_body).status_code == 200
    odd = {**failure(), "code": {"nested": True}, "title": 42, "error_data": {"details": ["a"]}, "message": None}
    failed = statuses(status("wamid.F", "failed", timestamp=T0 + 5, errors=[odd]))
    assert post_webhook(client, failed).status_code == 200
    item = client.get(f"/api/messages/{RAVI}").get_json()["data"][0]
    assert item["status"] == "failed"
    assert item["error"] == {"code": None, "title": "Message failed to send", "details": None}


def test_a_delivery_the_database_refuses_is_stored_as_failed_not_a_server_error(client, monkeypatch):
    """An event the database will not take (whatever the reason) is a failed event of a stored delivery,
    kept for replay, not a 500 that WhatsApp would send again for ever."""
    from pymongo.errors import WriteError

    import webapp.inbox.writes

    def refuse(event: Any, report: Any) -> None:
        raise WriteError("invalid value (nested arrays are not supported)", 2)

    monkeypatch.setattr(webapp.inbox.writes, "_apply", refuse)
    response = post_webhook(client, inbound(text("hi", timestamp=T0)))
    assert response.status_code == 200, response.get_json()
    data = response.get_json()["data"]
    assert data["outcome"] == "failed" and "nested arrays" in data["failures"][0]["error"]
    assert WebhookEvent.objects.get().outcome == "failed"


def test_nested_arrays_in_content_are_refused_up_front(client):
    """FerretDB refuses an array directly inside an array: refused before anything is stored, never after."""
    body = inbound(message("order", {"product_items": [[1, 2], [3]]}, timestamp=T0))
    error = assert_error(post_webhook(client, body), 400)
    where = "entry[0].changes[0].value.messages[0].order.product_items[0]"
    assert "array directly inside an array" in error["errors"][where]
    assert WebhookEvent.objects.count() == 0
