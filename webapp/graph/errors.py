"""Meta's errors, classified once: is it worth trying again, when, and is the access token the problem.

Meta answers `{"error": {"message", "type", "code", "error_data": {"details"}, "fbtrace_id"}}`; the
same codes arrive later in a `failed` status webhook's `errors[]`."""

from __future__ import annotations

from typing import Any

import requests

# Throughput limit per number; back off and retry.
THROUGHPUT = 130429
# Too many messages to the same customer too fast: wait at least 6 s.
PAIR_RATE = 131056
PAIR_RATE_WAIT = 6.0
# More than 24 hours since the customer's last message: only a template may be sent.
WINDOW_CLOSED = 131047
TOKEN_INVALID = 190
RETRYABLE_CODES = {THROUGHPUT, PAIR_RATE, 1, 2, 131000, 133004}  # 1/2/131000: Meta's "unknown"/"temporary"

REASONS = {
    131047: "More than 24 hours have passed since the customer last wrote: send a template.",
    130429: "WhatsApp's sending limit for this number was reached; it will be tried again.",
    131056: "Too many messages to this customer too quickly; it will be tried again.",
    131048: "WhatsApp stopped this message as spam; wait before sending more to this customer.",
    131026: "WhatsApp could not deliver this message to the customer's phone.",
    131053: "WhatsApp could not accept this media file.",
    131051: "WhatsApp does not support this message type.",
    190: "The WhatsApp access token has expired or is not valid: an admin must set a new one.",
    100: "WhatsApp refused a parameter of this message.",
}


class GraphError(Exception):
    """A call to Meta failed. `retryable`: trying again later can help; `retry_after`: not before
    that many seconds; `token_invalid`: nothing will work until an admin sets a new access token."""

    def __init__(self, message: str, *, http_status: int | None = None, code: int | None = None,
                 details: str | None = None, retryable: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.code = code
        self.details = details
        self.retryable = retryable
        self.retry_after = retry_after

    @property
    def token_invalid(self) -> bool:
        return self.code == TOKEN_INVALID or self.http_status == 401

    @property
    def reason(self) -> str:
        """What an agent reads under a red tick."""
        if self.code in REASONS:
            return REASONS[self.code]
        return self.details or self.message

    def as_status_error(self) -> dict[str, Any]:
        """The shape a failed message keeps (code, title, details), as a `failed` webhook gives it."""
        return {"code": self.code if self.code is not None else self.http_status, "title": self.message,
                "details": self.reason}

    @classmethod
    def from_response(cls, response: requests.Response) -> GraphError:
        try:
            error = response.json().get("error") or {}
        except (ValueError, AttributeError):
            error = {}
        code = error.get("code") if isinstance(error.get("code"), int) else None
        data = error.get("error_data") if isinstance(error.get("error_data"), dict) else {}
        details = data.get("details") if isinstance(data.get("details"), str) else None
        message = error.get("message") if isinstance(error.get("message"), str) else f"HTTP {response.status_code}"
        status = response.status_code
        retryable = (status == 429 or status >= 500 or code in RETRYABLE_CODES) and code != TOKEN_INVALID
        retry_after = PAIR_RATE_WAIT if code == PAIR_RATE else _seconds(response.headers.get("Retry-After"))
        return cls(message, http_status=status, code=code, details=details, retryable=retryable,
                   retry_after=retry_after)

    @classmethod
    def network(cls, exc: requests.RequestException) -> GraphError:
        kind = "timed out" if isinstance(exc, requests.Timeout) else "could not be reached"
        return cls(f"Meta's Graph API {kind}", details=type(exc).__name__, retryable=True)

    @classmethod
    def unexpected(cls, message: str, *, permanent: bool = False) -> GraphError:
        return cls(message, retryable=not permanent)


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None
