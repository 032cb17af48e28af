"""A job function for the tests of webapp.core.jobs, run by real `flask worker` processes (they
import it from here: the worker's working directory is the project root)."""

from __future__ import annotations

import time

import mongoengine
from flask import current_app


def record_attempt(key: str) -> int:
    """Note one attempt in the app's database (so only with the app's context and connection) and
    fail until the test writes `{"_id": key}` into `job_fixes`. Returns the attempt's number."""
    db = mongoengine.get_db()
    db.job_attempts.insert_one({"key": key, "at": time.time(), "app": current_app.name})
    attempt = db.job_attempts.count_documents({"key": key})
    if db.job_fixes.find_one({"_id": key}) is None:
        raise RuntimeError(f"{key} is not fixed yet (attempt {attempt})")
    return attempt
