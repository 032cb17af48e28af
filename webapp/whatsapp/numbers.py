"""WhatsApp's numbers (a contact's wa_id, a business's display number): one rule for the webhook
parser, the API and the pages, so that any contact a webhook stored can be opened and answered."""

from __future__ import annotations

import re

from ..core.validation import text

WA_ID_PATTERN = r"\+?[0-9]{5,20}"
WA_ID_PROBLEM = "must be a phone number: 5 to 20 digits, optionally after a +"
MAX_LENGTH = 21  # the + and 20 digits
_WA_ID = re.compile(WA_ID_PATTERN)


def is_wa_id(number: str) -> bool:
    return _WA_ID.fullmatch(number) is not None


def digits(number: str) -> str:
    """The number as stored: digits, without the +."""
    return number.strip().lstrip("+")


WaId = text(max_length=MAX_LENGTH, pattern=WA_ID_PATTERN, pattern_problem=WA_ID_PROBLEM, normalize=digits)
OptionalWaId = text(required=False, max_length=MAX_LENGTH, pattern=WA_ID_PATTERN, pattern_problem=WA_ID_PROBLEM,
                    normalize=digits)
