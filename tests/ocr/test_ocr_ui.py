"""Documents with OCR in a real browser: a customer sends a scanned PDF while the chat is open, its text
appears under the file without a reload (collapsed, then opened and copied), the chat search finds the
chat by a word of it, and the Documents page lists it with its filters."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import expect

from tests.helpers import graph_api as graph
from tests.helpers.app import LiveServer
from tests.helpers.browser import Pages, bubble, post, row, screenshot
from tests.helpers.documents import picture, scanned_pdf
from tests.helpers.graph_api import GraphAPI
from tests.helpers.payloads import NEHA, RAVI, inbound, message, now, text, wamid

StartServer = Callable[..., LiveServer]


def test_the_text_of_a_received_pdf_shows_under_it_is_copied_found_and_listed(
        start_server: StartServer, pages: Pages, graph_api: GraphAPI, tmp_path: Path) -> None:
    server = start_server(WHATSAPP_ACCESS_TOKEN=graph.TOKEN, WHATSAPP_API_BASE_URL=graph_api.url,
                          PHONE_NUMBER_ID=graph.PHONE_NUMBER_ID, MEDIA_ROOT=str(tmp_path / "media"),
                          MEDIA_RETRY_DELAYS=[0])
    post(server, inbound(text("Sending the warranty card", timestamp=now())))
    post(server, inbound(text("Hi!", sender=NEHA, timestamp=now(1)), name="Neha Sharma", wa_id=NEHA))
    page = pages.open(f"{server.url}/c/{RAVI}")
    expect(row(page, NEHA)).to_be_visible()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)

    scan = wamid()
    media_id = graph_api.add_inbound_media(scanned_pdf(["Warranty card", "Serial QX-5521"]), "application/pdf",
                                           "warranty.pdf")
    post(server, inbound(message("document", {"id": media_id, "mime_type": "application/pdf",
                                              "filename": "warranty.pdf"}, id=scan, timestamp=now(5))))
    found = bubble(page, scan).locator("[data-extract=done]")
    expect(found).to_be_visible(timeout=20000)  # fetched, then read by Tesseract, pushed
    body = found.locator("[data-extract-text]")
    expect(body).to_be_hidden()  # collapsed
    found.locator("summary").click()
    expect(body).to_have_text("Warranty card\nSerial QX-5521")
    found.get_by_role("button", name="Copy text").click()
    expect(found.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == "Warranty card\nSerial QX-5521"
    screenshot(page, "ocr-bubble.png")

    # the chat search: a word of the file finds Ravi's chat (not Neha's), with the words around it
    page.locator("#search").fill("qx-5521")
    expect(row(page, RAVI)).to_contain_text("Serial QX-5521")
    expect(row(page, NEHA)).to_have_count(0)

    # the Documents page, from the inbox's header
    page.get_by_role("link", name="Documents").click()
    item = page.locator(f'[data-document-id="{scan}"]')
    expect(item).to_contain_text("warranty.pdf")
    expect(item).to_contain_text("From Ravi Kumar")
    item.locator("summary").click()
    expect(item.locator("[data-extract-text]")).to_have_text("Warranty card\nSerial QX-5521")
    page.get_by_label("Type").select_option("image")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator(".documents-empty")).to_have_text("No documents match these filters.")
    page.get_by_label("Type").select_option("pdf")
    page.get_by_label("Text", exact=True).select_option("true")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator(f'[data-document-id="{scan}"]')).to_be_visible()
    screenshot(page, "ocr-documents.png")
    assert page.evaluate("window.cspViolations") == []


def test_a_photo_received_while_the_chat_is_open_says_no_text_when_there_is_none(
        start_server: StartServer, pages: Pages, graph_api: GraphAPI, tmp_path: Path) -> None:
    server = start_server(WHATSAPP_ACCESS_TOKEN=graph.TOKEN, WHATSAPP_API_BASE_URL=graph_api.url,
                          PHONE_NUMBER_ID=graph.PHONE_NUMBER_ID, MEDIA_ROOT=str(tmp_path / "media"),
                          MEDIA_RETRY_DELAYS=[0])
    post(server, inbound(text("A photo of the sofa", timestamp=now())))
    page = pages.open(f"{server.url}/c/{RAVI}")
    photo = wamid()
    media_id = graph_api.add_inbound_media(picture([]), "image/png")
    post(server, inbound(message("image", {"id": media_id, "mime_type": "image/png", "caption": "Sofa"},
                                 id=photo, timestamp=now(5))))
    expect(bubble(page, photo).locator("[data-extract=empty]")).to_have_text("No text found in the file.",
                                                                            timeout=20000)
    expect(bubble(page, photo).locator(".caption")).to_have_text("Sofa")
