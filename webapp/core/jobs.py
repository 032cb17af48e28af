"""Background jobs: RQ over Redis, run by `flask worker` processes; without REDIS_URL, in this process.

A feature enqueues a job function from its own `tasks` module (webapp.demo.tasks, ...) with
`enqueue(func, *args)`. Job functions take plain arguments (ids, strings), run inside the app's
context, and are idempotent: a retry (after 2, 10, 30 s by default) or a requeue repeats no effect.

- REDIS_URL set: jobs go to the `default` queue in Redis. `flask worker` runs them, each inside
  `create_app().app_context()`, in the worker's own process (a plain process, no eventlet), with
  RQ's scheduler for delayed jobs and retries. A job that fails on every try stays in RQ's failed
  registry: `flask jobs failed` lists it, `flask jobs requeue ID|--all` runs it again.
- REDIS_URL unset (development without Redis, the test client): the same function runs in this
  process as a background task (Socket.IO's, so a green thread under eventlet), with the same delay
  and retries; one that keeps failing is logged. Nothing survives a restart.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from redis import Redis
from rq import Queue, Retry, SimpleWorker, get_current_job
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry

from .extensions import socketio

log = logging.getLogger(__name__)

QUEUE_NAME = "default"
RETRY_INTERVALS: tuple[int, ...] = (2, 10, 30)  # seconds before each retry: backoff, then the failed registry
JOB_TIMEOUT = 60  # seconds; a job taking longer is stopped and counts as failed

JobFunction = Callable[..., Any]

# Jobs run in this process (no REDIS_URL): which try this thread's job is on.
_here = threading.local()


def is_last_attempt() -> bool:
    """Whether the running job has no retry left: a job that must not fail silently (a message
    send) records its failure for good then, instead of raising for a retry."""
    job = get_current_job()
    if job is not None:
        return not job.retries_left
    return getattr(_here, "retries_left", 0) == 0


@dataclass
class JobQueue:
    """One app's way to run jobs: an RQ queue on Redis, or (queue None) this process."""

    app: Flask
    queue: Queue | None

    def redis_queue(self) -> Queue:
        """The queue, for the worker and the CLI; without REDIS_URL there is none to work on."""
        if self.queue is None:
            raise click.ClickException(
                "REDIS_URL is not set: jobs run inside the web process and there is no queue; set REDIS_URL "
                "and start `flask worker`"
            )
        return self.queue

    def enqueue(self, func: JobFunction, *args: Any, delay: float = 0, job_id: str | None = None,
                retry_intervals: Sequence[int] = RETRY_INTERVALS) -> str | None:
        if self.queue is None:
            socketio.start_background_task(_run_here, self.app, func, args, delay, tuple(retry_intervals))
            return None
        options: dict[str, Any] = {"job_id": job_id, "job_timeout": JOB_TIMEOUT}
        if retry_intervals:
            options["retry"] = Retry(max=len(retry_intervals), interval=list(retry_intervals))
        if delay > 0:
            job = self.queue.enqueue_in(timedelta(seconds=delay), func, *args, **options)
        else:
            job = self.queue.enqueue(func, *args, **options)
        return job.id


def init_app(app: Flask, redis_url: str) -> JobQueue:
    queue = Queue(QUEUE_NAME, connection=Redis.from_url(redis_url)) if redis_url else None
    jobs = JobQueue(app, queue)
    app.extensions["jobs"] = jobs
    if queue is None:
        log.info("jobs run in this process; set REDIS_URL for workers")
        if app.config.get("APP_ENV") == "production":
            log.warning("APP_ENV=production without REDIS_URL: jobs run in the web process and are lost on restart")
    app.cli.add_command(worker_command)
    app.cli.add_command(jobs_cli)
    return jobs


def enqueue(func: JobFunction, *args: Any, delay: float = 0, job_id: str | None = None,
            retry_intervals: Sequence[int] = RETRY_INTERVALS) -> str | None:
    """Run `func(*args)` in a worker (after `delay` seconds), retried with backoff when it raises.
    Returns the RQ job id, or None when the job runs in this process (REDIS_URL unset)."""
    jobs: JobQueue = current_app.extensions["jobs"]
    return jobs.enqueue(func, *args, delay=delay, job_id=job_id, retry_intervals=retry_intervals)


def redis_connection() -> Redis | None:
    """The job queue's Redis (REDIS_URL), for small shared state beside the jobs; None without it."""
    jobs: JobQueue = current_app.extensions["jobs"]
    return jobs.queue.connection if jobs.queue is not None else None


def retry_no_sooner_than(seconds: float) -> None:
    """The running job's next try (if it raises and has one left) waits at least `seconds`: a service's
    own `Retry-After`, longer than the job's retry interval."""
    wait = math.ceil(seconds)
    job = get_current_job()
    if job is None:
        _here.wait_at_least = wait
        return
    if job.retry_intervals and job.retries_left:
        intervals = list(job.retry_intervals)
        index = max(len(intervals) - job.retries_left, 0)
        # RQ's scheduler keeps a retry's time in whole seconds, cut down: up to a second early without the + 1
        intervals[index] = max(intervals[index], wait + 1)
        job.retry_intervals = intervals  # RQ reads it when it schedules the retry, after the job raised


def _run_here(app: Flask, func: JobFunction, args: tuple[Any, ...], delay: float,
              retry_intervals: tuple[int, ...]) -> None:
    """Without Redis: run the job in this process, with the same delay and retries a worker would use."""
    waits = [delay, *retry_intervals]
    name = f"{func.__module__}.{func.__qualname__}"
    for attempt, wait in enumerate(waits, start=1):
        if wait > 0:
            socketio.sleep(wait)
        try:
            _here.retries_left = len(waits) - attempt
            _here.wait_at_least = 0
            with app.app_context():
                func(*args)
            return
        except Exception:
            if attempt == len(waits):
                log.exception("job %s%r failed %d time(s); giving up", name, args, attempt)
                return
            waits[attempt] = max(waits[attempt], _here.wait_at_least)
            log.warning("job %s%r failed (try %d); retrying in %ss", name, args, attempt, waits[attempt],
                        exc_info=True)


class AppWorker(SimpleWorker):
    """An RQ worker that runs each job in the worker's own process, inside a fresh app context (no
    fork per job: the app, its database connection and its templates are made once)."""

    def __init__(self, *args: Any, app: Flask, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.app = app

    def perform_job(self, job: Job, queue: Queue, *args: Any, **kwargs: Any) -> bool:
        with self.app.app_context():
            return super().perform_job(job, queue, *args, **kwargs)


@click.command("worker")
@click.option("--burst", is_flag=True, help="Run the jobs queued now, then exit.")
@with_appcontext
def worker_command(burst: bool) -> None:
    """Run background jobs from Redis (REDIS_URL) until stopped."""
    queue = _jobs().redis_queue()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    worker = AppWorker([queue], connection=queue.connection, app=app)
    click.echo(f"Worker {worker.name} runs jobs from queue {QUEUE_NAME!r}", err=True)
    if not burst:
        _start_periodic(app, queue.connection)
    worker.work(burst=burst, with_scheduler=True, logging_level=current_app.config.get("LOG_LEVEL", "INFO"))


# --- periodic checks: run by every `flask worker`, each one by a single worker per period --------------------


@dataclass
class Periodic:
    name: str
    every: float  # seconds
    func: JobFunction


def every(app: Flask, name: str, seconds: float, func: JobFunction) -> None:
    """Have the workers run `func()` (in the app's context) every `seconds` (0: never). Each period one
    worker runs it (a Redis key taken with SET NX); a check that raises is logged and runs next period."""
    if seconds > 0:
        app.extensions.setdefault("periodic", []).append(Periodic(name, seconds, func))


def _start_periodic(app: Flask, connection: Redis) -> None:
    for check in app.extensions.get("periodic", []):
        thread = threading.Thread(target=_run_periodic, args=(app, connection, check), name=f"periodic:{check.name}",
                                  daemon=True)
        thread.start()
        log.info("worker runs %s every %ss", check.name, check.every)


def _run_periodic(app: Flask, connection: Redis, check: Periodic) -> None:
    stop = threading.Event()
    while not stop.wait(check.every):
        try:
            if not connection.set(f"periodic:{check.name}", "1", nx=True, px=max(1, int(check.every * 900))):
                continue  # another worker runs it this period
            with app.app_context():
                check.func()
        except Exception:
            log.exception("periodic check %s failed; it runs again in %ss", check.name, check.every)


jobs_cli = AppGroup("jobs", help="Background jobs that failed on every try.")


def _jobs() -> JobQueue:
    return current_app.extensions["jobs"]


def _last_error_line(job: Job) -> str:
    result = job.latest_result()
    lines = (result.exc_string or "").strip().splitlines() if result is not None else []
    return lines[-1] if lines else "(no error recorded)"


@jobs_cli.command("failed")
def failed_command() -> None:
    """List failed jobs: id, function, when it last failed, the error's last line."""
    queue = _jobs().redis_queue()
    ids = FailedJobRegistry(queue=queue).get_job_ids()
    if not ids:
        click.echo("No failed jobs.")
        return
    for job_id, job in zip(ids, Job.fetch_many(ids, connection=queue.connection), strict=True):
        if job is None:
            click.echo(f"{job_id}  (expired)")
            continue
        when = job.ended_at.isoformat(timespec="seconds") if job.ended_at else "-"
        click.echo(f"{job.id}  {job.func_name}  {when}  {_last_error_line(job)}")


@jobs_cli.command("requeue")
@click.argument("job_ids", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Requeue every failed job.")
def requeue_command(job_ids: tuple[str, ...], everything: bool) -> None:
    """Put failed jobs back on the queue (a worker runs them again)."""
    if everything == bool(job_ids):
        raise click.UsageError("name the job ids to requeue, or --all")
    registry = FailedJobRegistry(queue=_jobs().redis_queue())
    ids = registry.get_job_ids() if everything else list(job_ids)
    for job_id in ids:
        try:
            registry.requeue(job_id)
        except (NoSuchJobError, InvalidJobOperation):
            raise click.ClickException(f"no failed job {job_id!r} (see `flask jobs failed`)") from None
        click.echo(f"Requeued {job_id}")
    click.echo(f"Requeued {len(ids)} job(s).")
