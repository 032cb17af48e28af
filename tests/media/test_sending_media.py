"""Sending files (POST /api/messages/media): checked against WhatsApp's limits before anything is stored,
kept in the media storage (served at /media/<id> at once), uploaded to the local Graph API by the send
job, then sent by media id; an upload that fails is tried again, and an uploaded file is not uploaded twice."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers.graph_api import PHONE_NUMBER_ID, TOKEN, WABA_ID, GraphAPI
from tests.helpers.http import assert_error, status_becomes, webhook_ok
from tests.helpers.media import OGG, PDF, png
from tests.helpers.payloads import RAVI, inbound, now, text

PHOTO = png(16, 12)


def live_settings(graph_api: GraphAPI, media_root: Path, **extra: Any) -> dict[str, Any]:
    return {"WHATSAPP_ACCESS_TOKEN": TOKEN, "WHATSAPP_API_BASE_URL": graph_api.url,
            "WHATSAPP_BUSINESS_ACCOUNT_ID": WABA_ID, "PHONE_NUMBER_ID": PHONE_NUMBER_ID,
            "SEND_RETRY_INTERVALS": (0.2, 0.2, 0.2), "MEDIA_ROOT": str(media_root), **extra}


@pytest.fixture
def media_root(tmp_path: Path) -> Path:
    return tmp_path / "media"


@pytest.fixture
def live(make_app: Callable[..., Flask], graph_api: GraphAPI, media_root: Path) -> FlaskClient:
    """A signed-in client of an app that sends through the local Graph API; Ravi wrote a minute ago."""
    client = make_app(**live_settings(graph_api, media_root)).test_client()
    webhook_ok(client, inbound(text("Can you send me the invoice?", id="wamid.RAVI1", timestamp=now(60))))
    return client


def post_file(client: FlaskClient, data: bytes, filename: str, mime_type: str | None, **fields: str):
    form: dict[str, Any] = {"waId": RAVI, **fields, "file": (io.BytesIO(data), filename, mime_type)}
    return client.post("/api/messages/media", data=form, content_type="multipart/form-data")


def sent_file(client: FlaskClient, data: bytes, filename: str, mime_type: str | None, **fields: str) -> dict[str, Any]:
    response = post_file(client, data, filename, mime_type, **fields)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["data"]


def stored_files(media_root: Path) -> list[Path]:
    return [p for p in media_root.glob("*") if p.is_file()] if media_root.exists() else []


def test_a_photo_is_uploaded_then_sent_by_its_media_id_with_its_caption(live: FlaskClient, graph_api: GraphAPI):
    sent = sent_file(live, PHOTO, "shelf.png", "image/png", caption="The blue one, in stock")
    assert sent["type"] == "image" and sent["status"] == "pending"
    assert sent["image"]["caption"] == "The blue one, in stock"
    media = sent["media"]
    assert media["status"] == "ready" and media["mimeType"] == "image/png" and media["size"] == len(PHOTO)

    # The page and the API show the file at once, from this app's copy.
    served = live.get(media["url"])
    assert served.status_code == 200 and served.data == PHOTO and served.mimetype == "image/png"

    assert status_becomes(live, RAVI, sent["id"], "sent")["wamid"]
    (uploaded,) = graph_api.uploaded_media()
    assert uploaded.data == PHOTO and uploaded.mime_type == "image/png"
    (request,) = graph_api.requests_to("send")
    assert request.json == {"messaging_product": "whatsapp", "recipient_type": "individual", "to": RAVI,
                            "type": "image", "image": {"id": uploaded.id, "caption": "The blue one, in stock"}}


def test_a_document_is_sent_with_its_filename_and_a_reply_quotes(live: FlaskClient, graph_api: GraphAPI):
    sent = sent_file(live, PDF, "invoice-2291.pdf", "application/pdf", replyTo="wamid.RAVI1")
    assert sent["type"] == "document" and sent["media"]["filename"] == "invoice-2291.pdf"
    status_becomes(live, RAVI, sent["id"], "sent")
    (uploaded,) = graph_api.uploaded_media()
    assert uploaded.data == PDF and uploaded.filename == "invoice-2291.pdf"
    (request,) = graph_api.requests_to("send")
    assert request.json["document"] == {"id": uploaded.id, "filename": "invoice-2291.pdf"}
    assert request.json["context"] == {"message_id": "wamid.RAVI1"}
    assert live.get(sent["media"]["url"]).data == PDF


def test_an_audio_goes_without_a_caption_and_a_type_is_guessed_from_the_name(live: FlaskClient,
                                                                              graph_api: GraphAPI):
    sent = sent_file(live, OGG, "note.ogg", None)
    assert sent["type"] == "audio" and sent["media"]["mimeType"] == "audio/ogg"
    status_becomes(live, RAVI, sent["id"], "sent")
    (request,) = graph_api.requests_to("send")
    assert request.json["audio"] == {"id": graph_api.uploaded_media()[0].id}

    refused = assert_error(post_file(live, OGG, "note.ogg", "audio/ogg", caption="listen"), 400)
    assert refused["errors"] == {"caption": "not allowed for audio"}


MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(300)  # an MP4's first box, then padding


def test_a_video_is_uploaded_and_sent_with_its_caption(live: FlaskClient, graph_api: GraphAPI):
    sent = sent_file(live, MP4, "unboxing.mp4", "video/mp4", caption="How it looks")
    assert sent["type"] == "video" and sent["media"]["mimeType"] == "video/mp4"
    status_becomes(live, RAVI, sent["id"], "sent")
    (uploaded,) = graph_api.uploaded_media()
    assert uploaded.data == MP4 and uploaded.mime_type == "video/mp4"
    (request,) = graph_api.requests_to("send")
    assert request.json["type"] == "video" and request.json["video"] == {"id": uploaded.id, "caption": "How it looks"}
    served = live.get(sent["media"]["url"])
    assert served.status_code == 200 and served.data == MP4 and served.mimetype == "video/mp4"


@pytest.mark.parametrize(("data", "filename", "mime_type", "fields", "status", "field"), [
    (b"\xff\xd8\xff" + bytes(5 * 1024 * 1024), "big.jpg", "image/jpeg", {}, 413, "file"),
    (b"GIF89a" + bytes(100), "funny.gif", "image/gif", {"kind": "image"}, 415, "file"),
    (b"not a png at all", "fake.png", "image/png", {}, 415, "file"),
    (b"\x00" * 100, "clip.avi", "video/x-msvideo", {"kind": "video"}, 415, "file"),
    (b"", "empty.pdf", "application/pdf", {}, 400, "file"),
    (PHOTO, "shelf.png", "image/png", {"caption": "x" * 1025}, 400, "caption"),
    (PHOTO, "shelf.png", "image/png", {"kind": "sticker"}, 400, "kind"),
])
def test_a_file_whatsapp_would_refuse_is_refused_with_nothing_stored_or_sent(
        live: FlaskClient, graph_api: GraphAPI, media_root: Path, data: bytes, filename: str, mime_type: str,
        fields: dict[str, str], status: int, field: str):
    body = assert_error(post_file(live, data, filename, mime_type, **fields), status)
    assert field in body["errors"], body
    assert len(live.get(f"/api/messages/{RAVI}").get_json()["data"]) == 1  # Ravi's message only
    assert stored_files(media_root) == []
    assert graph_api.requests_to("upload") == [] and graph_api.requests_to("send") == []


def test_not_multipart_or_no_file_is_refused(live: FlaskClient):
    assert_error(live.post("/api/messages/media", json={"waId": RAVI}), 415)
    body = assert_error(live.post("/api/messages/media", data={"waId": RAVI}, content_type="multipart/form-data"),
                        400)
    assert "file" in body["errors"]


def test_outside_the_window_nothing_is_stored(make_app: Callable[..., Flask], graph_api: GraphAPI,
                                              media_root: Path):
    client = make_app(**live_settings(graph_api, media_root)).test_client()
    webhook_ok(client, inbound(text("Hello", id="wamid.OLD", timestamp=int(time.time()) - 25 * 3600)))
    assert_error(post_file(client, PHOTO, "shelf.png", "image/png"), 422)
    assert stored_files(media_root) == [] and graph_api.requests_to("upload") == []


def test_a_failed_upload_is_tried_again_and_a_failed_send_does_not_upload_twice(live: FlaskClient,
                                                                                graph_api: GraphAPI):
    graph_api.fail_next("upload", 503)
    graph_api.fail_next("send", 500)
    sent = sent_file(live, PHOTO, "shelf.png", "image/png")
    status_becomes(live, RAVI, sent["id"], "sent")
    assert len(graph_api.requests_to("upload")) == 2  # the failed try and the one that worked
    assert len(graph_api.uploaded_media()) == 1
    assert len(graph_api.requests_to("send")) == 2  # the failed send was retried with the same media id
    assert graph_api.requests_to("send")[-1].json["image"]["id"] == graph_api.uploaded_media()[0].id


def test_an_upload_that_keeps_failing_turns_the_tick_red_and_retry_sends_it(live: FlaskClient,
                                                                             graph_api: GraphAPI):
    graph_api.fail_next("upload", 503, times=4)
    sent = sent_file(live, PHOTO, "shelf.png", "image/png")
    failed = status_becomes(live, RAVI, sent["id"], "failed")
    assert failed["error"]["code"] == 2
    assert live.post(f"/api/messages/{sent['id']}/retry").status_code == 200
    status_becomes(live, RAVI, sent["id"], "sent")
    assert len(graph_api.uploaded_media()) == 1


def test_demo_mode_stores_the_file_and_sends_nothing(make_app: Callable[..., Flask], graph_api: GraphAPI,
                                                     media_root: Path):
    client = make_app(MEDIA_ROOT=str(media_root)).test_client()
    sent = sent_file(client, PHOTO, "shelf.png", "image/png", caption="Look")
    assert sent["status"] == "sent" and sent["media"]["status"] == "ready"
    assert client.get(sent["media"]["url"]).data == PHOTO
    assert graph_api.requests_to("upload") == []


def test_a_photo_larger_than_max_content_length_is_taken_up_to_whatsapps_limit(live: FlaskClient,
                                                                               graph_api: GraphAPI):
    photo = b"\xff\xd8\xff\xe0" + bytes(3 * 1024 * 1024)  # over MAX_CONTENT_LENGTH (2 MB), under 5 MB
    sent = sent_file(live, photo, "large.jpg", "image/jpeg")
    assert sent["media"]["size"] == len(photo)
    status_becomes(live, RAVI, sent["id"], "sent")
    assert graph_api.uploaded_media()[0].data == photo
    assert_error(live.post("/api/messages", data=bytes(3 * 1024 * 1024), content_type="application/json"), 413)
