"""Received media in a real browser: a webhook with a photo arrives, the job fetches it from the
local Graph API, and the open chat shows the thumbnail without a reload; a file whose every try
failed offers a Retry that fetches it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import expect

from tests.helpers import graph_api as graph
from tests.helpers.app import LiveServer
from tests.helpers.browser import Pages, bubble, post, screenshot
from tests.helpers.graph_api import GraphAPI
from tests.helpers.media import png
from tests.helpers.payloads import RAVI, inbound, message, now, text, wamid

StartServer = Callable[..., LiveServer]


def test_a_received_photo_shows_as_a_thumbnail_and_a_failed_one_can_be_retried(
        start_server: StartServer, pages: Pages, graph_api: GraphAPI, tmp_path: Path) -> None:
    server = start_server(WHATSAPP_ACCESS_TOKEN=graph.TOKEN, WHATSAPP_API_BASE_URL=graph_api.url,
                          PHONE_NUMBER_ID=graph.PHONE_NUMBER_ID, MEDIA_ROOT=str(tmp_path / "media"),
                          MEDIA_RETRY_DELAYS=[0])
    post(server, inbound(text("I'll send a photo of the scratch", timestamp=now())))
    page = pages.open(f"{server.url}/c/{RAVI}")

    photo = wamid()
    media_id = graph_api.add_inbound_media(png(120, 90), "image/png")
    graph_api.delay_next("download", 1.5)  # long enough to see the bubble wait for its file
    post(server, inbound(message("image", {"id": media_id, "mime_type": "image/png", "caption": "The scratch"},
                                 id=photo, timestamp=now(5))))
    expect(bubble(page, photo).locator(".media-state")).to_have_text("Downloading…")
    thumbnail = bubble(page, photo).locator(".media-thumb img")
    expect(thumbnail).to_be_visible()
    assert thumbnail.evaluate("img => img.complete && img.naturalWidth") == 120  # the real picture loaded
    assert bubble(page, photo).locator(".media-thumb").get_attribute("href") == f"/media/{photo}"
    expect(bubble(page, photo).locator(".caption")).to_have_text("The scratch")

    failing = wamid()
    graph_api.fail_next("media", 500, 131000, times=2)  # both tries (MEDIA_RETRY_DELAYS=[0])
    second = graph_api.add_inbound_media(png(40, 40, (200, 30, 30)), "image/png")
    post(server, inbound(message("image", {"id": second, "mime_type": "image/png"}, id=failing, timestamp=now(9))))
    state = bubble(page, failing).locator(".media-state")
    expect(state).to_contain_text("Not available")
    screenshot(page, "media-failed.png")
    state.get_by_role("button", name="Retry").click()
    expect(bubble(page, failing).locator(".media-thumb img")).to_be_visible()
    assert page.evaluate("window.cspViolations") == []
    screenshot(page, "media-thumbnails.png")
