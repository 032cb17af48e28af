"""Declared request shapes: pydantic models built from the field types below, and `parse()`, which
turns a model's refusal into `Invalid` naming each bad field. The JSON API validates its requests
with these models through spectree (webapp/core/openapi.py), which also publishes them in /openapi.json;
the pages and the webhook's handshake parse theirs with `parse()`.

The rules every field type keeps:
- A value is a plain string (a whole number: a number or its digits), so objects such as
  {"$gt": ""} and arrays are refused and no value from a request can be a query operator.
- Text is valid Unicode with no control characters but tab, newline and carriage return.
- A `Strict` model (the JSON API's) refuses unknown names; a `Lenient` one (the webhook's handshake,
  the pages') ignores them: Meta and browsers may add some, and they are never read. Either refuses
  a name given twice ("must be given once").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any, ClassVar, TypeVar

from flask import current_app
from pydantic import BeforeValidator, ConfigDict, ValidationError, WithJsonSchema
from pydantic_core import PydanticCustomError, PydanticUseDefault
from werkzeug.datastructures import MultiDict

from . import storable
from .errors import Invalid
from .shapes import MODELS, Shape

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# The same rules as JSON Schema patterns: no control characters, and (when required) not blank.
ALLOWED_CHAR = r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
ANY_TEXT = rf"^{ALLOWED_CHAR}*$"
NOT_BLANK = rf"^{ALLOWED_CHAR}*[^\s\x00-\x1f\x7f-\x9f]{ALLOWED_CHAR}*$"
WHOLE_NUMBER = re.compile(r"-?[0-9]{1,12}")
# A maxLength that is a setting: /openapi.json puts the app's value there (webapp/core/openapi.py).
SETTING_MAX_LENGTH = "x-maxLength-setting"
PLACEHOLDER_MAX_LENGTH = 4096


def problem(message: str) -> PydanticCustomError:
    """A refusal worded for the envelope: `{field: message}`."""
    return PydanticCustomError("invalid", message)


# --- the field types ------------------------------------------------------------------------------------


def text(
    *,
    required: bool = True,
    max_length: int | str = 4096,
    strip: bool = True,
    pattern: str | None = None,
    pattern_problem: str = "has the wrong format",
    normalize: Callable[[str], str] | None = None,
) -> Any:
    """A string type. Stripped unless `strip=False` (then kept exactly, but still not blank when
    required); an optional one that is empty counts as absent. `pattern` must match all of it.
    `max_length` may name a setting (MESSAGE_MAX_LENGTH), read when a request is checked."""

    def check(raw: Any) -> str | None:
        if raw is None:
            if required:
                raise problem("is required")
            return None
        if not isinstance(raw, str):
            raise problem("must be a string")
        if not storable.is_unicode(raw):
            raise problem(storable.NOT_UNICODE)
        if CONTROL.search(raw):
            raise problem("must not contain control characters")
        value = raw.strip() if strip else raw
        if not value.strip():
            if required:
                raise problem("must not be empty")
            return None
        limit = int(current_app.config[max_length]) if isinstance(max_length, str) else max_length
        if len(value) > limit:
            raise problem(f"must be at most {limit} characters")
        if pattern and not re.fullmatch(pattern, value):
            raise problem(pattern_problem)
        return normalize(value) if normalize else value

    schema: dict[str, Any] = {"type": "string"}
    if isinstance(max_length, str):
        schema |= {"maxLength": PLACEHOLDER_MAX_LENGTH, SETTING_MAX_LENGTH: max_length}
    else:
        schema["maxLength"] = max_length
    if required:
        schema["minLength"] = 1
    if pattern:
        schema["pattern"] = f"^(?:{pattern})$"
    else:
        schema["pattern"] = NOT_BLANK if required else ANY_TEXT
    return Annotated[str if required else str | None, BeforeValidator(check), WithJsonSchema(schema)]


def whole_number(minimum: int, maximum: int) -> Any:
    """A whole number between `minimum` and `maximum` (digits in a query string); the field's
    default when absent or empty."""

    def check(raw: Any) -> int:
        if raw is None or raw == "":
            raise PydanticUseDefault()
        if isinstance(raw, str) and WHOLE_NUMBER.fullmatch(raw.strip()):
            value = int(raw)
        elif isinstance(raw, int) and not isinstance(raw, bool):
            value = raw
        else:
            raise problem("must be a whole number")
        if not minimum <= value <= maximum:
            raise problem(f"must be between {minimum} and {maximum}")
        return value

    schema = {"type": "integer", "minimum": minimum, "maximum": maximum}
    return Annotated[int, BeforeValidator(check), WithJsonSchema(schema)]


# --- the models -----------------------------------------------------------------------------------------


class Request(Shape):
    """A part of a request: a JSON body unless `location` says otherwise. `what` names it in errors
    ("Invalid message: check waId."). Read by the names it publishes (the aliases) only."""

    model_config = ConfigDict(validate_by_name=False, validate_by_alias=True)

    what: ClassVar[str] = "request"
    location: ClassVar[str] = "json"  # or form, query, path, header

    @classmethod
    def noun(cls) -> str:
        """What an unknown name is called: "is not a known parameter" (query, path) or "field" (body)."""
        return "parameter" if cls.location in ("query", "path") else "field"


M = TypeVar("M", bound=Request)


class Strict(Request):
    model_config = ConfigDict(extra="forbid")


class Lenient(Request):
    model_config = ConfigDict(extra="ignore")


def values(source: Mapping[str, Any]) -> dict[str, Any]:
    """A query string or form as the models read it: a name given twice becomes a list."""
    if isinstance(source, MultiDict):
        return {name: (items if len(items) > 1 else items[0]) for name, items in source.lists()}
    return dict(source)


def parse(model: type[M], source: Mapping[str, Any]) -> M:
    """`source` as `model`, or Invalid naming every bad field at once."""
    try:
        return model.model_validate(values(source))
    except ValidationError as exc:
        raise invalid(exc, model) from None


def invalid(exc: ValidationError, model: type[Request] | None = None) -> Invalid:
    """The envelope's error for a refusal of `model` (by default: the model the error names)."""
    found = model or MODELS.get(exc.title)
    what = found.what if found is not None and issubclass(found, Request) else "request"
    return refusal(what, field_problems(exc, found))


def refusal(what: str, errors: dict[str, str]) -> Invalid:
    return Invalid(f"Invalid {what}: check {', '.join(errors)}.", errors)


def field_problems(exc: ValidationError, model: type[Shape] | None = None) -> dict[str, str]:
    request = model if model is not None and issubclass(model, Request) else None
    noun = request.noun() if request is not None else "field"
    in_query = request is not None and request.location == "query"
    errors: dict[str, str] = {}
    for error in exc.errors(include_url=False, include_context=False):
        where = ""
        for part in error["loc"]:
            where = storable.join(where, part)
        if error["type"] == "extra_forbidden":
            message = f"is not a known {noun}"
        elif in_query and isinstance(error["input"], list) and len(error["loc"]) == 1:
            message = "must be given once"
        elif error["type"] == "missing":
            message = "is required"
        elif error["type"] == "invalid":
            message = error["msg"]
        else:
            message = re.sub(r"^Input should be", "must be", error["msg"])
        errors.setdefault(where or "body", message)
    return errors
