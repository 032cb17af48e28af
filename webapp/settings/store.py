"""Reading and changing the business's settings. Reads are one `_id` lookup; every change is logged."""

from __future__ import annotations

from typing import Any

from ..core.clock import utcnow
from ..core.db import write_lock
from .definitions import BY_KEY, DEFINITIONS, SettingInvalid, definition
from .documents import SETTINGS_ID, SettingChange, StoredSettings


class SettingsInvalid(ValueError):
    """Some values were refused; `errors` maps each key to its problem. Nothing was changed."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{key} {problem}" for key, problem in errors.items()))


def _field(key: str) -> str:
    """A key as a stored field name: MongoDB paths split on dots, so "ai.enabled" is kept as "ai:enabled"."""
    return key.replace(".", ":")


def _stored() -> dict[str, Any]:
    document = StoredSettings._get_collection().find_one({"_id": SETTINGS_ID}) or {}
    return {field.replace(":", "."): value for field, value in (document.get("values") or {}).items()}


def get(key: str) -> Any:
    setting = definition(key)
    stored = _stored()
    return stored.get(key, setting.default)


def current() -> dict[str, Any]:
    """Every setting's value (stored or default), in the definitions' order."""
    stored = _stored()
    return {s.key: stored.get(s.key, s.default) for s in DEFINITIONS}


def parse_texts(texts: dict[str, str]) -> dict[str, Any]:
    """Typed values for texts (form fields, the CLI), or SettingsInvalid naming every bad one."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key, text in texts.items():
        if key not in BY_KEY:
            errors[key] = "is not a setting"
            continue
        try:
            values[key] = BY_KEY[key].parse_text(text)
        except SettingInvalid as exc:
            errors[key] = str(exc)
    if errors:
        raise SettingsInvalid(errors)
    return values


def change(values: dict[str, Any], *, by: str) -> list[SettingChange]:
    """Store new values (validated as a whole: nothing is stored when one is bad); log each one that changed.
    Returns the changes logged."""
    errors: dict[str, str] = {}
    checked: dict[str, Any] = {}
    for key, value in values.items():
        try:
            checked[key] = definition(key).validate(value)
        except SettingInvalid as exc:
            errors[key] = str(exc)
    with write_lock():
        before = current()
        after = {**before, **checked}
        if not errors and after["hours.open"] >= after["hours.close"]:
            errors["hours.close"] = f"must be after the opening time ({after['hours.open']})"
        if errors:
            raise SettingsInvalid(errors)
        changed = {key: value for key, value in checked.items() if before[key] != value}
        if not changed:
            return []
        at = utcnow()
        StoredSettings._get_collection().update_one(
            {"_id": SETTINGS_ID},
            {"$set": {**{f"values.{_field(key)}": value for key, value in changed.items()}, "updated_at": at}},
            upsert=True)
    log = [SettingChange(at=at, by=by, key=key, old=before[key], new=value) for key, value in changed.items()]
    for entry in log:
        entry.save(force_insert=True)
    return log


def history(limit: int = 50) -> list[SettingChange]:
    """The latest changes, newest first."""
    return list(SettingChange.objects.order_by("-at").limit(limit))
