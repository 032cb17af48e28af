"""The AI's reply job: one per customer message, after the debounce; only the latest message's job answers
(quick messages get one reply), and only one reply per conversation is made at a time."""

from __future__ import annotations

from .. import settings
from ..core import jobs
from ..inbox.documents import PENDING, Conversation
from . import handling
from .documents import AiConversation

RETRY_WHILE_BUSY = 0.5  # seconds between looks while another reply of the conversation is in flight


def reply(conversation_id: str, message_id: str) -> None:
    record = AiConversation.find(conversation_id)
    if record.get("waiting_for") != message_id:
        return  # a newer message came: its job answers both
    if handling.unavailable() is not None:
        return
    if Conversation.objects(pk=conversation_id).scalar("status").first() != PENDING:
        return
    hold = float(settings.get("ai.timeout_seconds")) * 2 + 30  # freed even if this process dies mid-call
    if not AiConversation.claim(conversation_id, hold):
        jobs.enqueue(reply, conversation_id, message_id, delay=RETRY_WHILE_BUSY, retry_intervals=())
        return
    try:
        if AiConversation.find(conversation_id).get("waiting_for") != message_id:
            return
        AiConversation.update(conversation_id, {"waiting_for": None})
        handling.answer(conversation_id, message_id)
    finally:
        AiConversation.release(conversation_id)
