"""Who handles a conversation, on every open page: `ai:state` when a conversation's status changes (the chat
header redraws its handler bar), and `ai:handoff` when the AI (or an agent taking over) passes one to people."""

from __future__ import annotations

from ..ai import REASONS, AiConversation
from ..core.bus import EventBus
from ..core.extensions import socketio
from ..inbox.documents import OPEN, PENDING, Conversation
from ..inbox.events import ConversationStateChanged


def subscribe_ai(bus: EventBus) -> None:
    bus.subscribe(ConversationStateChanged, push_state)


def push_state(event: ConversationStateChanged) -> None:
    conversation = Conversation.objects(pk=event.conversation_id).only("wa_id", "contact_name").first()
    if conversation is None:
        return
    handled_by = "ai" if event.status == PENDING else "people"
    socketio.emit("ai:state", {"wa_id": conversation.wa_id, "status": event.status, "handledBy": handled_by,
                               "by": event.by})
    if event.previous_status == PENDING and event.status == OPEN:
        reason = AiConversation.find(event.conversation_id).get("handoff_reason") or "agent"
        name = conversation.contact_name or conversation.wa_id
        socketio.emit("ai:handoff", {"wa_id": conversation.wa_id, "name": name, "reason": reason, "by": event.by,
                                     "text": f"{name} needs a person: {REASONS.get(reason, reason)}."})
