"""AI auto-reply: the bus subscribers (`subscriber`), the reply job (`tasks`), the chat-completions client and
the answer's form (`provider`), who handles a conversation and the handoff (`handling`), business hours
(`hours`), the AI's records (`documents`) and LeadFieldsNoticed (`events`)."""

from .documents import DOCUMENTS, AiConversation, AiReply, AiUsage
from .events import LeadFieldsNoticed
from .handling import AI, REASONS, handoff, unavailable
from .subscriber import subscribe

__all__ = ["AI", "DOCUMENTS", "REASONS", "AiConversation", "AiReply", "AiUsage", "LeadFieldsNoticed", "handoff",
           "subscribe", "unavailable"]
