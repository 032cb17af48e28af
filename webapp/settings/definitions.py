"""Every business setting an admin can change: its key, label, type, default and validation.

A value is stored as its Python value (bool, int, float, str, list of str). `parse_text` turns the text of
a form field or of `flask settings set KEY VALUE` into that value, or raises SettingInvalid naming the problem."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from ..core.config import FALSE_WORDS, TRUE_WORDS

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")

# English, Spanish, Hindi (Devanagari and Latin script), Portuguese.
DEFAULT_HANDOFF_KEYWORDS = [
    "human", "agent", "person", "representative", "speak to someone", "talk to someone", "real person",
    "humano", "agente", "persona", "hablar con alguien", "asesor",
    "इंसान", "एजेंट", "व्यक्ति", "insaan", "kisi se baat",
    "atendente", "pessoa", "falar com alguém", "falar com alguem",
]


class SettingInvalid(ValueError):
    """A value a setting does not accept; the message says what it accepts."""


@dataclass(frozen=True)
class Setting:
    key: str
    label: str
    kind: str  # bool | int | float | str | text | list | days | time | timezone | choice
    default: Any
    help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    max_length: int = 4000
    group: str = "AI"
    check: Callable[[Any], None] | None = field(default=None, compare=False)

    def parse_text(self, text: str) -> Any:
        """The value for the text typed in a form field or on the command line."""
        raw = text.strip()
        if self.kind == "bool":
            word = raw.lower()
            if word in TRUE_WORDS:
                return True
            if word in FALSE_WORDS:
                return False
            raise SettingInvalid("must be true or false")
        if self.kind in ("list", "days"):
            if raw.startswith("["):
                try:
                    items = json.loads(raw)
                except ValueError:
                    raise SettingInvalid("must be a JSON list or comma-separated words") from None
            else:
                items = re.split(r"[,\n]", raw)
            return self.validate([str(item) for item in items])
        return self.validate(raw)

    def validate(self, value: Any) -> Any:
        """The value, checked and normalised (e.g. "8" for an int becomes 8)."""
        kind = self.kind
        if kind == "bool":
            if not isinstance(value, bool):
                raise SettingInvalid("must be true or false")
            return value
        if kind in ("int", "float"):
            if isinstance(value, bool):
                raise SettingInvalid("must be a number")
            try:
                number: float = int(str(value)) if kind == "int" else float(value)
            except (TypeError, ValueError):
                raise SettingInvalid("must be a whole number" if kind == "int" else "must be a number") from None
            if self.minimum is not None and number < self.minimum:
                raise SettingInvalid(f"must be at least {_num(self.minimum)}")
            if self.maximum is not None and number > self.maximum:
                raise SettingInvalid(f"must be at most {_num(self.maximum)}")
            return number
        if kind in ("list", "days"):
            if not isinstance(value, list):
                raise SettingInvalid("must be a list")
            items = [str(item).strip() for item in value if str(item).strip()]
            if kind == "days":
                items = [item.lower()[:3] for item in items]
                wrong = [item for item in items if item not in DAYS]
                if wrong:
                    raise SettingInvalid(f"days are {', '.join(DAYS)}; not {', '.join(wrong)}")
                return [day for day in DAYS if day in items]
            if any(len(item) > 100 for item in items):
                raise SettingInvalid("each item must be at most 100 characters")
            return list(dict.fromkeys(items))
        if not isinstance(value, str):
            raise SettingInvalid("must be text")
        value = value.strip() if kind != "text" else value.strip("\n").rstrip()
        if len(value) > self.max_length:
            raise SettingInvalid(f"must be at most {self.max_length} characters")
        if kind == "time" and not HHMM.fullmatch(value):
            raise SettingInvalid("must be a time as HH:MM (24-hour), e.g. 09:00")
        if kind == "timezone":
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise SettingInvalid("must be an IANA time zone, e.g. UTC, Europe/Madrid, Asia/Kolkata") from None
        if self.check is not None:
            self.check(value)
        return value

    def show(self, value: Any) -> str:
        """The value as `flask settings show` prints it and `flask settings set` takes it back."""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, list):
            return ", ".join(value)
        return str(value)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _languages(value: str) -> None:
    if not re.fullmatch(r"[a-z_]{3,}(\+[a-z_]{3,})*", value):
        raise SettingInvalid("must be Tesseract language codes joined by +, e.g. eng or eng+spa")


DEFINITIONS: tuple[Setting, ...] = (
    Setting("ai.enabled", "AI auto-reply", "bool", False,
            "Answer customers with the AI (needs AI_BASE_URL in the environment)."),
    Setting("ai.persona", "Persona", "text", "You are the friendly customer-support assistant of {business}. "
            "Answer briefly and politely, in the customer's language.", "Who the AI is; {business} is the "
            "business's name.", max_length=2000),
    Setting("ai.instructions", "Instructions", "text", "", "What the AI should know and do (prices, opening "
            "times, policies). Sent with every request.", max_length=8000),
    Setting("ai.model", "Model", "str", "", "Empty: AI_MODEL from the environment.", max_length=200),
    Setting("ai.temperature", "Temperature", "float", 0.3, "0 (predictable) to 2 (inventive).", 0, 2),
    Setting("ai.max_reply_tokens", "Maximum reply length (tokens)", "int", 300,
            "The longest answer the model may write (max_tokens).", 16, 4096),
    Setting("ai.history_messages", "History window (messages)", "int", 12,
            "How many recent messages of the conversation go with each request.", 1, 100),
    Setting("ai.daily_token_budget", "Daily token budget (whole business)", "int", 200000,
            "Tokens per day (UTC) for all conversations; 0 = no limit. Over it the AI hands over.", 0, 10**9),
    Setting("ai.conversation_token_cap", "Token cap per conversation", "int", 20000,
            "Tokens one conversation may use while the AI handles it; 0 = no limit.", 0, 10**9),
    Setting("ai.max_turns", "AI turns before handing over", "int", 8,
            "Replies the AI may send in one conversation before passing it to a person; 0 = no limit.", 0, 1000),
    Setting("ai.debounce_seconds", "Wait for more messages (seconds)", "float", 3.0,
            "Quick messages from the customer within this time get one reply.", 0, 60),
    Setting("ai.timeout_seconds", "AI call timeout (seconds)", "float", 20.0,
            "A model slower than this hands the conversation over.", 1, 120),
    Setting("ai.handoff_keywords", "Handoff keywords", "list", DEFAULT_HANDOFF_KEYWORDS,
            "A customer message containing one of these passes the conversation to a person (comma-separated)."),
    Setting("ai.handoff_message", "Handoff message", "text",
            "Thanks for your patience! A person from our team will reply here shortly.",
            "Sent to the customer when the AI hands over.", max_length=1000),
    Setting("ai.greeting", "Greeting for new contacts", "text", "",
            "Sent once to a contact who writes for the first time; empty = none.", max_length=1000,
            group="Messages"),
    Setting("hours.enabled", "Business hours", "bool", False,
            "Outside these hours, conversations handled by people get the away message.", group="Business hours"),
    Setting("hours.timezone", "Time zone", "timezone", "UTC", group="Business hours"),
    Setting("hours.days", "Open days", "days", ["mon", "tue", "wed", "thu", "fri"],
            "mon, tue, wed, thu, fri, sat, sun", group="Business hours"),
    Setting("hours.open", "Opens at", "time", "09:00", "HH:MM", group="Business hours"),
    Setting("hours.close", "Closes at", "time", "18:00", "HH:MM (after the opening time)", group="Business hours"),
    Setting("hours.away_message", "Away message", "text",
            "Thanks for your message! We're closed right now and will reply when we're back.",
            "Sent once per conversation while closed.", max_length=1000, group="Business hours"),
    Setting("ocr.languages", "Text recognition languages", "str", "eng",
            "Tesseract languages for reading pictures, joined by + (eng+spa).", max_length=100, group="Documents",
            check=_languages),
)

BY_KEY: dict[str, Setting] = {setting.key: setting for setting in DEFINITIONS}
ZONES = sorted(available_timezones())


def definition(key: str) -> Setting:
    try:
        return BY_KEY[key]
    except KeyError:
        raise SettingInvalid(f"no setting {key!r}; the settings are {', '.join(BY_KEY)}") from None
