"""The settings page (admins only; every change logged) and the chat header's handler bar: who handles the
conversation (the AI or people), with "Take over" and "Hand back to AI"."""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template
from flask.typing import ResponseReturnValue
from htmx_flask import request

from .. import settings
from ..ai import handling, provider
from ..auth import guard
from ..core.errors import AppError
from ..inbox import queries
from ..settings.definitions import DEFINITIONS, ZONES
from .routes import _wa_id, bp


def _settings_page(values: dict[str, Any], *, errors: dict[str, str] | None = None, saved: int | None = None,
                   status: int = 200) -> ResponseReturnValue:
    groups: dict[str, list[Any]] = {}
    for setting in DEFINITIONS:
        groups.setdefault(setting.group, []).append(setting)
    return render_template("settings.html", page_title="Settings", groups=groups, values=values,
                           errors=errors or {}, saved=saved, zones=ZONES, ai_problem=provider.configured(),
                           history=settings.history(30),
                           ai_model=current_app.config.get("AI_MODEL") or "", show=_shown), status


def _shown(setting: settings.Setting, value: Any) -> str:
    if setting.kind == "list":
        return "\n".join(value) if isinstance(value, list) else str(value)
    return setting.show(value)


@bp.get("/settings")
@guard.admin_required
def settings_page() -> ResponseReturnValue:
    """The business's settings: AI, business hours, messages, OCR."""
    return _settings_page(settings.current())


@bp.post("/settings")
@guard.admin_required
def save_settings() -> ResponseReturnValue:
    """Save the form: every field is checked; nothing is stored when one is wrong (422 with each problem)."""
    form = request.form
    texts: dict[str, str] = {}
    for setting in DEFINITIONS:
        if setting.kind == "bool":
            texts[setting.key] = "true" if form.get(setting.key) else "false"
        elif setting.kind == "days":
            texts[setting.key] = ",".join(form.getlist(setting.key))
        elif setting.key in form:
            texts[setting.key] = form[setting.key]
    try:
        changes = settings.change(settings.parse_texts(texts), by=guard.principal().sent_by)
    except settings.SettingsInvalid as exc:
        shown = {**settings.current()}
        for setting in DEFINITIONS:  # the form as typed, so nothing needs typing again
            if setting.key in texts:
                try:
                    shown[setting.key] = setting.parse_text(texts[setting.key])
                except ValueError:
                    shown[setting.key] = texts[setting.key]
        return _settings_page(shown, errors=exc.errors, status=422)
    return _settings_page(settings.current(), saved=len(changes))


def _handler(wa_id: str, error: str | None = None, status: int = 200) -> ResponseReturnValue:
    conversation = queries.get_conversation(wa_id)
    return render_template("partials/_ai_handler.html", wa_id=wa_id, handled_by=handling.handled_by(conversation),
                           ai_problem=handling.unavailable(), assignee=conversation.assignee, error=error), status


@bp.get("/c/<wa_id>/handler")
def ai_handler(wa_id: str) -> ResponseReturnValue:
    """The chat header's bar: who handles the conversation, and the button that changes it."""
    return _handler(_wa_id())


@bp.post("/c/<wa_id>/takeover")
def take_over(wa_id: str) -> ResponseReturnValue:
    """"Take over": people handle the conversation from now on."""
    conversation = queries.get_conversation(_wa_id())
    who = guard.principal()
    handling.take_over(conversation.id, by=who.sent_by, assignee=who.email)
    return _handler(conversation.wa_id)


@bp.post("/c/<wa_id>/handback")
def hand_back(wa_id: str) -> ResponseReturnValue:
    """"Hand back to AI": the AI answers the customer's next messages."""
    conversation = queries.get_conversation(_wa_id())
    try:
        handling.hand_back(conversation.id, by=guard.principal().sent_by)
    except AppError as exc:
        return _handler(conversation.wa_id, error=exc.message, status=422)
    return _handler(conversation.wa_id)
