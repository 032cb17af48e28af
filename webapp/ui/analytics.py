"""/analytics: the dashboard page. Its figures are GET /api/analytics's (webapp.analytics.figures, read
from the rollups); the charts are drawn by static/js/analytics.js with Chart.js (static/vendor/), from the
data each canvas carries, and every chart has a table with the same figures."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask.typing import ResponseReturnValue

from .. import analytics
from ..analytics.schemas import AnalyticsQuery
from ..auth.guard import admin_required
from ..core.errors import AppError
from ..core.validation import parse, values
from .routes import bp

PERIOD_NAMES = {"today": "Today", "7d": "Last 7 days", "30d": "Last 30 days", "custom": "Custom"}
HEAT_LEVELS = 5


def duration(seconds: float | None) -> str:
    """A duration as a person reads it: 45s, 5m 00s, 2h 05m, 3d 4h; — for none."""
    if seconds is None:
        return "—"
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s"
    if whole < 86400:
        return f"{whole // 3600}h {whole % 3600 // 60:02d}m"
    return f"{whole // 86400}d {whole % 86400 // 3600}h"


def share(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio * 100:.0f}%"


def agent_label(agent: str) -> str:
    if agent == "ai":
        return "AI"
    if agent.startswith("token:"):
        return f"API token {agent.removeprefix('token:')}"
    return agent


def _heat(cells: list[list[int]]) -> list[list[tuple[int, int]]]:
    """Each cell's count and its shade (0 none … HEAT_LEVELS the busiest)."""
    top = max((max(row) for row in cells), default=0)
    return [[(count, 0 if not count else max(1, round(count / top * HEAT_LEVELS))) for count in row] for row in cells]


def _charts(figures: dict[str, Any], one_agent: bool) -> dict[str, Any]:
    days = [d["day"] for d in figures["daily"]]
    messages = [{"label": "Sent", "data": [d["out"] for d in figures["daily"]]}]
    if not one_agent:
        messages.insert(0, {"label": "Received", "data": [d["in"] for d in figures["daily"]]})
    conversations = [{"label": "Resolved", "data": [d["resolved"] for d in figures["daily"]]}]
    if not one_agent:
        conversations.insert(0, {"label": "New", "data": [d["new"] for d in figures["daily"]]})
    return {"messages": {"type": "bar", "labels": days, "datasets": messages},
            "conversations": {"type": "bar", "labels": days, "datasets": conversations}}


@bp.get("/analytics")
@admin_required
def analytics_page() -> ResponseReturnValue:
    """The dashboard for a period (the form's GET), optionally one agent's."""
    raw = values(request.args)
    if raw.get("period") != "custom":  # the form keeps the dates it had; only a custom period reads them
        raw.pop("from", None)
        raw.pop("to", None)
    notice, status = None, 200
    try:
        query = parse(AnalyticsQuery, raw)
        chosen = analytics.period(query.period, query.start, query.end, query.agent)
    except AppError as exc:
        notice, status = exc.message, 400
        query = AnalyticsQuery()
        chosen = analytics.period()
    figures = analytics.figures(chosen)
    agents = [row["agent"] for row in figures["agents"]]
    return render_template(
        "analytics.html", page_title="Analytics", figures=figures, totals=figures["totals"], query=query,
        chosen=chosen, notice=notice,
        periods=PERIOD_NAMES, agents=agents, charts=_charts(figures, bool(chosen.agent)),
        heat=_heat(figures["heatmap"]["cells"]), duration=duration, share=share, agent_label=agent_label,
    ), status
