"""Whether a decoded JSON value from a request can be stored in MongoDB and used in a query as data.

Two things can make it otherwise: a key that MongoDB reads as an operator (`$gt`, `$where`) or as
a path (`a.b`), and a string that is not valid Unicode (a lone surrogate such as "\\ud800", which
JSON can spell but BSON cannot encode). Pure: no I/O, no imports from the app.

A value kept as (part of) a document (`stored=True`: a webhook message's content, context and errors)
must also be one the database accepts, or the write fails after the delivery was acknowledged. Each of
these was seen refused by FerretDB 1.24 (MongoDB refuses most of them too):
- a key holding a NUL byte (BSON keys are C strings: the driver refuses the document);
- nesting deeper than MAX_DEPTH objects and arrays (MongoDB stops at 100 levels for a whole document,
  FerretDB's SQLite JSON a little deeper; a part is stored two or three levels down);
- an array directly inside an array (FerretDB 1.x refuses nested arrays);
- an integer outside BSON's 64 bits (the driver refuses it);
- NaN or an infinity (FerretDB refuses both; NaN makes it drop the connection).
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

UNSAFE_KEY = "is not allowed: a key may not start with $ or contain ."
NOT_UNICODE = "is not valid Unicode text (it holds a lone surrogate)"
MAX_PROBLEMS = 20
MAX_DEPTH = 32  # objects and arrays, counting the stored part itself as 1
NUL_KEY = "is not allowed: a key may not contain a NUL character"
TOO_DEEP = f"is nested too deeply: more than {MAX_DEPTH} levels of objects and arrays"
NESTED_ARRAY = "is not allowed: an array directly inside an array cannot be stored"
BIG_INTEGER = "is out of range: integers must fit in 64 bits"
NOT_FINITE = "is not allowed: numbers must be finite (no NaN or Infinity)"
INT64 = (-(2**63), 2**63 - 1)


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


def problems(value: Any, path: str = "", *, keys: bool = True, stored: bool = False) -> dict[str, str]:
    """Path → problem for each unsafe key (when `keys`) and each string that is not valid Unicode,
    anywhere in `value`, outermost first; with `stored`, also everything else the database refuses in
    a stored document (see the module's docstring). Iterative: a body nests as deep as the JSON decoder
    allowed."""
    found: dict[str, str] = {}
    queue: deque[tuple[str, Any, int, bool]] = deque([(path, value, 1, False)])
    while queue and len(found) < MAX_PROBLEMS:
        here, item, depth, in_array = queue.popleft()
        if isinstance(item, str):
            if not is_unicode(item):
                found[here or "body"] = NOT_UNICODE
        elif isinstance(item, dict | list) and stored and depth > MAX_DEPTH:
            found[here or "body"] = TOO_DEEP
        elif isinstance(item, dict):
            for key, child in item.items():
                where = join(here, key)
                if not is_unicode(key):
                    found[where.encode("utf-8", "backslashreplace").decode()] = NOT_UNICODE
                elif keys and is_unsafe_key(key):
                    found[where] = UNSAFE_KEY
                elif stored and "\x00" in key:
                    found[where.replace("\x00", "\\u0000")] = NUL_KEY
                else:
                    queue.append((where, child, depth + 1, False))
        elif isinstance(item, list):
            if stored and in_array:
                found[here or "body"] = NESTED_ARRAY
                continue
            queue.extend((join(here, i), child, depth + 1, True) for i, child in enumerate(item))
        elif stored and isinstance(item, int) and not isinstance(item, bool):
            if not INT64[0] <= item <= INT64[1]:
                found[here or "body"] = BIG_INTEGER
        elif stored and isinstance(item, float) and not math.isfinite(item):
            found[here or "body"] = NOT_FINITE
    return found
