"""Whether a decoded JSON value from a request can be stored in MongoDB and used in a query as data.

Two things can make it otherwise: a key that MongoDB reads as an operator (`$gt`, `$where`) or as
a path (`a.b`), and a string that is not valid Unicode (a lone surrogate such as "\\ud800", which
JSON can spell but BSON cannot encode). Pure: no I/O, no imports from the app.
"""

from __future__ import annotations

from collections import deque
from typing import Any

UNSAFE_KEY = "is not allowed: a key may not start with $ or contain ."
NOT_UNICODE = "is not valid Unicode text (it holds a lone surrogate)"
MAX_PROBLEMS = 20


def is_unsafe_key(key: str) -> bool:
    return key.startswith("$") or "." in key


def is_unicode(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def join(path: str, key: str | int) -> str:
    """A JSON path as the webhook parser writes them: `entry[0].changes`."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def problems(value: Any, path: str = "", *, keys: bool = True) -> dict[str, str]:
    """Path → problem for each unsafe key (when `keys`) and each string that is not valid Unicode,
    anywhere in `value`, outermost first. Iterative: a body nests as deep as the JSON decoder allowed."""
    found: dict[str, str] = {}
    queue: deque[tuple[str, Any]] = deque([(path, value)])
    while queue and len(found) < MAX_PROBLEMS:
        here, item = queue.popleft()
        if isinstance(item, str):
            if not is_unicode(item):
                found[here or "body"] = NOT_UNICODE
        elif isinstance(item, dict):
            for key, child in item.items():
                where = join(here, key)
                if not is_unicode(key):
                    found[where.encode("utf-8", "backslashreplace").decode()] = NOT_UNICODE
                elif keys and is_unsafe_key(key):
                    found[where] = UNSAFE_KEY
                else:
                    queue.append((where, child))
        elif isinstance(item, list):
            queue.extend((join(here, i), child) for i, child in enumerate(item))
    return found
