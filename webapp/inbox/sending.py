"""Every message the business sends from this app, whoever sends it (an agent, the API, later the AI
or a template), goes through send(): checked, stored through the one write path (so the API and
the page have its id at once), published, and then sent.

Two modes (webapp.graph.is_live):
- live (WHATSAPP_ACCESS_TOKEN set): stored `pending` (the clock tick) and sent by a job
  (webapp.inbox.tasks.send_message) through Meta's Cloud API; Meta's answer and status webhooks
  move the tick. Free-form messages only within 24 hours of the customer's last message.
- demo: stored `sent`; with SIMULATE_DELIVERY, `delivered` and `read` follow (webapp.demo.delivery).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from flask import current_app

from .. import graph, templates_catalog
from ..core import jobs
from ..core.clock import as_utc, utcnow
from ..core.errors import AppError, Invalid, NotFound
from ..graph.health import token_problem
from ..whatsapp.events import MessageEvent, ReactionEvent
from . import tasks
from .business import default_business
from .documents import Conversation, Message
from .writes import apply_events, publish, reopen_for_retry

CUSTOMER_SERVICE_WINDOW = timedelta(hours=24)
# Seconds before each retry of a send: Meta's pair rate limit asks for at least 6 s. (Tests shorten
# them with the app config key SEND_RETRY_INTERVALS.)
SEND_RETRY_INTERVALS = (6, 20, 60, 180)


class WindowClosed(AppError):
    """A free-form message outside the 24-hour customer-service window: only a template may go."""

    status = 422


class SendingStopped(AppError):
    """Meta refused the access token: nothing can be sent until an admin sets a new one."""

    status = 503


def window_closes_at(conversation: Conversation | None) -> datetime | None:
    """When the customer-service window closes (None: the customer never wrote)."""
    last_inbound = as_utc(conversation.last_inbound_at) if conversation is not None else None
    return last_inbound + CUSTOMER_SERVICE_WINDOW if last_inbound else None


def window_open(conversation: Conversation | None, now: datetime | None = None) -> bool:
    closes = window_closes_at(conversation)
    return closes is not None and (now or utcnow()) < closes


def send_text(wa_id: str, body: str, *, sent_by: str, sender: str | None = None,
              reply_to: str | None = None) -> Message:
    """A text, optionally replying to (quoting) a message of the conversation."""
    context = reply_context(wa_id, reply_to)
    return _send(wa_id, "text", {"body": body}, sent_by=sent_by, sender=sender, context=context)


def reply_context(wa_id: str, reply_to: str | None) -> dict[str, Any] | None:
    """The context of a reply to (a quote of) a message of the conversation; None for no reply."""
    if reply_to is None:
        return None
    quoted = Message.objects(pk=reply_to).only("id", "wa_id", "type").first()
    if quoted is None or quoted.wa_id != wa_id or quoted.type == "reaction":
        raise Invalid("Invalid message: check replyTo.", {"replyTo": "is not a message of this conversation"})
    return {"id": reply_to}


def check_can_send(wa_id: str) -> None:
    """Refuse now (the window, the token) what _send would refuse, before a file is stored for it."""
    business = default_business()
    conversation = Conversation.objects(pk=f"{business.phone_number_id}:{wa_id}").first()
    _check_can_send(conversation, graph.is_live(), free_form=True)


def send_media(wa_id: str, kind: str, content: dict[str, Any], media: dict[str, Any], *, sent_by: str,
               reply_to: str | None = None) -> Message:
    """A file already in the media storage (webapp.media.sending checks and stores it): `media` is its record,
    `content` what WhatsApp's message says of it (caption, filename, mime_type). The send job uploads it."""
    return _send(wa_id, kind, content, sent_by=sent_by, context=reply_context(wa_id, reply_to), media=media)


def send_template(wa_id: str, name: str, language: str, parameters: list[str], *, sent_by: str,
                  sender: str | None = None) -> Message:
    """An approved template (stored by `flask templates sync`) with its body parameters filled in: the only
    kind of message WhatsApp allows outside the 24-hour window."""
    template = templates_catalog.find(name, language)
    if template is None:
        raise NotFound(f"There is no approved template {name!r} in {language!r} (sync the templates?). Nothing was "
                       "sent.", {"name": f"is not an approved template in {language}"})
    if len(parameters) != template.parameter_count:
        raise Invalid(f"The template {name!r} takes {template.parameter_count} parameter(s), not {len(parameters)}. "
                      "Nothing was sent.", {"parameters": f"must be {template.parameter_count} value(s)"})
    blank = [str(number) for number, value in enumerate(parameters, 1) if not value.strip()]
    if blank:
        raise Invalid(f"Fill in every parameter of the template {name!r}. Nothing was sent.",
                      {"parameters": f"{{{{{', '.join(blank)}}}}} must not be blank"})
    content = {"name": name, "language": language, "parameters": list(parameters),
               "text": templates_catalog.render(template.body, parameters)}
    return _send(wa_id, "template", content, sent_by=sent_by, sender=sender)


def send_reaction(message_id: str, emoji: str, *, sent_by: str) -> Message:
    """React to a message with an emoji; an empty emoji removes the business's reaction."""
    target = Message.objects(pk=message_id).first()
    if target is None or target.type == "reaction":
        raise NotFound(f"No message {message_id}.")
    business = default_business()
    conversation = Conversation.objects(pk=target.conversation_id).first()
    live = graph.is_live()
    _check_can_send(conversation, live, free_form=True)
    reaction_id = _new_message_id(live)
    event = ReactionEvent(wamid=reaction_id, business=business, contact_wa_id=target.wa_id, contact_name=None,
                          direction="outbound", sender=business.display_number, target_wamid=target.id,
                          emoji=emoji, timestamp=utcnow())
    publish(apply_events([event]))
    if live:
        _enqueue_send(reaction_id)
    return Message.objects.get(pk=target.id)


TYPING_EVERY = timedelta(seconds=20)


def typing(conversation: Conversation) -> bool:
    """The agent is typing a reply: the customer sees "typing…" (sending to WhatsApp, within the
    window), at most once every 20 s per chat. True when an indicator was sent."""
    if not graph.is_live() or not window_open(conversation) or token_problem():
        return False
    if not Conversation.note_typing(conversation.id, utcnow(), TYPING_EVERY):
        return False
    jobs.enqueue(tasks.tell_whatsapp_read, conversation.id, True, retry_intervals=())
    return True


def retry(message_id: str) -> Message:
    """Send a failed message again (the "Retry" action)."""
    message = Message.objects(pk=message_id).first()
    if message is None:
        raise NotFound(f"No message {message_id}.")
    if not graph.is_live():
        raise Invalid("Demo mode sends nothing to WhatsApp, so there is nothing to retry.")
    if message.sent_by_app is None or message.status != "failed":
        raise Invalid(f"Only a failed message sent from this app can be retried; this one is {message.status}.")
    conversation = Conversation.objects(pk=message.conversation_id).first()
    _check_can_send(conversation, live=True, free_form=message.type != "template")
    reopened = reopen_for_retry(message_id)
    if reopened is None:  # retried by someone else meanwhile
        return Message.objects.get(pk=message_id)
    _enqueue_send(message_id)
    return reopened


def _send(wa_id: str, kind: str, content: Any, *, sent_by: str, sender: str | None = None,
          context: dict[str, Any] | None = None, media: dict[str, Any] | None = None) -> Message:
    business = default_business()
    conversation = Conversation.objects(pk=f"{business.phone_number_id}:{wa_id}").first()
    live = graph.is_live()
    _check_can_send(conversation, live, free_form=kind != "template")
    message_id = _new_message_id(live)
    event = MessageEvent(
        wamid=message_id,
        business=business,
        contact_wa_id=wa_id,
        contact_name=None,
        direction="outbound",
        sender=sender or business.display_number,
        recipient=wa_id,
        type=kind,
        content=content,
        context=context,
        timestamp=utcnow(),
        sent_by=sent_by,
        awaiting_send=live,
        media=media,
    )
    publish(apply_events([event]))
    if live:
        _enqueue_send(message_id)
    return Message.objects.get(pk=message_id)


def _new_message_id(live: bool) -> str:
    """The id a message this app sends keeps for good (Meta's wamid, once it comes, is an alias of it)."""
    return f"app.{uuid.uuid4().hex}" if live else f"wamid.APP_SIMULATION.{uuid.uuid4()}"


def _enqueue_send(message_id: str) -> None:
    intervals = current_app.config.get("SEND_RETRY_INTERVALS", SEND_RETRY_INTERVALS)
    jobs.enqueue(tasks.send_message, message_id, retry_intervals=intervals)


def _check_can_send(conversation: Conversation | None, live: bool, *, free_form: bool) -> None:
    if not live:
        return  # demo mode: nothing reaches WhatsApp, so WhatsApp's rules are not enforced
    problem = token_problem()
    if problem:
        raise SendingStopped(f"Nothing can be sent to WhatsApp right now: {problem}")
    if free_form and not window_open(conversation):
        closes = window_closes_at(conversation)
        since = (f"the customer last wrote more than 24 hours ago (the window closed at "
                 f"{closes:%Y-%m-%d %H:%M} UTC)" if closes else "the customer has not written yet")
        raise WindowClosed(f"The 24-hour customer-service window is closed: {since}. Only a template can be sent.",
                           {"window": "closed"})
