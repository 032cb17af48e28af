"""The JSON envelope every answer under /api and /webhook is wrapped in, declared once: the
answers are built from these models and /openapi.json describes them from the same models."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from .shapes import Shape

INVALID_EXAMPLE = {"waId": "must be a phone number: 5 to 20 digits, optionally after a +"}


class Success(Shape):
    """Every JSON answer: `status`, a `message` a person can read, and `data` (what was asked for)."""

    status: Literal["success"] = "success"
    message: str
    data: Any = None


class ErrorEnvelope(Shape):
    """Every error: `data` is null; `errors` names each bad field (or JSON path) and its problem."""

    status: Literal["error"] = "error"
    message: str
    data: None = None
    errors: dict[str, str] | None = Field(None, exclude_if=lambda errors: not errors,
                                          examples=[INVALID_EXAMPLE])


class PageMeta(Shape):
    """A page of a list: pass `before` back as `?before=` for the next (older) page."""

    has_more: bool = Field(alias="hasMore")
    before: str | None
    count: int = Field(ge=0)
