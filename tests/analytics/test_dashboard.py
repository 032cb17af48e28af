"""The /analytics page in a real browser: the charts are drawn (Chart.js, under the strict CSP) from the
known conversations, and the figures a person reads there are the API's."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from playwright.sync_api import Page, expect

from tests.helpers.analytics import AGENT, FROM, TO, write_known
from tests.helpers.app import ROOT, LiveServer
from tests.helpers.browser import Pages, screenshot

CUSTOM = f"period=custom&from={FROM}&to={TO}"


def card(page: Page, name: str) -> str:
    return page.locator(f"[data-figure={name}] dd.value").inner_text()


def chart_data(page: Page, key: str) -> dict:
    """What Chart.js drew on the canvas: its labels and each dataset's values (once the page's script drew it)."""
    expect(page.locator(f"#chart-{key}[data-drawn=true]")).to_be_attached()
    return page.evaluate("""key => {
        const chart = window.Chart.getChart(document.getElementById(`chart-${key}`));
        return {labels: chart.data.labels, sets: chart.data.datasets.map(s => [s.label, s.data])};
    }""", key)


def api(page: Page, query: str) -> dict:
    """GET /api/analytics as the signed-in admin of the page (its session cookie)."""
    base = page.url.split("/analytics")[0]
    response = page.request.get(f"{base}/api/analytics?{query}")
    assert response.status == 200, response.text()
    return response.json()["data"]


def accessibility_problems(page: Page) -> list[str]:
    """axe-core's violations on the page (run through the browser's devtools, which the CSP does not apply to)."""
    page.evaluate((ROOT / "tests" / "helpers" / "vendor" / "axe.min.js").read_text())
    found = page.evaluate("""async () => (await axe.run()).violations.map(
        v => `${v.id}: ${v.nodes.map(n => n.target.join(' ') + ' ' + n.failureSummary).join(' / ')}`)""")
    return list(found)


def table(page: Page, selector: str) -> list[list[str]]:
    return page.locator(f"{selector} tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.children].map(c => c.textContent.trim()))")


def test_the_dashboard_draws_the_known_figures(start_server: Callable[..., LiveServer], make_app: Callable[..., Flask],
                                               pages: Pages) -> None:
    server = start_server()
    write_known(make_app())
    page = pages.open(f"{server.url}/")  # signed in (an admin: the first agent), its session cookie
    page.goto(f"{server.url}/admin")
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Analytics").click()
    expect(page).to_have_url(f"{server.url}/analytics")
    expect(page.get_by_role("heading", name="Analytics", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Analytics")).to_have_attribute("aria-current", "page")

    page.get_by_label("Period", exact=True).select_option("custom")
    page.get_by_label("From", exact=True).fill(FROM)
    page.get_by_label("To", exact=True).fill(TO)
    page.get_by_role("button", name="Show").click()
    expect(page.locator(".period-note")).to_contain_text(f"{FROM} to {TO}")
    expect(page.locator("#chart-messages[data-drawn=true]")).to_be_attached()
    screenshot(page, "analytics.png", docs="analytics.png")
    problems = accessibility_problems(page)
    assert not problems, "\n".join(problems)

    figures = api(page, CUSTOM)
    totals = figures["totals"]
    assert card(page, "messages-in") == str(totals["messagesIn"]) == "5"
    assert card(page, "messages-out") == str(totals["messagesOut"]) == "5"
    assert card(page, "new-conversations") == str(totals["newConversations"]) == "3"
    assert totals["firstResponse"]["median"] == 300 and card(page, "first-response") == "5m 00s"
    expect(page.locator("[data-figure=first-response] dd.detail")).to_contain_text(
        "90th percentile 10m 00s · 3 replies")
    assert totals["aiFirstResponse"]["median"] == 60 and card(page, "ai-first-response") == "1m 00s"
    assert totals["aiShare"] == 0.3333 and card(page, "ai-share") == "33%"

    days = [d["day"] for d in figures["daily"]]
    assert chart_data(page, "messages") == {
        "labels": days, "sets": [["Received", [d["messagesIn"] for d in figures["daily"]]],
                                 ["Sent", [d["messagesOut"] for d in figures["daily"]]]]}
    assert chart_data(page, "conversations") == {
        "labels": days, "sets": [["New", [2, 1]], ["Resolved", [2, 0]]]}
    assert totals["resolution"]["median"] == 4500 and card(page, "resolution") == "1h 15m"
    assert totals["handoffRate"] == 1.0 and card(page, "handoff-rate") == "100%"
    assert card(page, "resolved") == "2"
    page.get_by_text("The figures as a table").first.click()
    assert table(page, "#table-messages") == [[FROM, "3", "3"], [TO, "2", "2"]]
    expect(page.locator("#chart-messages")).to_have_attribute(
        "aria-label", f"Messages per day: {FROM} received 3 sent 3; {TO} received 2 sent 2")

    heat = table(page, "#heatmap")
    assert heat[0][0] == "Mon" and heat[0][1 + 9] == "2" and heat[0][1 + 10] == "1"
    assert heat[1][0] == "Tue" and heat[1][1 + 14] == "2"
    assert sum(int(c) for row in heat for c in row[1:] if c) == 5

    rows = {row[0]: row[1:] for row in table(page, "#agents")}
    assert rows == {
        "AI": ["1", "1", "1m 00s", "1m 00s", "0", "—"],
        AGENT: ["2", "1", "3m 30s", "5m 00s", "2", "1h 15m"],
        "bob@example.test": ["1", "1", "10m 00s", "10m 00s", "0", "—"],
    }

    # One agent: the figures are theirs
    page.get_by_label("Agent", exact=True).select_option(AGENT)
    page.get_by_role("button", name="Show").click()
    expect(page.locator(".period-note")).to_contain_text(AGENT)
    assert card(page, "messages-out") == "2"
    assert card(page, "first-response") == "3m 30s"
    assert chart_data(page, "messages")["sets"] == [["Sent", [2, 0]]]
    one = api(page, f"{CUSTOM}&agent={AGENT}")
    assert one["totals"]["firstResponse"]["median"] == 210


def test_a_bad_period_says_why(start_server: Callable[..., LiveServer], pages: Pages) -> None:
    server = start_server()
    page = pages.open(f"{server.url}/")
    page.goto(f"{server.url}/analytics?period=custom&from=2026-03-05&to=2026-03-01")
    expect(page.get_by_role("alert")).to_contain_text("to")
    expect(page.locator("#chart-messages[data-drawn=true]")).to_be_attached()  # the default period, drawn
