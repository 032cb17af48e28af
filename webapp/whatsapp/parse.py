"""Webhook body → typed events. Pure: no I/O, no settings, no clock.

Accepts Meta's native body and the assignment's wrapper (`payload_type: whatsapp_webhook`,
entries under `metaData`). Every entry, change, message and status is returned; a body with
any malformed part is rejected whole, with the path of each problem, so nothing is half-applied.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from ..core.storable import problems as storage_problems
from .events import (
    STATUS_RANK,
    Business,
    Direction,
    Event,
    MessageEvent,
    ReactionEvent,
    StatusEvent,
    WebhookBatch,
)
from .numbers import WA_ID_PROBLEM, digits, is_wa_id

MAX_ERRORS = 20
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # JSON's spelling of a (maybe lone) surrogate


class WebhookFormatError(ValueError):
    """The body is not a webhook we accept. `errors` maps a JSON path to what is wrong there."""

    def __init__(self, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


def decode_json(raw: bytes) -> Any:
    """Decode a request body, naming the problem when it is not JSON."""
    if not raw.strip():
        raise WebhookFormatError("The request body is empty; expected a JSON object.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WebhookFormatError(f"The request body is not UTF-8 (byte {exc.start}).") from None
    try:
        body = json.loads(text, parse_constant=_not_json)
    except json.JSONDecodeError as exc:
        raise WebhookFormatError(
            f"The request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}."
        ) from None
    except RecursionError:
        raise WebhookFormatError("The request body is nested too deeply.") from None
    if SURROGATE_ESCAPE.search(text):
        # "\ud800" alone is valid JSON but no text: it could be stored raw, never processed.
        problems = storage_problems(body, keys=False)
        if problems:
            raise WebhookFormatError("The request body holds text that is not valid Unicode.", problems)
    return body


def _not_json(name: str) -> Any:
    """json.loads reads NaN and Infinity, which JSON has not (and the database refuses)."""
    raise WebhookFormatError(f"The request body is not valid JSON: {name} is not a JSON number.")


def parse_timestamp(value: Any) -> datetime:
    """WhatsApp's timestamps are Unix seconds, usually as a string."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError("must be Unix seconds")
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError("must be Unix seconds") from None
    if not 0 <= seconds < 32503680000:  # before year 3000
        raise ValueError("is out of range")
    return datetime.fromtimestamp(seconds, tz=UTC)


class _Reader:
    """Walks one body, collecting problems by path instead of stopping at the first."""

    def __init__(self, default_business: Business) -> None:
        self.default_business = default_business
        self.errors: dict[str, str] = {}
        self.events: list[Event] = []
        self.ignored: list[str] = []

    def problem(self, path: str, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors[path] = message

    def obj(self, value: Any, path: str) -> dict[str, Any] | None:
        if isinstance(value, dict):
            return value
        self.problem(path, "must be an object")
        return None

    def array(self, value: Any, path: str, *, optional: bool = True) -> list[Any]:
        if value is None and optional:
            return []
        if isinstance(value, list):
            return value
        self.problem(path, "must be an array")
        return []

    def string(self, parent: dict[str, Any], key: str, path: str, *, required: bool = True) -> str | None:
        value = parent.get(key)
        if value is None:
            if required:
                self.problem(f"{path}.{key}", "is required")
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            self.problem(f"{path}.{key}", "must be a string")
            return None
        text = str(value).strip()
        if required and not text:
            self.problem(f"{path}.{key}", "must not be empty")
            return None
        return text

    def phone(self, parent: dict[str, Any], key: str, path: str, *, required: bool = True) -> str | None:
        value = self.string(parent, key, path, required=required)
        if value is None:
            return None
        if not is_wa_id(value):
            self.problem(f"{path}.{key}", WA_ID_PROBLEM)
            return None
        return digits(value)

    def storable(self, value: Any, path: str) -> bool:
        """Parts kept as documents (a message's content, context and errors, a status's errors) may hold
        no key that MongoDB reads as an operator (`$…`) or a path (`a.b`), nor anything else the database
        refuses (core.storable: NUL in a key, too deep, nested arrays, huge integers, NaN): the write
        path checks the same again, so what passes here is never refused after the 200."""
        problems = storage_problems(value, path, stored=True)
        for where, problem in problems.items():
            self.problem(where, problem)
        return not problems

    def timestamp(self, parent: dict[str, Any], path: str) -> datetime | None:
        if "timestamp" not in parent:
            self.problem(f"{path}.timestamp", "is required")
            return None
        try:
            return parse_timestamp(parent["timestamp"])
        except ValueError as exc:
            self.problem(f"{path}.timestamp", str(exc))
            return None

    # --- the body -------------------------------------------------------------------------

    def body(self, body: Any) -> str:
        if not isinstance(body, dict):
            raise WebhookFormatError(f"The body must be a JSON object, not {type(body).__name__}.")
        if body.get("payload_type") == "whatsapp_webhook" or "metaData" in body:
            meta = body.get("metaData")
            if not isinstance(meta, dict):
                raise WebhookFormatError(
                    "A whatsapp_webhook wrapper needs a metaData object holding the entries.",
                    {"metaData": "must be an object"},
                )
            self.entries(meta.get("entry"), "metaData.entry")
            return "wrapper"
        if "entry" in body or body.get("object") == "whatsapp_business_account":
            obj = body.get("object")
            if obj is not None and obj != "whatsapp_business_account":
                raise WebhookFormatError(
                    f"Unsupported object {obj!r}: expected 'whatsapp_business_account'.",
                    {"object": "must be 'whatsapp_business_account'"},
                )
            self.entries(body.get("entry"), "entry")
            return "meta"
        raise WebhookFormatError(
            "Not a WhatsApp webhook: expected Meta's body "
            '({"object": "whatsapp_business_account", "entry": [...]}) or the wrapper '
            '({"payload_type": "whatsapp_webhook", "metaData": {"entry": [...]}}).'
        )

    def entries(self, value: Any, path: str) -> None:
        if value is None:
            self.problem(path, "is required")
            return
        for i, entry in enumerate(self.array(value, path, optional=False)):
            entry_path = f"{path}[{i}]"
            entry = self.obj(entry, entry_path)
            if entry is None:
                continue
            for j, change in enumerate(self.array(entry.get("changes"), f"{entry_path}.changes", optional=False)):
                self.change(change, f"{entry_path}.changes[{j}]")

    def change(self, change: Any, path: str) -> None:
        change = self.obj(change, path)
        if change is None:
            return
        field = change.get("field", "messages")
        if field != "messages":
            self.ignored.append(str(field))
            return
        value = self.obj(change.get("value"), f"{path}.value")
        if value is None:
            return
        path = f"{path}.value"
        business = self.business(value.get("metadata"), f"{path}.metadata")
        names: dict[str, str] = {}
        contacts = self.array(value.get("contacts"), f"{path}.contacts")
        for k, contact in enumerate(contacts):
            contact = self.obj(contact, f"{path}.contacts[{k}]")
            if contact is None:
                continue
            wa_id = self.phone(contact, "wa_id", f"{path}.contacts[{k}]", required=False)
            profile = contact.get("profile")
            name = profile.get("name") if isinstance(profile, dict) else None
            if wa_id and isinstance(name, str) and name.strip():
                names[wa_id] = name.strip()[:256]
        first_contact = next(iter(names), None)
        if first_contact is None and contacts and isinstance(contacts[0], dict):
            first_contact = self.phone(contacts[0], "wa_id", f"{path}.contacts[0]", required=False)
        for k, message in enumerate(self.array(value.get("messages"), f"{path}.messages")):
            self.message(message, f"{path}.messages[{k}]", business, names, first_contact)
        for k, status in enumerate(self.array(value.get("statuses"), f"{path}.statuses")):
            self.status(status, f"{path}.statuses[{k}]", business)

    def business(self, metadata: Any, path: str) -> Business:
        if metadata is None:
            return self.default_business
        metadata = self.obj(metadata, path)
        if metadata is None:
            return self.default_business
        pid = self.string(metadata, "phone_number_id", path, required=False)
        if pid is not None and not pid.isdigit():
            self.problem(f"{path}.phone_number_id", "must be digits")
            pid = None
        display = self.phone(metadata, "display_phone_number", path, required=False)
        return Business(
            phone_number_id=pid or self.default_business.phone_number_id,
            display_number=display or self.default_business.display_number,
        )

    def message(
        self,
        message: Any,
        path: str,
        business: Business,
        names: dict[str, str],
        first_contact: str | None,
    ) -> None:
        message = self.obj(message, path)
        if message is None:
            return
        wamid = self.string(message, "id", path)
        sender = self.phone(message, "from", path)
        timestamp = self.timestamp(message, path)
        mtype = self.string(message, "type", path, required=False) or "unsupported"
        to = self.phone(message, "to", path, required=False)
        if wamid is None or sender is None or timestamp is None:
            return
        direction: Direction = "outbound" if sender == business.display_number else "inbound"
        if direction == "inbound":
            contact, recipient = sender, business.display_number
        else:
            contact = to or first_contact
            if contact is None:
                self.problem(path, "a message from the business needs `to` or a contact to say who it was sent to")
                return
            recipient = contact
        context = message.get("context")
        if context is not None and not isinstance(context, dict):
            self.problem(f"{path}.context", "must be an object")
            return
        errors = message.get("errors") if isinstance(message.get("errors"), list) else []
        kept = [(f"{path}.context", context), (f"{path}.errors", errors), (f"{path}.{mtype}", message.get(mtype))]
        if not all([self.storable(value, where) for where, value in kept]):
            return
        common = {
            "wamid": wamid,
            "business": business,
            "contact_wa_id": contact,
            "contact_name": names.get(contact),
            "direction": direction,
            "sender": sender,
            "timestamp": timestamp,
        }
        if mtype == "reaction":
            reaction = self.obj(message.get("reaction"), f"{path}.reaction")
            if reaction is None:
                return
            target = self.string(reaction, "message_id", f"{path}.reaction")
            emoji = reaction.get("emoji", "")
            if not isinstance(emoji, str) or len(emoji) > 32:
                self.problem(f"{path}.reaction.emoji", "must be a short string (empty removes the reaction)")
                return
            if target is None:
                return
            self.events.append(ReactionEvent(**common, target_wamid=target, emoji=emoji))
            return
        content = message.get(mtype)
        if mtype == "text":
            text = self.obj(content, f"{path}.text")
            if text is None:
                return
            if not isinstance(text.get("body"), str):
                self.problem(f"{path}.text.body", "must be a string")
                return
        self.events.append(
            MessageEvent(
                **common,
                recipient=recipient,
                type=mtype,
                content=content,
                context=context,
                errors=[e for e in errors if isinstance(e, dict)],
            )
        )

    def status(self, status: Any, path: str, business: Business) -> None:
        status = self.obj(status, path)
        if status is None:
            return
        wamid = self.string(status, "id", path)
        name = self.string(status, "status", path)
        timestamp = self.timestamp(status, path)
        recipient = self.phone(status, "recipient_id", path, required=False)
        if name is not None and (name not in STATUS_RANK or name == "pending"):
            # A status WhatsApp may add later (it has added some before): kept in the raw log only.
            self.ignored.append(f"status:{name}")
            return
        errors = status.get("errors")
        if errors is not None and not isinstance(errors, list):
            self.problem(f"{path}.errors", "must be an array")
            return
        if not self.storable(errors, f"{path}.errors"):
            return
        if wamid is None or name is None or timestamp is None:
            return
        self.events.append(
            StatusEvent(
                wamid=wamid,
                status=name,
                timestamp=timestamp,
                business=business,
                recipient_id=recipient,
                errors=[e for e in errors or [] if isinstance(e, dict)],
            )
        )


def parse_webhook(body: Any, default_business: Business) -> WebhookBatch:
    """Parse a decoded webhook body into events, or raise WebhookFormatError naming each problem."""
    reader = _Reader(default_business)
    shape = reader.body(body)
    if reader.errors:
        count = len(reader.errors)
        raise WebhookFormatError(
            f"The webhook body has {count} problem{'s' if count > 1 else ''}; nothing was stored.",
            reader.errors,
        )
    return WebhookBatch(shape=shape, events=reader.events, ignored=reader.ignored)  # type: ignore[arg-type]
