"""Documents with OCR, end to end: a customer sends a photo and PDFs by webhook, the media job fetches them
from the (local) Graph API, the reading job reads their text with the real Tesseract and pypdf, and the
API, the chat, the chat search, the Documents page and GET /api/documents show it; MessageTextExtracted
is published after the write. Real FerretDB, jobs in this process or in a real `flask worker`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import graph_api as graph
from tests.helpers.documents import drawing, pdf, picture, scanned_pdf
from tests.helpers.graph_api import GraphAPI
from tests.helpers.http import api_message, assert_error, get_ok, run_cli, webhook_ok
from tests.helpers.payloads import NEHA, RAVI, inbound, message, text, wamid
from tests.helpers.services import StartWorker
from tests.helpers.wait import eventually
from webapp.inbox.documents import Message
from webapp.ocr import MessageTextExtracted, ReceivedFile, extracted_text
from webapp.ocr.tasks import read_text

MakeApp = Callable[..., Flask]
DAY = 1754400000  # 2025-08-05 13:20 UTC


def live_settings(graph_api: GraphAPI, tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    return {"WHATSAPP_ACCESS_TOKEN": graph.TOKEN, "WHATSAPP_API_BASE_URL": graph_api.url,
            "PHONE_NUMBER_ID": graph.PHONE_NUMBER_ID, "MEDIA_ROOT": str(tmp_path / "media"),
            "MEDIA_RETRY_DELAYS": [0, 0], **overrides}


@pytest.fixture
def live_app(make_app: MakeApp, graph_api: GraphAPI, tmp_path: Path) -> Flask:
    return make_app(**live_settings(graph_api, tmp_path))


def send_file(client: FlaskClient, graph_api: GraphAPI, kind: str, data: bytes, mime_type: str, *,
              filename: str | None = None, caption: str | None = None, sender: str = RAVI, name: str = "Ravi Kumar",
              timestamp: int = DAY) -> str:
    """A customer sends a file (a webhook naming a media id the Graph API serves); its wamid."""
    media_id = graph_api.add_inbound_media(data, mime_type, filename)
    content: dict[str, Any] = {"id": media_id, "mime_type": mime_type}
    if filename:
        content["filename"] = filename
    if caption:
        content["caption"] = caption
    wid = wamid()
    webhook_ok(client, inbound(message(kind, content, id=wid, sender=sender, timestamp=timestamp), name=name,
                               wa_id=sender))
    return wid


def text_read(client: FlaskClient, wa_id: str, wid: str, timeout: float = 20) -> str:
    """Wait until the API shows the message's text; the text."""
    def check() -> str | None:
        return api_message(client, wa_id, wid).get("extractedText")
    check.__name__ = f"the text of {wid} is read"
    return eventually(check, timeout=timeout)


def documents(client: FlaskClient, query: str = "") -> list[dict[str, Any]]:
    return get_ok(client, f"/api/documents{query}")["data"]


def test_a_photo_and_pdfs_are_read_and_shown_searchable_and_listed(live_app: Flask, graph_api: GraphAPI) -> None:
    client = live_app.test_client()
    events: list[tuple[MessageTextExtracted, str | None]] = []
    with live_app.app_context():
        def record(event: MessageTextExtracted) -> None:  # what a subscriber (the AI) reads when told
            events.append((event, extracted_text(Message.objects(pk=event.message_id).first())))
        live_app.extensions["bus"].subscribe(MessageTextExtracted, record)

    photo = send_file(client, graph_api, "image", picture(["Receipt 4521", "Blue chair 120.00"], image_format="JPEG"),
                      "image/jpeg", caption="My receipt")
    invoice = send_file(client, graph_api, "document", pdf(["Invoice 88 for Ravi", "Teak table 450.00"]),
                        "application/pdf", filename="Invoice 88.pdf", timestamp=DAY + 60)
    scan = send_file(client, graph_api, "document", scanned_pdf(["Warranty card", "Serial QX-5521"]),
                     "application/pdf", filename="warranty.pdf", sender=NEHA, name="Neha Sharma",
                     timestamp=DAY + 86400)

    assert " ".join(text_read(client, RAVI, photo).split()) == "Receipt 4521 Blue chair 120.00"
    assert text_read(client, RAVI, invoice) == "Invoice 88 for Ravi\nTeak table 450.00"
    assert " ".join(text_read(client, NEHA, scan).split()) == "Warranty card Serial QX-5521"

    # told once per file, after the write: the subscriber reads the text
    eventually(lambda: len(events) == 3)
    told = {event.message_id: (event.conversation_id, seen) for event, seen in events}
    assert set(told) == {photo, invoice, scan} and len(events) == 3
    assert told[invoice] == (f"{graph.PHONE_NUMBER_ID}:{RAVI}", "Invoice 88 for Ravi\nTeak table 450.00")

    # under the media card: collapsed, with a copy button
    chat = client.get(f"/c/{RAVI}").get_data(as_text=True)
    assert '<details class="extract-details">' in chat and "Copy text" in chat
    assert "Invoice 88 for Ravi\nTeak table 450.00</pre>" in chat
    assert "(7 words)" in chat

    # the chat search finds the contact by words in a file (Neha's name and number do not match "serial")
    rows = client.get("/ui/conversations?q=serial").get_data(as_text=True)
    assert f'data-wa-id="{NEHA}"' in rows and f'data-wa-id="{RAVI}"' not in rows
    assert "Serial QX-5521" in rows
    rows = client.get("/ui/conversations?q=ravi").get_data(as_text=True)  # by name, and by text: listed once
    assert rows.count(f'data-wa-id="{RAVI}"') == 1

    # GET /api/documents: newest first, each with its text, filtered
    listed = documents(client)
    assert [d["id"] for d in listed] == [scan, invoice, photo]
    assert listed[1] | {"timestamp": None} == {
        "id": invoice, "waId": RAVI, "contactName": "Ravi Kumar", "kind": "pdf", "mimeType": "application/pdf",
        "filename": "Invoice 88.pdf", "caption": None, "size": listed[1]["size"], "url": f"/media/{invoice}",
        "timestamp": None, "textStatus": "done", "text": "Invoice 88 for Ravi\nTeak table 450.00", "pages": 1}
    assert listed[2]["caption"] == "My receipt" and listed[2]["kind"] == "image"
    assert [d["id"] for d in documents(client, "?type=image")] == [photo]
    assert [d["id"] for d in documents(client, "?type=pdf&contact=neha")] == [scan]
    assert [d["id"] for d in documents(client, f"?contact={RAVI[:6]}")] == [invoice, photo]
    assert [d["id"] for d in documents(client, "?since=2025-08-06")] == [scan]
    assert [d["id"] for d in documents(client, "?until=2025-08-05")] == [invoice, photo]
    assert [d["id"] for d in documents(client, "?q=teak")] == [invoice]
    assert documents(client, "?hasText=false") == []
    first = get_ok(client, "/api/documents?limit=2")
    assert first["meta"] == {"hasMore": True, "before": invoice, "count": 2}
    assert [d["id"] for d in documents(client, f"?limit=2&before={invoice}")] == [photo]

    # the Documents page: the same files, filtered by its form
    page = client.get("/documents").get_data(as_text=True)
    assert all(f'data-document-id="{wid}"' in page for wid in (photo, invoice, scan))
    assert "Teak table 450.00" in page and 'href="/c/' + NEHA + '"' in page
    page = client.get("/documents?type=pdf&text=true&contact=ravi").get_data(as_text=True)
    assert f'data-document-id="{invoice}"' in page and f'data-document-id="{photo}"' not in page
    assert "No documents match these filters." in client.get("/documents?q=nothing-like-this").get_data(as_text=True)

    # read once: the job again (a retry, a requeue) reads nothing again
    with live_app.app_context():
        before = Message.objects(pk=invoice).first().text_extract
        read_text(invoice)
        assert Message.objects(pk=invoice).first().text_extract == before
    assert len(events) == 3


def test_a_file_that_cannot_be_read_says_why(live_app: Flask, graph_api: GraphAPI) -> None:
    client = live_app.test_client()
    broken = send_file(client, graph_api, "document", b"%PDF-1.4\nthis is not a real PDF", "application/pdf",
                       filename="broken.pdf")

    def failed() -> dict[str, Any] | None:
        found = documents(client)
        return found[0] if found and found[0]["textStatus"] == "failed" else None
    assert eventually(failed, timeout=20)["text"] == ""
    assert "extractedText" not in api_message(client, RAVI, broken)
    chat = client.get(f"/c/{RAVI}").get_data(as_text=True)
    assert "The text could not be read: The PDF cannot be opened" in chat
    assert documents(client, "?hasText=false")[0]["id"] == broken


def test_only_customers_images_and_pdfs_are_read(live_app: Flask, graph_api: GraphAPI) -> None:
    client = live_app.test_client()
    sheet = send_file(client, graph_api, "document", b"a,b\n1,2\n", "text/csv", filename="prices.csv")
    photo = send_file(client, graph_api, "image", picture(["Hello Neha"]), "image/png")
    text_read(client, RAVI, photo)
    eventually(lambda: api_message(client, RAVI, sheet)["media"]["status"] == "ready")
    assert "extractedText" not in api_message(client, RAVI, sheet)
    assert [d["id"] for d in documents(client)] == [photo]
    webhook_ok(client, inbound(text("no file here")))
    assert len(documents(client)) == 1


def test_documents_filters_are_checked(live_app: Flask) -> None:
    client = live_app.test_client()
    for query, field, problem in [("type=doc", "type", "must be image or pdf"),
                                  ("since=2025-02-30", "since", "must be a date: YYYY-MM-DD"),
                                  ("until=yesterday", "until", "must be a date: YYYY-MM-DD"),
                                  ("hasText=yes", "hasText", "must be true or false"),
                                  ("limit=0", "limit", "must be between 1 and 100"),
                                  ("typo=1", "typo", "is not a known parameter")]:
        body = assert_error(client.get(f"/api/documents?{query}"), 400)
        assert body["errors"] == {field: problem}, query
    assert assert_error(client.get("/api/documents?before=wamid.NOPE"), 400)["errors"] == {
        "before": "is not a received file's id"}
    assert assert_error(live_app.test_client(anonymous=True).get("/api/documents"), 401)
    page = client.get("/documents?since=2025-13-01")
    assert page.status_code == 400 and "Invalid filter: check since." in page.get_data(as_text=True)
    assert live_app.test_client(anonymous=True).get("/documents").status_code in (302, 401)


def test_the_ocr_languages_come_from_the_settings(make_app: MakeApp, graph_api: GraphAPI, tmp_path: Path) -> None:
    """OCR_LANGUAGES (until the settings store holds it): a language without Tesseract data says so."""
    client = make_app(**live_settings(graph_api, tmp_path, OCR_LANGUAGES="kat")).test_client()
    send_file(client, graph_api, "image", picture(["Hello"]), "image/png")

    def failed() -> dict[str, Any] | None:
        found = documents(client)
        return found[0] if found and found[0]["textStatus"] == "failed" else None
    eventually(failed, timeout=20)
    assert "Tesseract has no data for kat" in client.get(f"/c/{RAVI}").get_data(as_text=True)


def test_a_worker_reads_the_text(make_app: MakeApp, graph_api: GraphAPI, tmp_path: Path, redis_server,
                                 start_worker: StartWorker) -> None:
    """With REDIS_URL a real `flask worker` process fetches the file, then reads its text."""
    settings = live_settings(graph_api, tmp_path, REDIS_URL=redis_server.url)
    start_worker(**settings)
    client = make_app(**settings).test_client()
    wid = send_file(client, graph_api, "document", pdf(["Quote 311", "Valid until Friday"]), "application/pdf",
                    filename="quote.pdf")
    assert text_read(client, RAVI, wid, timeout=30) == "Quote 311\nValid until Friday"


def test_a_mixed_pdf_reads_typed_and_scanned_pages(live_app: Flask, graph_api: GraphAPI) -> None:
    client = live_app.test_client()
    wid = send_file(client, graph_api, "document", pdf(["Delivery note 77"], drawing(["Signed by Ravi"])),
                    "application/pdf", filename="note.pdf")
    assert " ".join(text_read(client, RAVI, wid).split()) == "Delivery note 77 Signed by Ravi"
    with live_app.app_context():
        record = Message.objects(pk=wid).first().text_extract
    assert (record["method"], record["pages"], record["pages_read"], record["language"]) == ("text+ocr", 2, 2, "eng")
    assert "(6 words, 2 pages)" in client.get(f"/c/{RAVI}").get_data(as_text=True)


def test_flask_ocr_read_reads_files_stored_before_and_reads_again(live_app: Flask, graph_api: GraphAPI) -> None:
    client = live_app.test_client()
    wid = send_file(client, graph_api, "document", pdf(["Lease 12", "Flat 4B"]), "application/pdf")
    text_read(client, RAVI, wid)
    with live_app.app_context():  # as if it had been stored before OCR was there
        Message.set_text_extract(wid, None)
        ReceivedFile.objects(pk=wid).delete()
    assert "extractedText" not in api_message(client, RAVI, wid) and documents(client) == []

    result = run_cli(live_app, "ocr", "read", "--all")
    assert result.exit_code == 0 and "Reading 1 file(s); 0 skipped" in result.output
    assert text_read(client, RAVI, wid) == "Lease 12\nFlat 4B"
    assert [d["id"] for d in documents(client)] == [wid]
    assert "Reading 0 file(s); 1 skipped" in run_cli(live_app, "ocr", "read", wid).output
    assert "Reading 1 file(s)" in run_cli(live_app, "ocr", "read", "--again", wid).output
    assert text_read(client, RAVI, wid) == "Lease 12\nFlat 4B"

    assert "no such message: wamid.NOPE" in run_cli(live_app, "ocr", "read", "wamid.NOPE").output
    assert run_cli(live_app, "ocr", "read").exit_code == 2


def test_while_a_file_is_read_its_bubble_says_so(live_app: Flask, graph_api: GraphAPI) -> None:
    client = live_app.test_client()
    wid = send_file(client, graph_api, "image", picture(["Hello"]), "image/png")
    text_read(client, RAVI, wid)
    with live_app.app_context():  # as the subscriber leaves it when the job starts
        Message.set_text_extract(wid, {"status": "pending", "key": "k"})
    chat = client.get(f"/c/{RAVI}").get_data(as_text=True)
    assert '<div class="extract" data-extract="pending"><p class="media-state">Reading the text…</p>' in chat
    assert "extractedText" not in api_message(client, RAVI, wid)
