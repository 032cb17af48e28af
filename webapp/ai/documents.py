"""The AI's own records: one per conversation (who handles it, turns, tokens, the reply in flight), the
tokens used per day (the business's budget) and one per reply the AI sent (its tokens and what it noticed)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from mongoengine import BooleanField, DateTimeField, DictField, Document, IntField, StringField

from ..core.clock import as_utc, utcnow
from ..core.db import write_lock


class AiConversation(Document):
    """`_id` is the conversation's id. `with_people`: handed over (the AI does not take it back until an
    agent hands it back or it is resolved). `waiting_for`: the latest customer message a reply job answers
    (debounce). `in_flight_until`: a reply is being made (never two at once)."""

    id = StringField(primary_key=True)
    with_people = BooleanField(default=False)
    turns = IntField(default=0)  # AI replies since the AI took the conversation
    tokens = IntField(default=0)  # tokens since the AI took the conversation (the per-conversation cap)
    tokens_total = IntField(default=0)
    waiting_for = StringField(null=True)
    in_flight_until = DateTimeField(null=True)
    away_sent_for = StringField(null=True)  # the closed period the away message was sent in
    greeted = BooleanField(default=False)
    lead_fields = DictField()
    handoff_reason = StringField(null=True)
    handed_off_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)

    meta = {"collection": "ai_conversations", "strict": False}

    @classmethod
    def collection(cls) -> Any:
        return cls._get_collection()

    @classmethod
    def find(cls, conversation_id: str) -> dict[str, Any]:
        return cls.collection().find_one({"_id": conversation_id}) or {"_id": conversation_id}

    @classmethod
    def ensure(cls, conversation_id: str) -> tuple[dict[str, Any], bool]:
        """The record, and whether it was just made."""
        with write_lock():
            found = cls.collection().find_one({"_id": conversation_id})
            if found is not None:
                return found, False
            record = {"_id": conversation_id, "with_people": False, "turns": 0, "tokens": 0, "tokens_total": 0,
                      "greeted": False, "lead_fields": {}, "created_at": utcnow()}
            cls.collection().update_one({"_id": conversation_id}, {"$setOnInsert": record}, upsert=True)
            return record, True

    @classmethod
    def update(cls, conversation_id: str, changes: dict[str, Any], increments: dict[str, int] | None = None) -> None:
        update: dict[str, Any] = {"$set": changes} if changes else {}
        if increments:
            update["$inc"] = increments
        with write_lock():
            cls.collection().update_one({"_id": conversation_id}, update, upsert=True)

    @classmethod
    def claim(cls, conversation_id: str, hold: float) -> bool:
        """Take the one reply slot of the conversation for at most `hold` seconds; False when a reply is in flight."""
        now = utcnow()
        with write_lock():
            found = cls.collection().find_one({"_id": conversation_id}) or {}
            until = as_utc(found.get("in_flight_until"))
            if until is not None and until > now:
                return False
            cls.collection().update_one({"_id": conversation_id},
                                        {"$set": {"in_flight_until": now + timedelta(seconds=hold)}}, upsert=True)
            return True

    @classmethod
    def release(cls, conversation_id: str) -> None:
        cls.update(conversation_id, {"in_flight_until": None})


class AiUsage(Document):
    """Tokens the AI used on one UTC day (`_id` YYYY-MM-DD), for the business's daily budget."""

    id = StringField(primary_key=True)
    tokens = IntField(default=0)
    replies = IntField(default=0)

    meta = {"collection": "ai_usage"}

    @staticmethod
    def day(at: datetime | None = None) -> str:
        return (at or utcnow()).strftime("%Y-%m-%d")

    @classmethod
    def used_today(cls) -> int:
        found = cls._get_collection().find_one({"_id": cls.day()}) or {}
        return int(found.get("tokens") or 0)

    @classmethod
    def add(cls, tokens: int) -> None:
        with write_lock():
            cls._get_collection().update_one({"_id": cls.day()}, {"$inc": {"tokens": tokens, "replies": 1}},
                                             upsert=True)


class AiReply(Document):
    """One call of the model: the message it answered, what it sent (if anything), tokens, action, lead fields."""

    id = StringField(primary_key=True)  # the customer's message it answered, plus the time: unique per call
    conversation_id = StringField(required=True)
    answered = StringField(required=True)
    sent_message_id = StringField(null=True)
    model = StringField(default="")
    prompt_tokens = IntField(default=0)
    completion_tokens = IntField(default=0)
    tokens = IntField(default=0)
    action = StringField(default="")  # reply | handoff | unreadable | error
    lead_fields = DictField()
    error = StringField(null=True)
    at = DateTimeField(default=utcnow)

    meta = {"collection": "ai_replies", "strict": False}


DOCUMENTS: tuple[type[Document], ...] = (AiConversation, AiUsage, AiReply)
