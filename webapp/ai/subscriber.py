"""The AI's bus subscribers: a customer's message (or the text read from their file) starts a reply job in a
conversation the AI handles; an agent's reply takes the conversation over; state changes (take over, hand
back, resolved) reset the AI's record."""

from __future__ import annotations

import logging

from .. import settings
from ..core import jobs
from ..core.bus import EventBus
from ..inbox import writes
from ..inbox.documents import OPEN, PENDING, RESOLVED, Conversation, Message
from ..inbox.events import ConversationStateChanged, MessageStored
from ..ocr.events import MessageTextExtracted
from . import handling, lead_fields, tasks
from .documents import AiConversation

log = logging.getLogger(__name__)

WAITS_FOR_TEXT = ("image", "document")  # webapp.ocr reads them; the reply starts when their text is stored


def subscribe(bus: EventBus) -> None:
    bus.subscribe(MessageStored, on_message)
    bus.subscribe(MessageTextExtracted, on_text_extracted)
    bus.subscribe(ConversationStateChanged, on_state_changed)
    lead_fields.subscribe(bus)  # what the model noticed becomes proposals on the contact's lead


def schedule_reply(conversation_id: str, message_id: str) -> None:
    """Answer after the debounce; a newer message replaces the one waiting (quick messages, one reply)."""
    AiConversation.update(conversation_id, {"waiting_for": message_id})
    jobs.enqueue(tasks.reply, conversation_id, message_id, delay=float(settings.get("ai.debounce_seconds")),
                 retry_intervals=())


def on_message(event: MessageStored) -> None:
    message = event.fixed()
    if message is None or message.type == "reaction":
        return
    if message.direction == "outbound":
        if message.sent_by_app and message.sent_by_app not in handling.AUTOMATED:
            agent_replied(message)
        return
    values = settings.current()
    ai_on = handling.unavailable(values) is None
    if not ai_on and Conversation.objects(pk=event.conversation_id).scalar("status").first() == PENDING:
        handling.handoff(event.conversation_id, "off", tell_customer=False)  # switched off: people answer
    if not ai_on and not values["ai.greeting"].strip() and not values["hours.enabled"]:
        return  # nothing automatic to do
    conversation = Conversation.objects(pk=event.conversation_id).first()
    if conversation is None:
        return
    record, created = AiConversation.ensure(conversation.id)
    handling.greet_if_new(conversation, created, values)
    if ai_on and handling.handles(conversation, record):
        if conversation.status != PENDING:
            handling.take(conversation.id)
        if handling.has_keyword(handling.message_text(message), values["ai.handoff_keywords"]):
            handling.handoff(conversation.id, "keyword")
            return
        if message.type not in WAITS_FOR_TEXT:
            schedule_reply(conversation.id, message.id)
        return
    handling.away_if_closed(conversation, record, values)


def on_text_extracted(event: MessageTextExtracted) -> None:
    """The text of a customer's picture or PDF is stored: the AI answers it like a text."""
    if handling.unavailable() is not None:
        return
    status = Conversation.objects(pk=event.conversation_id).scalar("status").first()
    if status == PENDING:
        schedule_reply(event.conversation_id, event.message_id)


def agent_replied(message: Message) -> None:
    """A person wrote in a conversation the AI was handling: it is theirs now."""
    conversation = Conversation.objects(pk=message.conversation_id).only("status", "assignee").first()
    if conversation is None or conversation.status != PENDING:
        return
    sender = message.sent_by_app or ""
    assignee = conversation.assignee or (None if sender.startswith("token:") else sender)
    writes.set_state(conversation.id, by=sender, status=OPEN, assignee=assignee)


def on_state_changed(event: ConversationStateChanged) -> None:
    if event.status == RESOLVED:
        handling.reset(event.conversation_id, with_people=False)
    elif event.status == PENDING and event.previous_status != PENDING and event.by != handling.AI:
        handling.reset(event.conversation_id, with_people=False)  # handed back to the AI
        recent, _ = Message.page(event.conversation_id, limit=5)
        last = max(recent, key=lambda m: m.received_at, default=None)  # WhatsApp's times are whole seconds
        if last is not None and last.direction == "inbound" and handling.unavailable() is None:
            schedule_reply(event.conversation_id, last.id)  # the customer's last word is unanswered
    elif event.previous_status == PENDING and event.status == OPEN and event.by != handling.AI:
        AiConversation.update(event.conversation_id, {"with_people": True, "handoff_reason": "agent",
                                                      "waiting_for": None})
