"""The fake Graph API (tests/helpers/graph_api.py) speaks Meta's protocol: each test is what a client sees over HTTP."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from devdb.launcher import free_port, port_open, stop_process
from tests.helpers.graph_api import PHONE_NUMBER_ID, TOKEN, WABA_ID, GraphAPI, QuietHandler, status_error

ROOT = Path(__file__).resolve().parent.parent.parent
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CUSTOMER = "16315551234"
SECRET = "app-secret"


class WebhookReceiver:
    """The app's side of the webhooks: records each POST (raw body and headers) and answers `status`."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/webhook"
        self.status = 200
        self.received: list[tuple[bytes, dict[str, str]]] = []
        self.arrived = threading.Condition()
        self._server = make_server("127.0.0.1", self.port, self.wsgi, threaded=True, request_handler=QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self.arrived:
            self.received.append((request.get_data(), dict(request.headers)))
            self.arrived.notify_all()
        return Response("", self.status)(environ, start_response)

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(raw) for raw, _ in self.received]

    def statuses(self) -> list[tuple[str, str]]:
        return [(s["id"], s["status"]) for body in self.bodies()
                for entry in body["entry"] for change in entry["changes"] for s in change["value"].get("statuses", [])]

    def wait(self, count: int, timeout: float = 5.0) -> None:
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.received) >= count, timeout):
                raise AssertionError(f"expected {count} webhooks, got {len(self.received)}")


@pytest.fixture
def receiver(graph_api: GraphAPI) -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver().start()
    graph_api.webhook_url = receiver.url
    graph_api.app_secret = SECRET
    yield receiver
    receiver.stop()


def send(server: GraphAPI, body: dict[str, Any], **kwargs: Any) -> requests.Response:
    headers, timeout = kwargs.pop("headers", AUTH), kwargs.pop("timeout", 5)
    return requests.post(server.api_url(f"{PHONE_NUMBER_ID}/messages"), json=body, headers=headers, timeout=timeout)


def message(kind: str, content: Any, **extra: Any) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": CUSTOMER, "type": kind,
            kind: content, **extra}


def upload(server: GraphAPI, data: bytes = b"\xff\xd8jpeg", mime: str = "image/jpeg") -> requests.Response:
    return requests.post(server.api_url(f"{PHONE_NUMBER_ID}/media"), headers=AUTH, timeout=5,
                         files={"file": ("photo.jpg", data, mime)},
                         data={"type": mime, "messaging_product": "whatsapp"})


def error_of(response: requests.Response) -> dict[str, Any]:
    error = response.json()["error"]
    assert set(error) >= {"message", "type", "code", "fbtrace_id"}
    return error


# --- send ---

def test_text_send_answers_metas_shape_and_is_recorded_exactly(graph_api: GraphAPI) -> None:
    body = message("text", {"body": "Hello", "preview_url": False}, context={"message_id": "wamid.quoted"})
    response = requests.post(graph_api.api_url(f"{PHONE_NUMBER_ID}/messages", version="v26.0"), json=body,
                             headers=AUTH, timeout=5)

    assert response.status_code == 200
    answer = response.json()
    assert answer["messaging_product"] == "whatsapp"
    assert answer["contacts"] == [{"input": CUSTOMER, "wa_id": CUSTOMER}]
    (sent_id,) = [m["id"] for m in answer["messages"]]
    assert sent_id.startswith("wamid.")
    (sent,) = graph_api.sent_messages()
    assert (sent.wamid, sent.to, sent.type, sent.body, sent.version) == (sent_id, CUSTOMER, "text", body, "v26.0")
    assert graph_api.versions_used() == {"v26.0"}


def test_each_send_gets_its_own_wamid(graph_api: GraphAPI) -> None:
    ids = {send(graph_api, message("text", {"body": f"n{i}"})).json()["messages"][0]["id"] for i in range(3)}
    assert len(ids) == 3


def test_template_send_is_accepted_with_message_status(graph_api: GraphAPI) -> None:
    graph_api.add_template("order_update", "Your order {{1}} has shipped on {{2}}")
    template = {"name": "order_update", "language": {"code": "en_US"}, "components": [
        {"type": "body", "parameters": [{"type": "text", "text": "4521"}, {"type": "text", "text": "Monday"}]}]}

    response = send(graph_api, message("template", template))

    assert response.status_code == 200
    assert response.json()["messages"][0]["message_status"] == "accepted"


@pytest.mark.parametrize(("template", "status", "code"), [
    ({"name": "nope", "language": {"code": "en_US"}}, 404, 132001),
    ({"name": "order_update", "language": {"code": "fr"}}, 404, 132001),
    ({"name": "order_update", "language": {"code": "en_US"}}, 400, 132000),
    ({"name": "order_update", "language": {"code": "en_US"},
      "components": [{"type": "body", "parameters": [{"type": "text", "text": "1"}, {"type": "text", "text": "2"}]}]},
     400, 132000),
    ({"name": "paused_one", "language": {"code": "en_US"}}, 400, 132015),
    ({"name": "pending_one", "language": {"code": "en_US"}}, 404, 132001),
])
def test_template_sends_are_checked_against_the_accounts_templates(
        graph_api: GraphAPI, template: dict[str, Any], status: int, code: int) -> None:
    graph_api.add_template("order_update", "Your order {{1}} has shipped")
    graph_api.add_template("paused_one", "Hi", status="PAUSED")
    graph_api.add_template("pending_one", "Hi", status="PENDING")

    response = send(graph_api, message("template", template))

    assert (response.status_code, error_of(response)["code"]) == (status, code)
    assert graph_api.sent_messages() == []


@pytest.fixture
def media_id(graph_api: GraphAPI) -> str:
    return graph_api.add_inbound_media(b"bytes", "image/jpeg")


VALID_BODIES: dict[str, dict[str, Any]] = {
    "text without type": {"messaging_product": "whatsapp", "to": CUSTOMER, "text": {"body": "hi"}},
    "to with plus": {"messaging_product": "whatsapp", "to": "+" + CUSTOMER, "type": "text", "text": {"body": "hi"}},
    "image by id": message("image", {"id": "MEDIA", "caption": "look"}),
    "video by link": message("video", {"link": "https://example.com/v.mp4", "caption": "watch"}),
    "audio by id": message("audio", {"id": "MEDIA"}),
    "sticker by id": message("sticker", {"id": "MEDIA"}),
    "document": message("document", {"link": "https://example.com/a.pdf", "filename": "a.pdf", "caption": "inv"}),
    "reaction": message("reaction", {"message_id": "wamid.x", "emoji": "👍"}),
    "reaction removed": message("reaction", {"message_id": "wamid.x", "emoji": ""}),
    "location": message("location", {"latitude": 52.5, "longitude": 13.4, "name": "Office", "address": "Main St 1"}),
    "contacts": message("contacts", [{"name": {"formatted_name": "Kerry Fisher"}, "phones": [{"phone": "+1 631"}]}]),
    "buttons": message("interactive", {"type": "button", "body": {"text": "Pick"}, "action": {"buttons": [
        {"type": "reply", "reply": {"id": "yes", "title": "Yes"}}]}}),
    "list": message("interactive", {"type": "list", "body": {"text": "Pick"}, "action": {
        "button": "Options", "sections": [{"title": "A", "rows": [{"id": "1", "title": "One"}]}]}}),
}


@pytest.mark.parametrize("name", VALID_BODIES)
def test_every_documented_message_type_is_accepted(graph_api: GraphAPI, media_id: str, name: str) -> None:
    body = json.loads(json.dumps(VALID_BODIES[name]).replace('"MEDIA"', json.dumps(media_id)))
    response = send(graph_api, body)
    assert response.status_code == 200, response.text
    assert graph_api.sent_messages()[0].body == body


TEXT = {"messaging_product": "whatsapp", "to": CUSTOMER, "type": "text", "text": {"body": "hi"}}
INVALID_BODIES: list[tuple[str, dict[str, Any], int, str]] = [
    ("no messaging_product", {k: v for k, v in TEXT.items() if k != "messaging_product"}, 100, "messaging_product"),
    ("other product", {**TEXT, "messaging_product": "sms"}, 100, "messaging_product"),
    ("group recipient", {**TEXT, "recipient_type": "group"}, 131009, "recipient_type"),
    ("no to", {k: v for k, v in TEXT.items() if k != "to"}, 100, "to"),
    ("to not digits", {**TEXT, "to": "kerry"}, 131009, "to"),
    ("unknown type", {**TEXT, "type": "poll"}, 131009, "type"),
    ("type object missing", {**TEXT, "type": "image"}, 100, "image"),
    ("empty body", {**TEXT, "text": {"body": ""}}, 100, "text['body']"),
    ("body too long", {**TEXT, "text": {"body": "x" * 4097}}, 131009, "4096"),
    ("stray key", {**TEXT, "image": {"id": "1"}}, 100, "image"),
    ("preview_url not bool", {**TEXT, "text": {"body": "x", "preview_url": "yes"}}, 131009, "preview_url"),
    ("context without id", {**TEXT, "context": {}}, 100, "context['message_id']"),
    ("id and link", message("image", {"id": "1", "link": "https://e.com/a.jpg"}), 100, "exactly one of id or link"),
    ("neither id nor link", message("image", {"caption": "c"}), 100, "id"),
    ("unknown media id", message("image", {"id": "999"}), 131009, "999"),
    ("link not a URL", message("video", {"link": "file:///etc/passwd"}), 131009, "link"),
    ("caption on audio", message("audio", {"link": "https://e.com/a.ogg", "caption": "c"}), 100, "caption"),
    ("filename on image", message("image", {"link": "https://e.com/a.jpg", "filename": "a"}), 100, "filename"),
    ("caption too long", message("image", {"link": "https://e.com/a.jpg", "caption": "c" * 1025}), 131009, "1024"),
    ("reaction without emoji", message("reaction", {"message_id": "wamid.x"}), 100, "emoji"),
    ("reaction without message", message("reaction", {"emoji": "👍"}), 100, "message_id"),
    ("latitude out of range", message("location", {"latitude": 91, "longitude": 0}), 131009, "latitude"),
    ("no contacts", message("contacts", []), 131009, "contacts"),
    ("contact without name", message("contacts", [{"phones": []}]), 100, "name"),
    ("four buttons", message("interactive", {"type": "button", "body": {"text": "x"}, "action": {
        "buttons": [{"type": "reply", "reply": {"id": str(i), "title": "t"}} for i in range(4)]}}), 131009, "buttons"),
    ("interactive without body", message("interactive", {"type": "button", "action": {"buttons": []}}), 100, "body"),
    ("template without language", message("template", {"name": "t"}), 100, "language"),
    ("template without code", message("template", {"name": "t", "language": {}}), 100, "code"),
    ("template bad component", message("template", {"name": "t", "language": {"code": "en"},
                                                    "components": [{"type": "footer"}]}), 131009, "type"),
]


@pytest.mark.parametrize(("name", "body", "code", "named"), INVALID_BODIES, ids=[case[0] for case in INVALID_BODIES])
def test_malformed_sends_get_metas_400_naming_the_problem(
        graph_api: GraphAPI, name: str, body: dict[str, Any], code: int, named: str) -> None:
    response = send(graph_api, body)

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == code
    assert error["type"] == "OAuthException"
    assert named in error["error_data"]["details"] or named in error["message"]
    assert graph_api.sent_messages() == []


def test_a_body_that_is_not_json_is_refused(graph_api: GraphAPI) -> None:
    response = requests.post(graph_api.api_url(f"{PHONE_NUMBER_ID}/messages"), data="to=1", headers=AUTH, timeout=5)
    assert (response.status_code, error_of(response)["code"]) == (400, 100)


# --- mark read ---

def test_mark_read_with_typing_indicator(graph_api: GraphAPI) -> None:
    wamid = graph_api.add_inbound_message()
    body = {"messaging_product": "whatsapp", "status": "read", "message_id": wamid,
            "typing_indicator": {"type": "text"}}

    response = send(graph_api, body)

    assert (response.status_code, response.json()) == (200, {"success": True})
    assert graph_api.read_receipts() == [body]
    assert graph_api.requests_to("mark_read")[0].json == body
    assert graph_api.sent_messages() == []


@pytest.mark.parametrize(("change", "code"), [
    ({"message_id": "wamid.unknown"}, 131009),
    ({"typing_indicator": {"type": "audio"}}, 131009),
    ({"status": "delivered"}, 131009),
    ({"messaging_product": None}, 100),
])
def test_mark_read_refuses_unknown_messages_and_bad_bodies(graph_api: GraphAPI, change: dict[str, Any],
                                                           code: int) -> None:
    body = {"messaging_product": "whatsapp", "status": "read", "message_id": graph_api.add_inbound_message(), **change}
    response = send(graph_api, {k: v for k, v in body.items() if v is not None})
    assert (response.status_code, error_of(response)["code"]) == (400, code)
    assert graph_api.read_receipts() == []


# --- media ---

def test_upload_retrieve_and_download_round_trip(graph_api: GraphAPI) -> None:
    data = b"\xff\xd8\xff\xe0 a jpeg"
    uploaded = upload(graph_api, data)
    assert uploaded.status_code == 200
    media_id = uploaded.json()["id"]
    assert set(uploaded.json()) == {"id"}

    info = requests.get(graph_api.api_url(media_id), headers=AUTH, timeout=5).json()
    assert info == {"messaging_product": "whatsapp", "url": info["url"], "mime_type": "image/jpeg",
                    "sha256": hashlib.sha256(data).hexdigest(), "file_size": len(data), "id": media_id}

    download = requests.get(info["url"], headers=AUTH, timeout=5)
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "image/jpeg"
    assert download.content == data

    (recorded,) = graph_api.requests_to("upload")
    assert recorded.form == {"type": "image/jpeg", "messaging_product": "whatsapp"}
    assert (recorded.files["file"].filename, recorded.files["file"].data) == ("photo.jpg", data)
    assert graph_api.uploaded_media()[0].data == data


def test_uploaded_media_can_be_sent_by_id(graph_api: GraphAPI) -> None:
    media_id = upload(graph_api).json()["id"]
    assert send(graph_api, message("image", {"id": media_id})).status_code == 200


def test_download_needs_the_bearer_token(graph_api: GraphAPI, media_id: str) -> None:
    url = requests.get(graph_api.api_url(media_id), headers=AUTH, timeout=5).json()["url"]
    response = requests.get(url, timeout=5)
    assert (response.status_code, error_of(response)["code"]) == (401, 190)


def test_media_urls_expire_and_a_fresh_one_works(graph_api: GraphAPI, media_id: str) -> None:
    url = requests.get(graph_api.api_url(media_id), headers=AUTH, timeout=5).json()["url"]
    graph_api.expire_media_urls()

    expired = requests.get(url, headers=AUTH, timeout=5)
    assert expired.status_code == 404
    assert "expired" in error_of(expired)["message"]

    fresh = requests.get(graph_api.api_url(media_id), headers=AUTH, timeout=5).json()["url"]
    assert requests.get(fresh, headers=AUTH, timeout=5).content == b"bytes"


def test_a_zero_ttl_hands_out_urls_that_are_already_expired(graph_api: GraphAPI, media_id: str) -> None:
    graph_api.media_url_ttl = 0
    url = requests.get(graph_api.api_url(media_id), headers=AUTH, timeout=5).json()["url"]
    assert requests.get(url, headers=AUTH, timeout=5).status_code == 404


def test_a_forged_media_url_is_refused(graph_api: GraphAPI, media_id: str) -> None:
    url = requests.get(graph_api.api_url(media_id), headers=AUTH, timeout=5).json()["url"]
    assert requests.get(url.replace("hash=", "hash=x"), headers=AUTH, timeout=5).status_code == 404


def test_unknown_media_id_is_metas_unsupported_get(graph_api: GraphAPI) -> None:
    response = requests.get(graph_api.api_url("1234567890"), headers=AUTH, timeout=5)
    error = error_of(response)
    assert (response.status_code, error["code"], error["error_subcode"]) == (400, 100, 33)
    assert "1234567890" in error["message"]


@pytest.mark.parametrize(("data", "mime", "fields", "code"), [
    (b"x", "image/gif", {}, 131053),
    (b"", "image/jpeg", {}, 131053),
    (b"x" * (5 * 1024 * 1024 + 1), "image/jpeg", {}, 131053),
    (b"x", "image/jpeg", {"messaging_product": None}, 100),
    (b"x", "image/jpeg", {"type": None}, 100),
])
def test_bad_uploads_are_refused(graph_api: GraphAPI, data: bytes, mime: str, fields: dict[str, Any],
                                 code: int) -> None:
    form = {k: v for k, v in {"type": mime, "messaging_product": "whatsapp", **fields}.items() if v is not None}
    response = requests.post(graph_api.api_url(f"{PHONE_NUMBER_ID}/media"), headers=AUTH, timeout=10,
                             files={"file": ("f", data, mime)}, data=form)
    assert (response.status_code, error_of(response)["code"]) == (400, code)
    assert graph_api.uploaded_media() == []


def test_an_upload_without_a_file_is_refused(graph_api: GraphAPI) -> None:
    response = requests.post(graph_api.api_url(f"{PHONE_NUMBER_ID}/media"), headers=AUTH, timeout=5,
                             data={"type": "image/jpeg", "messaging_product": "whatsapp"})
    assert (response.status_code, error_of(response)["code"]) == (400, 100)


# --- templates ---

def test_templates_list_filters_by_status_and_pages_with_cursors(graph_api: GraphAPI) -> None:
    for number in range(5):
        graph_api.add_template(f"approved_{number}", f"Body {number} {{{{1}}}}")
    graph_api.add_template("rejected", "No", status="REJECTED")
    url = graph_api.api_url(f"{WABA_ID}/message_templates")

    first = requests.get(url, params={"status": "APPROVED", "limit": 2}, headers=AUTH, timeout=5).json()
    assert [t["name"] for t in first["data"]] == ["approved_0", "approved_1"]
    assert first["data"][0] | {"id": "x"} == {"name": "approved_0", "language": "en_US", "status": "APPROVED",
                                              "category": "UTILITY", "parameter_format": "POSITIONAL", "id": "x",
                                              "components": [{"type": "BODY", "text": "Body 0 {{1}}"}]}
    assert set(first["paging"]["cursors"]) == {"before", "after"}
    assert "previous" not in first["paging"]

    second = requests.get(first["paging"]["next"], headers=AUTH, timeout=5).json()
    assert [t["name"] for t in second["data"]] == ["approved_2", "approved_3"]
    after = requests.get(url, params={"status": "APPROVED", "limit": 2, "after": second["paging"]["cursors"]["after"]},
                         headers=AUTH, timeout=5).json()
    assert [t["name"] for t in after["data"]] == ["approved_4"]
    assert "next" not in after["paging"]
    back = requests.get(after["paging"]["previous"], headers=AUTH, timeout=5).json()
    assert [t["name"] for t in back["data"]] == ["approved_2", "approved_3"]

    everything = requests.get(url, headers=AUTH, timeout=5).json()["data"]
    assert {t["status"] for t in everything} == {"APPROVED", "REJECTED"}


def test_templates_of_an_unknown_waba_and_bad_paging_are_errors(graph_api: GraphAPI) -> None:
    unknown = requests.get(graph_api.api_url("999/message_templates"), headers=AUTH, timeout=5)
    assert (unknown.status_code, error_of(unknown)["code"], error_of(unknown)["type"]) == (
        400, 100, "GraphMethodException")
    url = graph_api.api_url(f"{WABA_ID}/message_templates")
    for params in ({"limit": "0"}, {"after": "not a cursor!"}):
        response = requests.get(url, params=params, headers=AUTH, timeout=5)
        assert (response.status_code, error_of(response)["code"]) == (400, 100)


# --- auth and unknown objects ---

@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}])
def test_every_call_needs_the_bearer_token(graph_api: GraphAPI, headers: dict[str, str]) -> None:
    response = send(graph_api, message("text", {"body": "hi"}), headers=headers)
    error = error_of(response)
    assert (response.status_code, error["code"], error["type"]) == (401, 190, "OAuthException")
    templates = requests.get(graph_api.api_url(f"{WABA_ID}/message_templates"), headers=headers, timeout=5)
    assert templates.status_code == 401
    assert graph_api.sent_messages() == []


def test_a_revoked_token_fails_every_call_until_restored(graph_api: GraphAPI) -> None:
    graph_api.revoke_token()
    response = send(graph_api, message("text", {"body": "hi"}))
    error = error_of(response)
    assert (response.status_code, error["code"], error["error_subcode"]) == (401, 190, 460)
    assert upload(graph_api).status_code == 401

    graph_api.restore_token()
    assert send(graph_api, message("text", {"body": "hi"})).status_code == 200


def test_an_unknown_phone_number_id_is_metas_error_100(graph_api: GraphAPI) -> None:
    response = requests.post(graph_api.api_url("111/messages"), json=message("text", {"body": "x"}), headers=AUTH,
                             timeout=5)
    error = error_of(response)
    assert (response.status_code, error["code"], error["type"]) == (400, 100, "GraphMethodException")
    assert "'111'" in error["message"]


def test_a_path_without_a_version_is_refused(graph_api: GraphAPI) -> None:
    response = requests.post(f"{graph_api.url}/{PHONE_NUMBER_ID}/messages", json=message("text", {"body": "x"}),
                             headers=AUTH, timeout=5)
    assert (response.status_code, error_of(response)["code"]) == (400, 100)


# --- fault injection ---

@pytest.mark.parametrize(("status", "code"), [(429, 130429), (400, 131056), (400, 131047), (401, 190),
                                              (500, 131000), (503, None)])
def test_queued_errors_answer_once_then_the_route_works(graph_api: GraphAPI, status: int, code: int | None) -> None:
    graph_api.fail_next("send", status, code)

    failed = send(graph_api, message("text", {"body": "hi"}))
    assert (failed.status_code, error_of(failed)["code"]) == (status, code or 2)
    assert send(graph_api, message("text", {"body": "hi"})).status_code == 200
    assert len(graph_api.sent_messages()) == 1


def test_errors_can_repeat_and_only_hit_their_route(graph_api: GraphAPI) -> None:
    graph_api.fail_next("send", 429, 130429, times=2, details="slow down")

    assert upload(graph_api).status_code == 200
    first, second = (send(graph_api, message("text", {"body": "hi"})) for _ in range(2))
    assert [first.status_code, second.status_code] == [429, 429]
    assert error_of(first)["error_data"]["details"] == "slow down"
    assert error_of(first)["is_transient"] is True
    assert send(graph_api, message("text", {"body": "hi"})).status_code == 200


def test_a_wildcard_fault_hits_whatever_comes_next(graph_api: GraphAPI) -> None:
    graph_api.fail_next("*", 500, 131000)
    assert upload(graph_api).status_code == 500
    assert upload(graph_api).status_code == 200


def test_an_unknown_route_name_is_a_mistake(graph_api: GraphAPI) -> None:
    with pytest.raises(ValueError, match="unknown route"):
        graph_api.fail_next("messages", 500)


def test_a_delay_times_the_client_out_but_the_message_still_goes(graph_api: GraphAPI) -> None:
    graph_api.delay_next("send", 1.0)

    with pytest.raises(requests.Timeout):
        send(graph_api, message("text", {"body": "hi"}), timeout=0.3)
    (done,) = graph_api.wait_for(1, timeout=5)
    assert done.status == 200
    assert len(graph_api.sent_messages()) == 1


def test_a_dropped_connection_is_a_client_connection_error_and_sends_nothing(graph_api: GraphAPI) -> None:
    graph_api.drop_next("send")

    with pytest.raises(requests.ConnectionError):
        send(graph_api, message("text", {"body": "hi"}))
    assert graph_api.sent_messages() == []
    assert graph_api.wait_for(1)[0].response == "dropped"
    assert send(graph_api, message("text", {"body": "hi"})).status_code == 200


# --- the record ---

def test_every_request_is_recorded_with_headers_and_body(graph_api: GraphAPI) -> None:
    body = message("text", {"body": "hi"})
    send(graph_api, body, headers={**AUTH, "X-Custom": "1"})
    send(graph_api, {"bad": True})

    first, second = graph_api.requests_to("send")
    assert (first.method, first.path, first.version, first.json, first.status) == (
        "POST", f"/v23.0/{PHONE_NUMBER_ID}/messages", "v23.0", body, 200)
    assert first.headers["Authorization"] == f"Bearer {TOKEN}"
    assert first.headers["X-Custom"] == "1"
    assert first.response["messages"][0]["id"] == graph_api.sent_messages()[0].wamid
    assert (second.json, second.status) == ({"bad": True}, 400)


def test_wait_for_waits_for_late_requests_and_times_out_otherwise(graph_api: GraphAPI) -> None:
    timer = threading.Timer(0.3, send, (graph_api, message("text", {"body": "late"})))
    timer.start()
    try:
        assert len(graph_api.wait_for(1, timeout=5)) == 1
    finally:
        timer.join()
    with pytest.raises(AssertionError, match="expected 2 send"):
        graph_api.wait_for(2, timeout=0.2)


# --- status webhooks ---

def test_post_status_sends_metas_signed_webhook(graph_api: GraphAPI, receiver: WebhookReceiver) -> None:
    wamid = send(graph_api, message("text", {"body": "hi"})).json()["messages"][0]["id"]

    delivery = graph_api.post_status(wamid, "delivered")

    assert delivery.status == 200
    ((raw, headers),) = receiver.received
    expected = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    assert headers["X-Hub-Signature-256"] == expected
    assert headers["Content-Type"] == "application/json"
    body = json.loads(raw)
    assert body["object"] == "whatsapp_business_account"
    (entry,) = body["entry"]
    assert entry["id"] == WABA_ID
    (change,) = entry["changes"]
    assert change["field"] == "messages"
    value = change["value"]
    assert value["messaging_product"] == "whatsapp"
    assert value["metadata"] == {"display_phone_number": graph_api.display_phone_number,
                                 "phone_number_id": PHONE_NUMBER_ID}
    (status,) = value["statuses"]
    assert (status["id"], status["status"], status["recipient_id"]) == (wamid, "delivered", CUSTOMER)
    assert status["timestamp"].isdigit()


def test_a_failed_status_carries_its_errors(graph_api: GraphAPI, receiver: WebhookReceiver) -> None:
    graph_api.post_status("wamid.other", "failed", recipient=CUSTOMER, errors=[status_error(131047)])

    (status,) = receiver.bodies()[0]["entry"][0]["changes"][0]["value"]["statuses"]
    assert status["status"] == "failed"
    assert status["errors"] == [{"code": 131047, "title": "Re-engagement message", "message": "Re-engagement message",
                                 "error_data": {"details": "Re-engagement message"}}]
    assert "pricing" not in status


def test_sent_can_arrive_before_the_send_answer(graph_api: GraphAPI, receiver: WebhookReceiver) -> None:
    graph_api.auto_statuses(sent_before_response=True)

    wamid = send(graph_api, message("text", {"body": "hi"})).json()["messages"][0]["id"]

    assert receiver.statuses() == [(wamid, "sent")]  # already there when the answer came


def test_auto_statuses_follow_each_send(graph_api: GraphAPI, receiver: WebhookReceiver) -> None:
    graph_api.auto_statuses(delivered_after=0.2, read_after=0.4)

    wamid = send(graph_api, message("text", {"body": "hi"})).json()["messages"][0]["id"]
    receiver.wait(3)

    assert receiver.statuses() == [(wamid, "sent"), (wamid, "delivered"), (wamid, "read")]
    assert [d.status for d in graph_api.wait_for_deliveries(3)] == [200, 200, 200]


def test_reactions_only_get_sent(graph_api: GraphAPI, receiver: WebhookReceiver) -> None:
    graph_api.auto_statuses(delivered_after=0.05, read_after=0.1)

    wamid = send(graph_api, message("reaction", {"message_id": "wamid.x", "emoji": "👍"})).json()["messages"][0]["id"]
    receiver.wait(1)
    time.sleep(0.4)

    assert receiver.statuses() == [(wamid, "sent")]


def test_no_statuses_unless_asked(graph_api: GraphAPI, receiver: WebhookReceiver) -> None:
    send(graph_api, message("text", {"body": "hi"}))
    time.sleep(0.3)
    assert receiver.received == []


def test_a_refusing_or_absent_webhook_is_recorded_not_raised(graph_api: GraphAPI, receiver: WebhookReceiver) -> None:
    receiver.status = 403
    assert graph_api.post_status("wamid.a", "sent", recipient=CUSTOMER).status == 403

    graph_api.webhook_url = f"http://127.0.0.1:{free_port()}/webhook"
    delivery = graph_api.post_status("wamid.a", "sent", recipient=CUSTOMER)
    assert delivery.status is None
    assert delivery.error


def test_post_status_needs_a_webhook_url_and_a_recipient(graph_api: GraphAPI) -> None:
    with pytest.raises(RuntimeError, match="webhook_url"):
        graph_api.post_status("wamid.a", "sent", recipient=CUSTOMER)
    graph_api.webhook_url = "http://127.0.0.1:9/"
    with pytest.raises(KeyError, match="recipient"):
        graph_api.post_status("wamid.never-sent", "sent")


# --- standalone ---

def test_runs_standalone_for_demos(tmp_path: Path) -> None:
    port = free_port()
    log = open(tmp_path / "graph.log", "wb")  # noqa: SIM115 - handed to the process
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.helpers.graph_api", "--port", str(port), "--token", "T",
         "--phone-number-id", "42",
         "--waba-id", "7"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    try:
        deadline = time.monotonic() + 20
        while not port_open(port):
            assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "graph.log").read_text()
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}/v26.0"
        sent = requests.post(f"{base}/42/messages", json=message("text", {"body": "demo"}),
                             headers={"Authorization": "Bearer T"}, timeout=5)
        assert sent.status_code == 200
        templates = requests.get(f"{base}/7/message_templates", headers={"Authorization": "Bearer T"}, timeout=5)
        assert [t["name"] for t in templates.json()["data"]] == ["hello_world"]
    finally:
        stop_process(process)


def test_stop_frees_the_port() -> None:
    server = GraphAPI().start()
    assert port_open(server.port)
    server.stop()
    assert not port_open(server.port)
