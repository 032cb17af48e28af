"""Request validation: declared fields, checked before anything reaches a query.

A field's value must be a plain string (objects such as {"$gt": ""} are refused), within its
length, and of its format. Errors name the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import APIError

PHONE_RE = re.compile(r"^\+?[0-9]{6,15}$")


@dataclass(frozen=True)
class Text:
    name: str
    required: bool = True
    max_length: int = 4096
    phone: bool = False
    strip: bool = True

    def check(self, raw: Any) -> tuple[str | None, str | None]:
        """(value, problem)."""
        if raw is None:
            return None, "is required" if self.required else None
        if not isinstance(raw, str):
            return None, "must be a string"
        value = raw.strip() if self.strip else raw
        if not value.strip():
            return None, "must not be empty" if self.required else None
        if len(value) > self.max_length:
            return None, f"must be at most {self.max_length} characters"
        if self.phone:
            if not PHONE_RE.match(value):
                return None, "must be a phone number: 6 to 15 digits, optionally after a +"
            value = value.lstrip("+")
        return value, None


@dataclass(frozen=True)
class Int:
    name: str
    default: int
    minimum: int
    maximum: int

    def check(self, raw: Any) -> tuple[int | None, str | None]:
        if raw is None or raw == "":
            return self.default, None
        if isinstance(raw, bool):
            return None, "must be a whole number"
        try:
            value = int(raw)
        except (TypeError, ValueError):
            return None, "must be a whole number"
        if not self.minimum <= value <= self.maximum:
            return None, f"must be between {self.minimum} and {self.maximum}"
        return value, None


Field = Text | Int


def validate(source: Mapping[str, Any], fields: list[Field], *, what: str = "request") -> dict[str, Any]:
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in fields:
        value, problem = field.check(source.get(field.name))
        if problem:
            errors[field.name] = problem
        else:
            values[field.name] = value
    if errors:
        names = ", ".join(errors)
        raise APIError(400, f"Invalid {what}: check {names}.", errors)
    return values


def json_object(request: Any) -> dict[str, Any]:
    """The request's JSON body, which must be an object."""
    if not request.is_json:
        raise APIError(415, "Send JSON with Content-Type: application/json.")
    body = request.get_json(silent=True)
    if body is None:
        raise APIError(400, "The request body is not valid JSON.")
    if not isinstance(body, dict):
        raise APIError(400, f"The request body must be a JSON object, not {type(body).__name__}.")
    return body
