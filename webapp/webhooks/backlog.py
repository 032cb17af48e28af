"""Which stored deliveries are not applied yet, without reading the raw log: a Redis sorted set
(`inbox:webhooks:unfinished`, scored by arrival) that a delivery joins when it is stored and leaves once it
is processed, or given up on. The worker's sweep reads it instead of querying `webhook_events`, which
FerretDB can only answer by reading every delivery ever received (1.3 s at 10,000, 6.3 s at 50,000).

Redis is not the record: a delivery missing from the set (Redis lost it, or it was down) is still
`received` or `failed` in the database, and the sweep's full scan finds it (at a worker's first sweep and
every WEBHOOK_FULL_SWEEP_SECONDS after). Without REDIS_URL there is no set and no worker; `flask webhooks
replay --failed` always scans.

With WEBHOOK_APPLY=queued a stored delivery also joins a line (`inbox:webhooks:queued`, a list) that a
drain job (webhooks.tasks.apply_queued) empties; a delivery starts one only when none is waiting to start
(`inbox:webhooks:drain`, set until a drain job starts). Joining the set and the line and checking for a
waiting drain job is one round trip, where an RQ job per delivery took two and most of a millisecond."""

from __future__ import annotations

import logging
from datetime import datetime

from redis import RedisError

from ..core.jobs import redis_connection

log = logging.getLogger(__name__)

KEY = "inbox:webhooks:unfinished"
FULL_SCAN_KEY = "inbox:webhooks:full-scan"
QUEUED_KEY = "inbox:webhooks:queued"
DRAIN_KEY = "inbox:webhooks:drain"
# A drain job that was marked but never queued (Redis went away in between) holds up new ones this long at
# most; the line's deliveries are in the unfinished set meanwhile, which the sweep reads.
DRAIN_MARK_SECONDS = 30


def note(event_id: str, received_at: datetime) -> None:
    """A delivery is stored: it is unfinished until `done`."""
    _call("note", lambda redis: redis.zadd(KEY, {event_id: received_at.timestamp()}))


def queue(event_id: str, received_at: datetime) -> bool | None:
    """A delivery stored with WEBHOOK_APPLY=queued: unfinished, and in the line. Whether a drain job must
    be started (none is waiting to start); None without Redis. RedisError when Redis fails: then the caller
    applies the delivery itself."""
    redis = redis_connection()
    if redis is None:
        return None
    pipe = redis.pipeline(transaction=False)
    pipe.zadd(KEY, {event_id: received_at.timestamp()})
    pipe.rpush(QUEUED_KEY, event_id)
    pipe.set(DRAIN_KEY, "1", nx=True, ex=DRAIN_MARK_SECONDS)
    return bool(pipe.execute()[2])


def drain_started() -> None:
    """A drain job starts: a delivery in line from now on starts another (which finds the line empty, or
    shares it)."""
    _call("start draining", lambda redis: redis.delete(DRAIN_KEY))


def next_queued(most: int) -> list[str]:
    """The oldest deliveries in line (at most `most`), taken out of it; none when the line is empty or Redis
    is away (the unfinished set still holds whatever was in line)."""
    redis = redis_connection()
    if redis is None:
        return []
    try:
        taken = redis.lpop(QUEUED_KEY, most) or []
    except RedisError:
        log.warning("queued deliveries: Redis unavailable; the sweep applies what is in line", exc_info=True)
        return []
    return [i.decode() if isinstance(i, bytes) else str(i) for i in taken]


def put_back(event_ids: list[str]) -> None:
    """Deliveries taken from the line but not applied (the database went away): first in line again, in
    their order."""
    if event_ids:
        _call("put back", lambda redis: redis.lpush(QUEUED_KEY, *reversed(event_ids)))


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
