"""Declared request schemas. A schema is a list of typed fields (Text, Phone, Int) for one part of a
request (its query string, path, JSON body or form): it validates that part and describes itself as
JSON Schema, which is what /openapi.json publishes (webapp/apidocs). Errors name the field.

The rules every schema keeps:
- A value is a plain string (an Int: a whole number), so objects such as {"$gt": ""} and arrays
  are refused and no value from a request can be a query operator.
- Text is valid Unicode with no control characters but tab, newline and carriage return.
- A JSON body holds no key starting with `$` or containing `.`, at any depth (webapp.storable).
- A strict schema (the JSON API's) refuses unknown and repeated names; the others (the webhook's
  handshake, the pages') ignore unknown names, which are never read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from flask import Request, current_app
from werkzeug.datastructures import MultiDict

from .core import storable
from .core.errors import APIError

Location = Literal["query", "path", "json", "form"]

PHONE = r"\+?[0-9]{6,15}"
PHONE_PROBLEM = "must be a phone number: 6 to 15 digits, optionally after a +"
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# The same rules as JSON Schema patterns: no control characters, and (when required) not blank.
ALLOWED_CHAR = r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
ANY_TEXT = rf"^{ALLOWED_CHAR}*$"
NOT_BLANK = rf"^{ALLOWED_CHAR}*[^\s\x00-\x1f\x7f-\x9f]{ALLOWED_CHAR}*$"
WHOLE_NUMBER = re.compile(r"-?[0-9]{1,12}")


@dataclass(frozen=True)
class Setting:
    """A bound read from the app's settings when the schema is used (MESSAGE_MAX_LENGTH)."""

    name: str

    def value(self) -> int:
        return int(current_app.config[self.name])


def _resolve(bound: int | Setting) -> int:
    return bound.value() if isinstance(bound, Setting) else bound


@dataclass(frozen=True)
class Text:
    """A string. Stripped unless `strip=False` (then kept exactly, but still not blank when
    required); an optional one that is empty counts as absent. `pattern` must match all of it."""

    name: str
    required: bool = True
    max_length: int | Setting = 4096
    strip: bool = True
    pattern: str | None = None
    pattern_problem: str = "has the wrong format"
    description: str = ""
    example: str | None = None

    def check(self, raw: Any) -> tuple[str | None, str | None]:
        """(value, problem)."""
        if raw is None:
            return None, "is required" if self.required else None
        if not isinstance(raw, str):
            return None, "must be a string"
        if not storable.is_unicode(raw):
            return None, storable.NOT_UNICODE
        if CONTROL.search(raw):
            return None, "must not contain control characters"
        value = raw.strip() if self.strip else raw
        if not value.strip():
            return None, "must not be empty" if self.required else None
        limit = _resolve(self.max_length)
        if len(value) > limit:
            return None, f"must be at most {limit} characters"
        if self.pattern and not re.fullmatch(self.pattern, value):
            return None, self.pattern_problem
        return self.normalize(value), None

    def normalize(self, value: str) -> str:
        return value

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string", "maxLength": _resolve(self.max_length)}
        if self.required:
            schema["minLength"] = 1
        if self.pattern:
            schema["pattern"] = f"^(?:{self.pattern})$"
        else:
            schema["pattern"] = NOT_BLANK if self.required else ANY_TEXT
        return _described(schema, self.description, self.example)


@dataclass(frozen=True)
class Phone(Text):
    """A WhatsApp number: 6 to 15 digits, optionally after a + (which is dropped)."""

    max_length: int | Setting = 16
    pattern: str | None = PHONE
    pattern_problem: str = PHONE_PROBLEM

    def normalize(self, value: str) -> str:
        return value.lstrip("+")


@dataclass(frozen=True)
class Int:
    """A whole number between `minimum` and `maximum`; `default` when absent or empty."""

    name: str
    default: int
    minimum: int
    maximum: int
    description: str = ""

    required = False

    def check(self, raw: Any) -> tuple[int | None, str | None]:
        if raw is None or raw == "":
            return self.default, None
        if isinstance(raw, str) and WHOLE_NUMBER.fullmatch(raw.strip()):
            value = int(raw)
        elif isinstance(raw, int) and not isinstance(raw, bool):
            value = raw
        else:
            return None, "must be a whole number"
        if not self.minimum <= value <= self.maximum:
            return None, f"must be between {self.minimum} and {self.maximum}"
        return value, None

    def json_schema(self) -> dict[str, Any]:
        schema = {"type": "integer", "minimum": self.minimum, "maximum": self.maximum, "default": self.default}
        return _described(schema, self.description, None)


Field = Text | Int


def _described(schema: dict[str, Any], description: str, example: Any) -> dict[str, Any]:
    if description:
        schema["description"] = description
    if example is not None:
        schema["examples"] = [example]
    return schema


class Schema:
    """The fields one part of a request may hold. `what` names the request in error messages
    ("Invalid message: check waId."); `name` names a body's schema in /openapi.json."""

    def __init__(self, location: Location, what: str, *fields: Field, strict: bool = False, name: str = "") -> None:
        self.location = location
        self.what = what
        self.fields = fields
        self.strict = strict
        self.name = name

    def validate(self, request: Request) -> dict[str, Any]:
        """The values of this part of `request`, or APIError 400 naming every bad field at once."""
        errors: dict[str, str] = {}
        source: Mapping[str, Any]
        if self.location == "json":
            source = json_object(request)
            errors.update(storable.problems(source))
        elif self.location == "query":
            source = request.args
        elif self.location == "form":
            source = request.form
        else:
            source = request.view_args or {}
        return self.check(source, errors)

    def check(self, source: Mapping[str, Any], errors: dict[str, str] | None = None) -> dict[str, Any]:
        errors = dict(errors or {})
        if self.strict:
            errors.update(self._unknown_or_repeated(source, errors))
        values: dict[str, Any] = {}
        for field in self.fields:
            value, problem = field.check(source.get(field.name))
            if problem:
                errors.setdefault(field.name, problem)
            else:
                values[field.name] = value
        if errors:
            raise APIError(400, f"Invalid {self.what}: check {', '.join(errors)}.", errors)
        return values

    def _unknown_or_repeated(self, source: Mapping[str, Any], reported: dict[str, str]) -> dict[str, str]:
        known = {field.name for field in self.fields}
        noun = "field" if self.location in ("json", "form") else "parameter"
        errors: dict[str, str] = {}
        for name in source:
            if name in reported:
                continue
            if name not in known:
                errors[name] = f"is not a known {noun}"
            elif isinstance(source, MultiDict) and len(source.getlist(name)) > 1:
                errors[name] = "must be given once"
        return errors

    # --- as JSON Schema (webapp/apidocs) ---------------------------------------------------------

    def json_schema(self) -> dict[str, Any]:
        """A body's schema: an object of the fields."""
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {field.name: field.json_schema() for field in self.fields},
            "required": [field.name for field in self.fields if field.required],
        }
        if self.strict:
            schema["additionalProperties"] = False
        return schema

    def example(self) -> dict[str, Any]:
        return {f.name: f.example for f in self.fields if isinstance(f, Text) and f.example is not None}

    def parameters(self) -> list[dict[str, Any]]:
        """OpenAPI parameter objects for a query string or a path."""
        params = []
        for field in self.fields:
            schema = field.json_schema()
            param: dict[str, Any] = {
                "name": field.name,
                "in": self.location,
                "required": self.location == "path" or field.required,
                "schema": schema,
            }
            if "description" in schema:
                param["description"] = schema.pop("description")
            if "examples" in schema:
                param["example"] = schema.pop("examples")[0]
            params.append(param)
        return params


def json_object(request: Request) -> dict[str, Any]:
    """The request's JSON body, which must be an object."""
    if not request.is_json:
        raise APIError(415, "Send JSON with Content-Type: application/json.")
    try:
        body = request.get_json(silent=True)
    except RecursionError:
        raise APIError(400, "The request body is nested too deeply.") from None
    if body is None:
        raise APIError(400, "The request body is not valid JSON.")
    if not isinstance(body, dict):
        raise APIError(400, f"The request body must be a JSON object, not {type(body).__name__}.")
    return body
