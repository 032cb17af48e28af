"""The stored template catalog: sync it from Meta, list it, find one, fill in its parameters.

Only templates this app can send are kept: positional parameters ({{1}}, {{2}}, …) in the body and
nothing else to fill in (a media header, a header or button with a variable). Those are skipped and
counted, so an agent never picks a template that Meta would refuse."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask import current_app

from .. import graph
from ..core.clock import utcnow
from ..core.errors import AppError, Invalid
from ..graph.errors import GraphError
from .documents import MessageTemplate

PLACEHOLDER = re.compile(r"\{\{\s*(\d+)\s*\}\}")
ANY_PLACEHOLDER = re.compile(r"\{\{\s*[^}]*\}\}")


class SyncFailed(AppError):
    """Meta did not answer the template list (a network problem, a refused token, …)."""

    status = 502


@dataclass(frozen=True)
class SyncResult:
    stored: int
    removed: int
    skipped: list[str]  # name:language of templates this app cannot send

    def summary(self) -> str:
        text = f"{self.stored} template(s) stored, {self.removed} removed"
        if self.skipped:
            text += f", {len(self.skipped)} skipped (variables outside the body, or a media header): "
            text += ", ".join(self.skipped)
        return text


def parameter_count(body: str) -> int:
    return len(set(PLACEHOLDER.findall(body)))


def render(body: str, parameters: list[str]) -> str:
    """The body with {{n}} replaced by the n-th parameter (a missing one stays {{n}})."""
    def value(match: re.Match[str]) -> str:
        index = int(match.group(1)) - 1
        return parameters[index] if 0 <= index < len(parameters) else match.group(0)
    return PLACEHOLDER.sub(value, body)


def sendable_body(definition: dict[str, Any]) -> str | None:
    """The body text of a template this app can send, or None."""
    if str(definition.get("parameter_format") or "POSITIONAL").upper() != "POSITIONAL":
        return None
    body = None
    for component in definition.get("components") or []:
        if not isinstance(component, dict):
            return None
        kind = str(component.get("type") or "").upper()
        if kind == "BODY":
            body = component.get("text")
        elif _needs_parameters(kind, component):
            return None
    if not isinstance(body, str) or not body.strip():
        return None
    numbers = sorted({int(n) for n in PLACEHOLDER.findall(body)})
    if numbers != list(range(1, len(numbers) + 1)) or len(ANY_PLACEHOLDER.findall(body)) != len(
            PLACEHOLDER.findall(body)):
        return None
    return body


def _needs_parameters(kind: str, component: dict[str, Any]) -> bool:
    """A header or buttons this app would have to fill in (it only fills in the body)."""
    if kind == "HEADER":
        media = str(component.get("format") or "TEXT").upper() != "TEXT"
        return media or bool(ANY_PLACEHOLDER.search(str(component.get("text") or "")))
    return kind == "BUTTONS" and bool(ANY_PLACEHOLDER.search(str(component.get("buttons") or "")))


def check_can_sync() -> None:
    if not graph.is_live():
        raise Invalid("Demo mode: templates come from WhatsApp, so syncing needs WHATSAPP_ACCESS_TOKEN.")
    if not current_app.config.get("WHATSAPP_BUSINESS_ACCOUNT_ID"):
        raise Invalid("Set WHATSAPP_BUSINESS_ACCOUNT_ID (the WhatsApp Business Account's id) to sync templates.")


def sync() -> SyncResult:
    """Replace the stored templates with the approved ones Meta lists now (removed ones disappear)."""
    check_can_sync()
    try:
        definitions = graph.client().templates()
    except GraphError as error:
        raise SyncFailed(f"WhatsApp did not list the templates: {error.message}") from None
    now = utcnow()
    kept: dict[str, MessageTemplate] = {}
    skipped: list[str] = []
    for definition in definitions:
        name, language = definition.get("name"), definition.get("language")
        if not isinstance(name, str) or not isinstance(language, str):
            continue
        key = MessageTemplate.key(name, language)
        body = sendable_body(definition)
        if str(definition.get("status") or "APPROVED").upper() != "APPROVED":
            continue
        if body is None:
            skipped.append(key)
            continue
        kept[key] = MessageTemplate(id=key, name=name, language=language, body=body,
                                    parameter_count=parameter_count(body),
                                    category=str(definition.get("category") or ""),
                                    status=str(definition.get("status") or "APPROVED"), synced_at=now)
    for template in kept.values():
        template.save()
    stale = [t.id for t in MessageTemplate.objects.only("id") if t.id not in kept]
    for key in stale:  # one _id at a time: the only filter FerretDB hands to SQLite
        MessageTemplate.objects(pk=key).delete()
    return SyncResult(stored=len(kept), removed=len(stale), skipped=sorted(skipped))


def stored() -> list[MessageTemplate]:
    return sorted(MessageTemplate.objects, key=lambda t: (t.name, t.language))


def find(name: str, language: str) -> MessageTemplate | None:
    return MessageTemplate.objects(pk=MessageTemplate.key(name, language)).first()


def find_by_key(key: str) -> MessageTemplate | None:
    return MessageTemplate.objects(pk=key).first()
