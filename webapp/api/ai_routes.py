"""Who handles a conversation: take it from the AI, or hand it back (webapp.ai.handling)."""

from __future__ import annotations

from ..ai import handling
from ..auth import guard
from ..core.openapi import answers, operation
from ..inbox import queries as inbox
from ..inbox.schemas import ContactPath, Conversation
from .models import ConversationRead, NoQuery
from .routes import bp


@bp.post("/conversations/<wa_id>/takeover")
@operation("takeOverConversation", tag="conversations", resp=answers(
    HTTP_200=(ConversationRead, "The conversation, handled by people now (`conversationStatus` open)."),
    HTTP_400=None, HTTP_401=None, HTTP_403=None, HTTP_404=None, HTTP_429=None, HTTP_503=None))
def take_over(path: ContactPath, query: NoQuery) -> ConversationRead:
    """Take a conversation over from the AI

    People handle it from now on (status `open`; an agent taking over is assigned it when nobody is); the AI
    stops answering it until it is handed back or resolved."""
    conversation = inbox.get_conversation(path.wa_id)
    who = guard.principal()
    handling.take_over(conversation.id, by=who.sent_by, assignee=who.email)
    return ConversationRead(message="Taken over: people handle this conversation",
                            data=Conversation.of(inbox.get_conversation(path.wa_id, conversation.phone_number_id)))


@bp.post("/conversations/<wa_id>/handback")
@operation("handBackConversation", tag="conversations", resp=answers(
    HTTP_200=(ConversationRead, "The conversation, handled by the AI now (`conversationStatus` pending)."),
    HTTP_400=None, HTTP_401=None, HTTP_403=None, HTTP_404=None,
    HTTP_409="The AI is off (`ai.enabled` false, or no `AI_BASE_URL`): nothing changed.", HTTP_429=None,
    HTTP_503=None))
def hand_back(path: ContactPath, query: NoQuery) -> ConversationRead:
    """Hand a conversation back to the AI

    The AI answers the customer's next messages (status `pending`, unassigned). 409 when the AI is off
    (`ai.enabled` false, or no `AI_BASE_URL`)."""
    conversation = inbox.get_conversation(path.wa_id)
    handling.hand_back(conversation.id, by=guard.principal().sent_by)
    return ConversationRead(message="Handed back: the AI handles this conversation",
                            data=Conversation.of(inbox.get_conversation(path.wa_id, conversation.phone_number_id)))
