"""Webhook jobs (RQ tasks; see webapp.core.jobs) and the worker's periodic sweep."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from mongoengine.queryset.visitor import Q

from ..core.clock import as_utc, utcnow
from ..core.db import DB_UNAVAILABLE
from ..core.jobs import JOB_TIMEOUT, enqueue
from ..inbox.writes import safe_text
from . import backlog
from .documents import WebhookEvent
from .receive import apply_together, replay_event

log = logging.getLogger(__name__)


class DeliveryFailed(RuntimeError):
    """Processing a stored delivery failed again: raised so the job is retried."""


def process_delivery(event_id: str) -> None:
    """Apply a stored delivery: queued by the webhook (WEBHOOK_APPLY=queued), or one that failed
    (`flask webhooks replay --failed --queue`). Idempotent:
    applying a delivery again stores nothing twice, and one already processed is left alone."""
    event = WebhookEvent.objects(pk=event_id).first()
    if event is None or event.outcome == "processed":
        return
    receipt = replay_event(event)
    if receipt.outcome != "processed":
        raise DeliveryFailed(f"delivery {event_id} failed again: {receipt.error}")


DRAIN_SLICE = JOB_TIMEOUT / 2  # seconds a drain job works before it hands the rest of the line to another
DRAIN_BATCH = 100  # deliveries taken from the line at once: a customer's messages among them are stored together


def apply_queued() -> int:
    """Apply the deliveries in line (WEBHOOK_APPLY=queued; webhooks.backlog) until it is empty: the job a
    queued delivery starts when none is waiting to. It takes up to DRAIN_BATCH at a time and applies what
    it can of them together (receive.apply_together), the rest one by one, in order. A delivery that fails
    is left to the sweep (it stays `failed` or `received` in the unfinished set); when the database goes
    away the deliveries not applied go back to the head of the line and the job is retried. Returns how
    many it took and did not put back."""
    backlog.drain_started()
    started, taken = time.monotonic(), 0
    while event_ids := backlog.next_queued(DRAIN_BATCH):
        taken += len(event_ids)
        left = list(event_ids)
        try:
            one_by_one = _left_by_together(event_ids)
            left = [i for i in event_ids if i in one_by_one]
            while left and time.monotonic() - started <= DRAIN_SLICE:
                _apply_one(left[0])
                left.pop(0)
        except DB_UNAVAILABLE:
            backlog.put_back(left)
            raise
        if time.monotonic() - started > DRAIN_SLICE:
            backlog.put_back(left)
            taken -= len(left)
            enqueue(apply_queued)
            break
    return taken


def _left_by_together(event_ids: list[str]) -> set[str]:
    """Apply what can be of these deliveries together; the ids of the others (all of them, should that
    fail other than by the database going away)."""
    deliveries = [d for d in (WebhookEvent.objects(pk=i).first() for i in event_ids) if d is not None]
    try:
        return {str(d.pk) for d in apply_together(deliveries)}
    except DB_UNAVAILABLE:
        raise
    except Exception:
        log.exception("queued deliveries could not be applied together; applying them one by one")
        return set(event_ids)


def _apply_one(event_id: str) -> None:
    """A queued delivery on its own; a failure other than the database going away is left to the sweep."""
    try:
        process_delivery(event_id)
    except DB_UNAVAILABLE:
        raise
    except DeliveryFailed as exc:
        log.warning("%s; the sweep tries it again", exc)
    except Exception:
        log.exception("queued delivery %s not applied; the sweep tries it again", event_id)


def unfinished(stuck_after: float, max_attempts: int | None = None) -> list[WebhookEvent]:
    """Deliveries to apply again, oldest first: left `received` for more than `stuck_after` seconds (the
    process died, or the database went away, between storing and processing), and `failed` ones (with
    `max_attempts`, only those tried fewer times, and last tried more than `stuck_after` ago)."""
    cutoff = utcnow() - timedelta(seconds=stuck_after)
    failed = Q(outcome="failed")
    if max_attempts is not None:
        failed &= Q(attempts__lt=max_attempts) & Q(processed_at__lt=cutoff)
    return list(WebhookEvent.objects((Q(outcome="received") & Q(received_at__lt=cutoff)) | failed)
                .order_by("received_at"))


@dataclass
class Sweep:
    replayed: int = 0
    processed: int = 0
    still_failing: int = 0


def due_deliveries(stuck_after: float, max_attempts: int, full_scan_every: float) -> list[WebhookEvent]:
    """What the sweep applies again: the backlog's deliveries (webhooks.backlog: Redis, no scan) as
    `unfinished` would pick them; or, without Redis and once every `full_scan_every` seconds, `unfinished`
    itself (a scan of the raw log: what the backlog may have missed)."""
    cutoff = utcnow() - timedelta(seconds=stuck_after)
    ids = backlog.due(cutoff)
    if ids is None or backlog.full_scan_due(full_scan_every):
        return unfinished(stuck_after, max_attempts)
    found: list[WebhookEvent] = []
    for event_id in ids:
        event = WebhookEvent.objects(pk=event_id).first()
        if event is None or event.outcome == "processed" or (
                event.outcome == "failed" and (event.attempts or 0) >= max_attempts):
            backlog.done(event_id)  # finished, or left to a person (`replay --failed` scans)
        elif event.outcome == "received" or (as_utc(event.processed_at) or cutoff) <= cutoff:
            found.append(event)
    return found


PRUNE_EVERY = 3600  # seconds


def prune_deliveries(keep_days: float | None = None) -> int:
    """Delete the raw log's processed deliveries older than WEBHOOK_KEEP_DAYS (or `keep_days`); 0 keeps
    them all. Run by a worker every PRUNE_EVERY seconds, and by `flask webhooks prune`."""
    days = float(current_app.config.get("WEBHOOK_KEEP_DAYS", 30) if keep_days is None else keep_days)
    if days <= 0:
        return 0
    deleted = WebhookEvent.prune(utcnow() - timedelta(days=days))
    if deleted:
        log.info("webhook log: deleted %d processed delivery(ies) older than %g day(s)", deleted, days)
    return deleted


def sweep_deliveries() -> Sweep:
    """The worker's periodic check (every WEBHOOK_SWEEP_SECONDS, see core.jobs.every): apply again the
    deliveries left `received` for WEBHOOK_STUCK_AFTER seconds, and the `failed` ones tried fewer than
    WEBHOOK_MAX_ATTEMPTS times (a poisoned event stops being tried; `flask webhooks replay --failed`
    still takes it)."""
    config = current_app.config
    sweep = Sweep()
    due = due_deliveries(float(config.get("WEBHOOK_STUCK_AFTER", 60)), int(config.get("WEBHOOK_MAX_ATTEMPTS", 5)),
                         float(config.get("WEBHOOK_FULL_SWEEP_SECONDS", 3600)))
    for event in due:
        sweep.replayed += 1
        try:
            receipt = replay_event(event)
        except DB_UNAVAILABLE:
            raise  # the database is away: the next sweep tries again
        except Exception as exc:  # the body itself breaks processing: counted, so it stops being retried
            log.exception("webhook sweep: delivery %s failed", event.pk)
            event.record_outcome("failed", error=safe_text(f"{type(exc).__name__}: {exc}"))
            sweep.still_failing += 1
            continue
        if receipt.outcome == "processed":
            sweep.processed += 1
        else:
            sweep.still_failing += 1
    if sweep.replayed:
        log.info("webhook sweep: %d delivery(ies) applied again, %d processed, %d still failing",
                 sweep.replayed, sweep.processed, sweep.still_failing)
    return sweep
