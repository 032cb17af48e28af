"""Business hours: whether the business is open now, and which closed period it is in (the away message
goes once per conversation per closed period)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ..core.clock import utcnow
from ..settings.definitions import DAYS


def _time(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def closed_period(values: dict[str, Any], now: datetime | None = None) -> str | None:
    """None while open (or when business hours are off); else the closed period's name: when it began
    (the last closing time, ISO), so every message of one night or weekend shares it."""
    if not values.get("hours.enabled"):
        return None
    zone = ZoneInfo(values["hours.timezone"])
    local = (now or utcnow()).astimezone(zone)
    days = set(values["hours.days"])
    opens, closes = _time(values["hours.open"]), _time(values["hours.close"])
    if DAYS[local.weekday()] in days and opens <= local.time() < closes:
        return None
    for back in range(0, 8):
        day = (local - timedelta(days=back)).date()
        if DAYS[day.weekday()] not in days:
            continue
        closed_at = datetime.combine(day, closes, tzinfo=zone)
        if closed_at <= local:
            return closed_at.isoformat()
    return "closed"  # no open day in the last week: one long closed period
