"""axe-core on the pages around the inbox (WCAG 2.2 AA, nothing serious or critical): leads and a lead,
documents, settings, canned replies, admin and your account, each with real content on it."""

from __future__ import annotations

import time
from collections.abc import Callable

from playwright.sync_api import expect

from tests.helpers.app import LiveServer
from tests.helpers.browser import Pages, api, assert_accessible, post
from tests.helpers.payloads import RAVI, inbound, text
from tests.helpers.wait import eventually


def test_the_pages_around_the_inbox_have_nothing_serious(start_server: Callable[..., LiveServer],
                                                         pages: Pages) -> None:
    server = start_server()
    post(server, inbound(text("A quote please: ravi.k@example.com", timestamp=int(time.time()) - 60)))
    eventually(lambda: len(api(server, "/leads")) == 1)
    for path, heading in [("/leads", "Leads"), (f"/leads/{RAVI}", "Ravi Kumar"), ("/documents", "Documents"),
                          ("/settings", "Settings"), ("/settings/canned", None), ("/admin", "Admin"),
                          ("/account", "Your account"), ("/analytics", None)]:
        page = pages.open(f"{server.url}{path}", live=False)
        if heading:
            expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
        assert_accessible(page)
