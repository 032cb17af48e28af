"""Waiting for something another process does."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def eventually(check: Callable[[], Any], timeout: float = 8.0, interval: float = 0.05) -> Any:
    """Poll until check() returns something truthy (and return it), or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout}s: {getattr(check, '__name__', check)}")
        time.sleep(interval)
