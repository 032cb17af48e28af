"""Which stored deliveries are not applied yet, without reading the raw log: a Redis sorted set
(`inbox:webhooks:unfinished`, scored by arrival) that a delivery joins when it is stored and leaves once it
is processed, or given up on. The worker's sweep reads it instead of querying `webhook_events`, which
FerretDB can only answer by reading every delivery ever received (1.3 s at 10,000, 6.3 s at 50,000).

Redis is not the record: a delivery missing from the set (Redis lost it, or it was down) is still
`received` or `failed` in the database, and the sweep's full scan finds it (at a worker's first sweep and
every WEBHOOK_FULL_SWEEP_SECONDS after). Without REDIS_URL there is no set and no worker; `flask webhooks
replay --failed` always scans."""

from __future__ import annotations

import logging
from datetime import datetime

from redis import RedisError

from ..core.jobs import redis_connection

log = logging.getLogger(__name__)

KEY = "inbox:webhooks:unfinished"
FULL_SCAN_KEY = "inbox:webhooks:full-scan"


def note(event_id: str, received_at: datetime) -> None:
    """A delivery is stored: it is unfinished until `done`."""
    _call("note", lambda redis: redis.zadd(KEY, {event_id: received_at.timestamp()}))


def done(event_id: str) -> None:
    _call("done", lambda redis: redis.zrem(KEY, event_id))


def due(before: datetime, limit: int = 1000) -> list[str] | None:
    """The unfinished deliveries that arrived before `before`, oldest first; None without Redis (scan instead)."""
    redis = redis_connection()
    if redis is None:
        return None
    try:
        return [i.decode() if isinstance(i, bytes) else str(i)
                for i in redis.zrangebyscore(KEY, "-inf", before.timestamp(), start=0, num=limit)]
    except RedisError:
        log.warning("unfinished deliveries: Redis unavailable; the sweep scans the raw log", exc_info=True)
        return None


def full_scan_due(every: float) -> bool:
    """Whether this sweep also scans the raw log (at most once every `every` seconds across the workers)."""
    redis = redis_connection()
    if redis is None:
        return True
    try:
        return bool(redis.set(FULL_SCAN_KEY, "1", nx=True, px=max(1, int(every * 1000))))
    except RedisError:
        return True


def _call(what: str, action: object) -> None:
    redis = redis_connection()
    if redis is None:
        return
    try:
        action(redis)  # type: ignore[operator]
    except RedisError:  # the full scan finds what the set missed
        log.warning("unfinished deliveries: could not %s a delivery in Redis", what, exc_info=True)
