"""The dashboard's figures for a period (and optionally one agent), computed from the day rollups
only: one `_id` lookup per day (and per agent active that day), never the messages.

Percentiles: the median is the middle duration (the mean of the two middle ones for an even count);
the 90th percentile is the nearest rank (the smallest duration at or above 90 % of them)."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from ..core.clock import utcnow
from ..core.errors import Invalid
from .documents import DURATION_LISTS, DayRollup, day_id

PERIODS = {"today": 1, "7d": 7, "30d": 30}
MAX_DAYS = 366
TIMEZONE = "UTC"  # there is no time-zone setting: days and hours are UTC
COUNTERS = ("in", "out", "out_ai", "new", "answered", "ai_answered", "handoffs", "resolved")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Period:
    name: str
    start: date
    end: date  # inclusive
    agent: str | None = None

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]


def period(name: str = "7d", start: str | None = None, end: str | None = None, agent: str | None = None,
           *, today: date | None = None) -> Period:
    """The period a query names; Invalid naming the field when it makes no sense."""
    today = today or utcnow().date()
    if name != "custom":
        extra = {k: "only with period=custom" for k, v in (("from", start), ("to", end)) if v}
        if extra:
            raise Invalid(f"Invalid query: check {', '.join(extra)}.", extra)
        return Period(name, today - timedelta(days=PERIODS[name] - 1), today, agent)
    problems: dict[str, str] = {}
    first, last = _date(start, "from", problems), _date(end, "to", problems)
    if first and last:
        if last < first:
            problems["to"] = "must not be before from"
        elif (last - first).days + 1 > MAX_DAYS:
            problems["to"] = f"must be at most {MAX_DAYS} days after from"
    if problems:
        raise Invalid(f"Invalid query: check {', '.join(problems)}.", problems)
    return Period(name, first, last, agent)  # type: ignore[arg-type]


def _date(raw: str | None, name: str, problems: dict[str, str]) -> date | None:
    if not raw:
        problems[name] = "is required with period=custom"
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        problems[name] = "must be a date: YYYY-MM-DD"
        return None


def percentiles(durations: list[float]) -> dict[str, float | int | None]:
    if not durations:
        return {"count": 0, "median": None, "p90": None}
    ordered = sorted(durations)
    p90 = ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]
    return {"count": len(ordered), "median": float(statistics.median(ordered)), "p90": float(p90)}


@dataclass
class Tally:
    """Counters and durations summed over days."""

    counters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    durations: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in DURATION_LISTS})
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DURATION_LISTS, 0))

    def add(self, doc: dict[str, Any]) -> None:
        for name in COUNTERS:
            self.counters[name] += int(doc.get(name) or 0)
        for name in DURATION_LISTS:
            self.durations[name].extend(doc.get(name) or [])
            self.counts[name] += int(doc.get(f"{name}_n") or 0)

    def timing(self, name: str) -> dict[str, float | int | None]:
        found = percentiles(self.durations[name])
        found["count"] = max(self.counts[name], int(found["count"] or 0))  # beyond the kept ones too
        return found


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def figures(chosen: Period) -> dict[str, Any]:
    """Everything the dashboard and GET /api/analytics show, as plain data (snake_case keys)."""
    days = [d.isoformat() for d in chosen.days]
    business = {doc["_id"]: doc for doc in DayRollup.read(days)}
    agents = sorted({a for doc in business.values() for a in (doc.get("agents") or [])})
    if chosen.agent and chosen.agent not in agents:
        agents.append(chosen.agent)
    per_agent: dict[str, Tally] = {a: Tally() for a in agents}
    wanted = [day_id(day, a) for day in days
              for a in sorted(set((business.get(day) or {}).get("agents") or []) | ({chosen.agent} - {None}))]
    agent_docs = {doc["_id"]: doc for doc in DayRollup.read(wanted)}
    for doc in agent_docs.values():
        per_agent[doc["agent"]].add(doc)

    total = Tally()
    daily = []
    heat = [[0] * 24 for _ in WEEKDAYS]
    for day, when in zip(days, chosen.days, strict=True):
        doc = agent_docs.get(day_id(day, chosen.agent)) if chosen.agent else business.get(day)
        doc = doc or {}
        total.add(doc)
        daily.append({"day": day, **{name: int(doc.get(name) or 0) for name in COUNTERS}})
        for hour, count in (doc.get("hours") or {}).items():
            heat[when.weekday()][int(hour.removeprefix("h"))] += int(count)

    counters = total.counters
    return {
        "period": {"name": chosen.name, "from": chosen.start.isoformat(), "to": chosen.end.isoformat(),
                   "days": len(days), "timezone": TIMEZONE, "agent": chosen.agent},
        "totals": {
            "messages_in": counters["in"], "messages_out": counters["out"], "ai_messages_out": counters["out_ai"],
            "new_conversations": counters["new"], "resolved": counters["resolved"],
            "answered": counters["answered"], "ai_answered": counters["ai_answered"],
            "first_response": total.timing("frt"), "ai_first_response": total.timing("ai_frt"),
            "resolution": total.timing("res"),
            "ai_share": _ratio(counters["ai_answered"], counters["answered"]),
            "handoffs": counters["handoffs"], "handoff_rate": _ratio(counters["handoffs"], counters["ai_answered"]),
        },
        "daily": daily,
        "heatmap": {"counts": "sent" if chosen.agent else "received", "weekdays": list(WEEKDAYS), "cells": heat},
        "agents": [
            {"agent": name, "messages_out": tally.counters["out"], "first_response": tally.timing("frt"),
             "ai_first_response": tally.timing("ai_frt"), "answered": tally.counters["answered"],
             "resolved": tally.counters["resolved"], "resolution": tally.timing("res")}
            for name, tally in sorted(per_agent.items())
        ],
    }
