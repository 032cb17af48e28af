"""What the inbox's write path tells the event bus (webapp.core.bus) after a durable write.

Each event names what changed by `_id`; a subscriber reads the current state itself (one `_id`
lookup), so an event published late or twice still shows the latest truth. `MessageStored` also carries
the message as the write path stored it, for the fields a message never changes (see `fixed()`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .documents import Message


@dataclass(frozen=True)
class MessageStored:
    """A message (or an app-sent one) is stored for the first time. `stored`: the message as the write
    path stored it, when it has it."""

    message_id: str
    conversation_id: str
    stored: Message | None = field(default=None, compare=False, repr=False)

    def fixed(self) -> Message | None:
        """The message for what never changes once it is stored (id, conversation, contact, direction,
        sender, type, content, context, timestamp, `sent_by_app`): the write path's copy, without another
        read when it came with the event. Its status, reactions, media and text may have moved since: a
        subscriber that shows those reads the message itself."""
        if self.stored is not None:
            return self.stored
        return Message.objects(pk=self.message_id).first()


@dataclass(frozen=True)
class MessageStatusChanged:
    """A message's delivery status moved forward (sent → delivered → read, or failed)."""

    message_id: str


@dataclass(frozen=True)
class ReactionsChanged:
    """The visible reactions on a message changed."""

    message_id: str


@dataclass(frozen=True)
class MessageMediaChanged:
    """A received file's state changed: it is being fetched, it is stored, or fetching it failed."""

    message_id: str


@dataclass(frozen=True)
class ConversationChanged:
    """A conversation's summary, unread count or contact changed."""

    conversation_id: str


@dataclass(frozen=True)
class ConversationStateChanged:
    """A conversation's status (open, pending = the AI is handling it, resolved) or assignee changed.
    `by` is who changed it: an agent's email, "token:<name>", "ai", or "customer" (a message reopened it)."""

    conversation_id: str
    status: str
    previous_status: str
    assignee: str | None
    previous_assignee: str | None
    by: str
    at: datetime


InboxEvent = (MessageStored | MessageStatusChanged | ReactionsChanged | MessageMediaChanged | ConversationChanged
              | ConversationStateChanged)
