"""Received media, end to end: a webhook with an image, a voice note or a document arrives, a job
fetches the file from the (local) Graph API and stores it, the API shows it and /media serves it.
Real FerretDB, the real local Graph API server, jobs in this process (REDIS_URL unset) or in a real
`flask worker`, and moto's real S3 server for the bucket backend."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import graph_api as graph
from tests.helpers.auth import token_headers
from tests.helpers.graph_api import GraphAPI
from tests.helpers.http import assert_error, get_ok, webhook_ok
from tests.helpers.media import OGG, PDF, png
from tests.helpers.payloads import RAVI, inbound, message, text, wamid
from tests.helpers.services import StartWorker
from tests.helpers.wait import eventually
from webapp.media.storage import S3Storage
from webapp.media.tasks import fetch_media

MakeApp = Callable[..., Flask]


def live_settings(graph_api: GraphAPI, tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    return {"WHATSAPP_ACCESS_TOKEN": graph.TOKEN, "WHATSAPP_API_BASE_URL": graph_api.url,
            "PHONE_NUMBER_ID": graph.PHONE_NUMBER_ID, "MEDIA_ROOT": str(tmp_path / "media"),
            "MEDIA_RETRY_DELAYS": [0, 0], **overrides}


@pytest.fixture
def live_app(make_app: MakeApp, graph_api: GraphAPI, tmp_path: Path) -> Flask:
    return make_app(**live_settings(graph_api, tmp_path))


def receive(client: FlaskClient, kind: str, media_id: str, **content: Any) -> str:
    """A customer's media message arrives by webhook; its wamid."""
    wid = wamid()
    webhook_ok(client, inbound(message(kind, {"id": media_id, **content}, id=wid)))
    return wid


def api_message(client: FlaskClient, wid: str) -> dict[str, Any]:
    return next(m for m in get_ok(client, f"/api/messages/{RAVI}")["data"] if m["id"] == wid)


def media_of(client: FlaskClient, wid: str) -> dict[str, Any]:
    return api_message(client, wid)["media"]


def settled(client: FlaskClient, wid: str, status: str) -> Callable[[], dict[str, Any] | None]:
    def check() -> dict[str, Any] | None:
        media = media_of(client, wid)
        return media if media["status"] == status else None
    check.__name__ = f"media of {wid} is {status}"
    return check


def test_a_received_image_is_fetched_stored_shown_and_served(live_app: Flask, graph_api: GraphAPI,
                                                             tmp_path: Path) -> None:
    client = live_app.test_client()
    image = png()
    media_id = graph_api.add_inbound_media(image, "image/png")
    wid = receive(client, "image", media_id, mime_type="image/png", sha256=hashlib.sha256(image).hexdigest(),
                  caption="The blue chair")

    media = eventually(settled(client, wid, "ready"))
    digest = hashlib.sha256(image).hexdigest()
    assert media == {"url": f"/media/{wid}", "mimeType": "image/png", "size": len(image), "sha256": digest,
                     "filename": None, "status": "ready"}
    assert (tmp_path / "media" / digest).read_bytes() == image  # stored under its sha256
    lookup, = graph_api.requests_to("media")
    assert lookup.path.endswith(f"/{media_id}") and lookup.headers["Authorization"] == f"Bearer {graph.TOKEN}"
    assert graph_api.requests_to("download")[0].headers["Authorization"] == f"Bearer {graph.TOKEN}"

    served = client.get(media["url"])
    assert served.status_code == 200 and served.data == image
    assert served.headers["Content-Type"] == "image/png"
    assert served.headers["Content-Disposition"].startswith("inline")
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Security-Policy"].strip() == "default-src 'none'; sandbox"

    # the chat page shows the picture, linked to its full size
    page = client.get(f"/c/{RAVI}").get_data(as_text=True)
    assert f'<img src="/media/{wid}"' in page and f'href="/media/{wid}"' in page
    assert "media-src 'self'" in client.get(f"/c/{RAVI}").headers["Content-Security-Policy"]

    # fetched once: the job again (a requeue, a duplicate) changes nothing
    with live_app.app_context():
        fetch_media(wid)
    assert len(graph_api.requests_to("download")) == 1


def test_a_document_is_an_attachment_with_its_name_and_a_voice_note_plays_inline(live_app: Flask,
                                                                                  graph_api: GraphAPI) -> None:
    client = live_app.test_client()
    pdf_id = graph_api.add_inbound_media(PDF, "application/pdf", "Invoice 4521.pdf")
    voice_id = graph_api.add_inbound_media(OGG, "audio/ogg; codecs=opus")
    document = receive(client, "document", pdf_id, mime_type="application/pdf", filename="Invoice 4521.pdf")
    voice = receive(client, "audio", voice_id, mime_type="audio/ogg; codecs=opus", voice=True)

    assert eventually(settled(client, document, "ready"))["filename"] == "Invoice 4521.pdf"
    eventually(settled(client, voice, "ready"))

    served = client.get(f"/media/{document}")
    assert served.data == PDF and served.mimetype == "application/pdf"
    assert served.headers["Content-Disposition"] == 'attachment; filename="Invoice 4521.pdf"'
    played = client.get(f"/media/{voice}")
    assert played.data == OGG and played.headers["Content-Type"] == "audio/ogg; codecs=opus"
    assert played.headers["Content-Disposition"].startswith("inline")

    page = client.get(f"/c/{RAVI}").get_data(as_text=True)
    assert f'<audio class="media-player media-player--audio" src="/media/{voice}" controls' in page
    assert "Invoice 4521.pdf" in page and f'href="/media/{document}" download' in page


def test_an_expired_url_is_looked_up_again(make_app: MakeApp, graph_api: GraphAPI, tmp_path: Path) -> None:
    """Meta's download URLs live minutes: one that expired before the download gets a fresh lookup."""
    client = make_app(**live_settings(graph_api, tmp_path, MEDIA_RETRY_DELAYS=[])).test_client()
    graph_api.media_url_ttl = 1.0
    graph_api.delay_next("download", 1.5)  # the first URL expires on its way
    image = png()
    wid = receive(client, "image", graph_api.add_inbound_media(image, "image/png"), mime_type="image/png")
    eventually(settled(client, wid, "ready"))
    assert len(graph_api.requests_to("media")) == 2 and len(graph_api.requests_to("download")) == 2
    assert client.get(f"/media/{wid}").data == image


def test_a_failed_download_is_retried_and_the_retry_succeeds(live_app: Flask, graph_api: GraphAPI) -> None:
    client = live_app.test_client()
    graph_api.fail_next("download", 503, 2)
    image = png()
    wid = receive(client, "image", graph_api.add_inbound_media(image, "image/png"), mime_type="image/png")
    assert eventually(settled(client, wid, "ready"))["size"] == len(image)
    assert len(graph_api.requests_to("download")) == 2
    assert client.get(f"/media/{wid}").data == image


def test_after_the_last_try_the_media_failed_and_a_retry_fetches_it(live_app: Flask, graph_api: GraphAPI) -> None:
    client = live_app.test_client()
    graph_api.fail_next("media", 500, 131000, times=3)  # every try of three (MEDIA_RETRY_DELAYS=[0, 0])
    image = png()
    wid = receive(client, "image", graph_api.add_inbound_media(image, "image/png"), mime_type="image/png")
    eventually(settled(client, wid, "failed"))
    assert len(graph_api.requests_to("media")) == 3
    assert api_message(client, wid)["preview"] == "📷 Photo"  # the message itself is there all along
    assert_error(client.get(f"/media/{wid}"), 404)

    page = client.get(f"/c/{RAVI}").get_data(as_text=True)
    assert "Not available" in page and f'hx-post="/media/{wid}/retry"' in page

    assert client.post(f"/media/{wid}/retry", csrf=False).status_code == 403  # the page's CSRF token is required
    retried = client.post(f"/media/{wid}/retry")
    assert retried.status_code == 202 and retried.get_json()["data"]["status"] in ("pending", "ready")
    eventually(settled(client, wid, "ready"))
    assert client.get(f"/media/{wid}").data == image


def test_a_file_over_the_kinds_limit_fails_at_once(live_app: Flask, graph_api: GraphAPI) -> None:
    """A sticker's limit is 500 KB: a bigger one is not downloaded, and not tried again."""
    client = live_app.test_client()
    big = graph_api.add_inbound_media(b"RIFF" + bytes(600 * 1024), "image/webp")
    wid = receive(client, "sticker", big, mime_type="image/webp")
    eventually(settled(client, wid, "failed"))
    assert len(graph_api.requests_to("media")) == 1 and graph_api.requests_to("download") == []


def test_only_agents_and_api_tokens_get_files(live_app: Flask, graph_api: GraphAPI) -> None:
    client = live_app.test_client()
    image = png()
    wid = receive(client, "image", graph_api.add_inbound_media(image, "image/png"), mime_type="image/png")
    eventually(settled(client, wid, "ready"))

    anonymous = live_app.test_client(anonymous=True)
    assert anonymous.get(f"/media/{wid}").status_code == 302  # a browser: to the sign-in page
    assert_error(anonymous.get(f"/media/{wid}", headers={"Accept": "application/json"}), 401)
    assert_error(anonymous.post(f"/media/{wid}/retry", headers={"Accept": "application/json"}), 401)
    served = anonymous.get(f"/media/{wid}", headers=token_headers(live_app, "media-reader"))
    assert served.status_code == 200 and served.data == image
    assert_error(client.get("/media/wamid.NOPE"), 404)


def test_demo_mode_fetches_nothing_and_says_so(make_app: MakeApp, graph_api: GraphAPI) -> None:
    client = make_app().test_client()  # no access token: demo mode
    wid = receive(client, "image", graph_api.add_inbound_media(png(), "image/png"), mime_type="image/png")
    webhook_ok(client, inbound(text("and a text")))
    assert media_of(client, wid)["status"] == "unavailable"
    assert [m["media"] for m in get_ok(client, f"/api/messages/{RAVI}")["data"] if m["type"] == "text"] == [None]
    assert "not available in demo mode" in client.get(f"/c/{RAVI}").get_data(as_text=True)
    assert_error(client.post(f"/media/{wid}/retry"), 409)
    assert graph_api.requests_to("media") == []


def test_files_are_stored_in_an_s3_bucket(make_app: MakeApp, graph_api: GraphAPI, tmp_path: Path,
                                          s3_server: Any) -> None:
    app = make_app(**live_settings(graph_api, tmp_path, MEDIA_S3_BUCKET=s3_server.bucket,
                                   MEDIA_S3_ENDPOINT_URL=s3_server.url, MEDIA_S3_REGION=s3_server.region))
    client = app.test_client()
    pdf_id = graph_api.add_inbound_media(PDF, "application/pdf", "terms.pdf")
    wid = receive(client, "document", pdf_id, mime_type="application/pdf", filename="terms.pdf")
    media = eventually(settled(client, wid, "ready"))

    bucket = S3Storage(s3_server.bucket, endpoint_url=s3_server.url, region=s3_server.region)
    assert bucket.get(media["sha256"]) == PDF and bucket.exists(media["sha256"])
    assert not (tmp_path / "media").exists()  # nothing on the local disk
    served = client.get(media["url"])
    assert served.status_code == 200 and served.data == PDF
    assert served.headers["Content-Disposition"] == "attachment; filename=terms.pdf"


def test_a_worker_fetches_the_media(make_app: MakeApp, graph_api: GraphAPI, tmp_path: Path, redis_server,
                                    start_worker: StartWorker) -> None:
    """With REDIS_URL the job goes to Redis and a real `flask worker` process fetches and stores the file."""
    settings = live_settings(graph_api, tmp_path, REDIS_URL=redis_server.url)
    start_worker(**settings)
    client = make_app(**settings).test_client()
    image = png(3, 3)
    wid = receive(client, "image", graph_api.add_inbound_media(image, "image/png"), mime_type="image/png")
    media = eventually(settled(client, wid, "ready"), timeout=20)
    assert (tmp_path / "media" / media["sha256"]).read_bytes() == image
