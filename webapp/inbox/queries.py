"""What the inbox shows, and marking a conversation read: shared by the JSON API and the pages."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .. import graph
from ..core import bus, jobs
from ..core.errors import Invalid, NotFound
from . import documents, tasks
from .documents import Conversation, Message
from .events import ConversationChanged

Item = TypeVar("Item")
DEFAULT_PAGE = 50
MAX_PAGE = 200


@dataclass
class MessagePage(Generic[Item]):
    """A page of a chat: message documents (the pages), or messages as stored (the API, no documents built)."""

    conversation: Conversation
    messages: list[Item]
    has_more: bool
    first_id: str | None  # the oldest message's id: the cursor for the page before

    @property
    def meta(self) -> dict[str, Any]:
        return {"hasMore": self.has_more, "before": self.first_id if self.has_more else None,
                "count": len(self.messages)}


def get_conversation(wa_id: str, phone_number_id: str | None = None) -> Conversation:
    conversation = Conversation.for_wa_id(wa_id, phone_number_id)
    if conversation is None:
        raise NotFound(f"No conversation with {wa_id}.")
    return conversation


def conversations(*, limit: int, query: str = "", before_wa_id: str | None = None, list_filter: str = "all",
                  agent_email: str | None = None) -> tuple[list[Conversation], bool]:
    """A page of the list, most recent first: `list_filter` is one of documents.LIST_FILTERS (`mine` is
    `agent_email`'s)."""
    before = None
    if before_wa_id:
        before = Conversation.for_wa_id(before_wa_id)
        if before is None:
            raise Invalid("Invalid paging cursor.", {"before": f"no conversation with {before_wa_id}"})
    wanted = f"mine:{agent_email}" if list_filter == "mine" else list_filter
    rows = Conversation.recent(limit=limit + 1, query=query, before=before,
                               only=documents.list_filter(list_filter, agent_email),
                               shown=lambda c: wanted in documents.filters_matched(c.status, c.assignee,
                                                                                  c.unread_count or 0))
    return rows[:limit], len(rows) > limit


def search_messages(conversation: Conversation, query: str, limit: int = 50) -> list[Message]:
    """A conversation's messages whose text contains `query`, accents and case aside, newest first."""
    return Message.search(conversation.id, query, limit)


def unread_counts() -> dict[str, int]:
    return Conversation.unread_counts()


def message_page(conversation: Conversation, *, limit: int = DEFAULT_PAGE,
                 before_id: str | None = None) -> MessagePage[Message]:
    """The latest `limit` bubbles, or those before the message `before_id`, oldest first."""
    messages, has_more = Message.page(conversation.id, limit=limit, before=paging_cursor(conversation, before_id),
                                      last_seq=conversation.seq or 0)
    return MessagePage(conversation, messages, has_more, messages[0].id if messages else None)


def stored_message_page(conversation: Conversation, *, limit: int = DEFAULT_PAGE,
                        before_id: str | None = None) -> MessagePage[dict[str, Any]]:
    """`message_page` as the stored documents."""
    messages, has_more = Message.stored_page(conversation.id, limit=limit,
                                             before=paging_cursor(conversation, before_id),
                                             last_seq=conversation.seq or 0)
    return MessagePage(conversation, messages, has_more, messages[0]["_id"] if messages else None)


def paging_cursor(conversation: Conversation, before_id: str | None) -> dict[str, Any] | None:
    if not before_id:
        return None
    before = Message.cursor(before_id)
    if before is None or before.get("conversation_id") != conversation.id or before.get("seq") is None:
        raise Invalid("Invalid paging cursor.", {"before": "is not a message of this conversation"})
    return before


SHARED_FILES_WITHIN = 2000  # bubbles: the contact panel's files come from the chat's latest ones


def shared_files(conversation: Conversation, kinds: frozenset[str], limit: int = 24) -> list[Message]:
    """The files shared in a chat, newest first: among its latest SHARED_FILES_WITHIN bubbles."""
    return Message.latest_of_kinds(conversation.id, conversation.seq or 0, kinds, limit=limit,
                                   within=SHARED_FILES_WITHIN)


def quoted_messages(messages: Iterable[Message]) -> dict[str, Message]:
    """The messages that `messages` reply to, by the id they quote (those stored). A customer quoting
    a message this app sent names Meta's wamid for it, which the alias turns into its id."""
    ids = {m.context["id"] for m in messages if m.context and isinstance(m.context.get("id"), str)}
    found: dict[str, Message] = {}
    for wamid in sorted(ids):  # `_id` lookups, a few per page
        message = Message.named(wamid)
        if message is not None:
            found[wamid] = message
    return found


def mark_read(conversation: Conversation) -> None:
    """Read now, in every open tab; sending to WhatsApp, the customer sees blue ticks too."""
    if Conversation.mark_read(conversation.id):
        conversation.unread_count = 0
        bus.publish(ConversationChanged(conversation.id))
        if graph.is_live():
            jobs.enqueue(tasks.tell_whatsapp_read, conversation.id)
