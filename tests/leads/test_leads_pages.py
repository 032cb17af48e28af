"""The Leads page and a lead's page, in a real browser: a customer asks for a quote in the chat, the
lead shows up, an agent filters, changes its stage in place, confirms the email the customer gave,
discards a number, adds a note, and exports what the filter shows."""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Callable

import requests
from playwright.sync_api import expect

from tests.helpers.app import LiveServer
from tests.helpers.browser import Pages, api, post, screenshot
from tests.helpers.payloads import RAVI, inbound, text
from tests.helpers.wait import eventually

NEHA = "919812345678"


def test_an_agent_works_a_lead_from_the_leads_page(start_server: Callable[..., LiveServer], pages: Pages) -> None:
    server = start_server()
    now = int(time.time())
    post(server, inbound(text("Can I get a quote? ravi.k@example.com / 022 2778 1234", timestamp=now - 60)))
    post(server, inbound(text("What's the price of the red one?", timestamp=now - 30, sender=NEHA),
                         name="Neha Gupta", wa_id=NEHA))
    eventually(lambda: len(api(server, "/leads")) == 2 and len(api(server, f"/leads/{RAVI}")["proposals"]) == 2)

    page = pages.open(f"{server.url}/leads")
    expect(page.get_by_role("heading", name="2 leads")).to_be_visible()
    expect(page.locator(f'tr[data-lead="{RAVI}"]')).to_contain_text("2 to confirm")
    page.get_by_label("Search").fill("neha")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("heading", name="1 lead")).to_be_visible()
    row = page.locator(f'tr[data-lead="{NEHA}"]')
    row.get_by_label("Stage of Neha Gupta").select_option("contacted")
    row.get_by_role("button", name="Save stage of Neha Gupta").click()
    expect(page.get_by_role("status")).to_have_text("Neha Gupta: stage saved.")
    expect(page).to_have_url(re.compile(r"/leads\?q=neha&"))  # the filter is kept
    assert api(server, f"/leads/{NEHA}")["stage"] == "contacted"

    page.get_by_role("link", name="Clear").click()
    page.get_by_role("link", name="Ravi Kumar").click()
    expect(page.get_by_role("heading", name="Ravi Kumar", level=1)).to_be_visible()
    page.get_by_role("button", name="Confirm ravi.k@example.com").click()
    expect(page.locator(".facts")).to_contain_text("ravi.k@example.com")
    page.get_by_role("button", name="Discard +912227781234").click()
    expect(page.locator(".proposal--discarded")).to_contain_text("+912227781234")
    page.get_by_label("Add a note").fill("Wants 40 units by Friday")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator(".lead-note").first).to_contain_text("Wants 40 units by Friday")
    screenshot(page, "lead.png")
    page.get_by_role("link", name="Open the chat").click()
    expect(page).to_have_url(f"{server.url}/c/{RAVI}")

    exported = requests.get(f"{server.url}/api/leads/export?stage=contacted", headers=server.auth_headers, timeout=10)
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"), newline="")))
    assert [r[0] for r in rows[1:]] == [NEHA]
    lead = api(server, f"/leads/{RAVI}")
    assert lead["emails"] == ["ravi.k@example.com"] and lead["notes"][0]["author"] == server.credentials.email


def test_make_a_lead_from_a_chat(start_server: Callable[..., LiveServer], pages: Pages) -> None:
    server = start_server()
    post(server, inbound(text("hello", timestamp=int(time.time()) - 60)))
    assert api(server, "/leads") == []
    page = pages.open(f"{server.url}/c/{RAVI}")
    page.get_by_role("button", name="Make a lead").click()
    expect(page).to_have_url(f"{server.url}/leads/{RAVI}")
    expect(page.get_by_role("heading", name="Ravi Kumar", level=1)).to_be_visible()
    assert api(server, f"/leads/{RAVI}")["source"] == "agent"
