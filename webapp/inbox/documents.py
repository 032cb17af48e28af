"""The inbox's MongoEngine documents (conversations, messages, updates waiting for their message):
the data-access layer. Query and update methods live here.

Every write that must be atomic is a single update addressed by `_id` (FerretDB pushes down
only `_id` equality, and MongoDB serves it from the primary key), using `$setOnInsert`,
`$max` and `$min` so that repeated or reordered deliveries converge on the same state.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from bson.regex import Regex
from bson.son import SON
from mongoengine import (
    DateTimeField,
    DictField,
    Document,
    DynamicField,
    EmbeddedDocument,
    EmbeddedDocumentField,
    IntField,
    ListField,
    StringField,
)
from mongoengine.queryset.visitor import Q
from pymongo import ReturnDocument
from pymongo.errors import BulkWriteError, DuplicateKeyError

from ..core.clock import as_utc, iso, utcnow
from ..core.db import write_lock
from ..whatsapp.events import STATUS_BY_RANK, STATUS_RANK
from ..whatsapp.message_types import preview
from .indexes import CHUNK, INDEX_DOCUMENTS, ContactConversations, RecentChunk, TimelineChunk

DUPLICATE_KEY = 11000


def status_name(rank: int, direction: str) -> str | None:
    """Inbound messages carry no tick unless WhatsApp reported a status for them."""
    if direction == "inbound" and rank == 0:
        return None
    return STATUS_BY_RANK.get(rank)


class LastMessage(EmbeddedDocument):
    """The denormalized summary of a conversation's latest message. Field order matters: `$max`
    compares summaries by timestamp, then arrival, then id (see Message.summary_son)."""

    timestamp = DateTimeField(required=True)
    received_at = DateTimeField()
    id = StringField(required=True)
    type = StringField(required=True)
    preview = StringField(default="")
    direction = StringField(required=True)
    status_rank = IntField(default=0)
    sender = StringField(db_field="from")
    recipient = StringField(db_field="to")


class Conversation(Document):
    """One per (business phone_number_id, contact wa_id); `_id` is `"<phone_number_id>:<wa_id>"`."""

    id = StringField(primary_key=True)
    phone_number_id = StringField(required=True)
    wa_id = StringField(required=True)
    business_number = StringField()
    contact_name = StringField()
    last_message = EmbeddedDocumentField(LastMessage)
    last_message_at = DateTimeField()
    unread_count = IntField(default=0, min_value=0)
    last_inbound_at = DateTimeField()
    # The latest message from the customer, {"at", "id"} (`$max`: the newest wins): what a read
    # receipt and the typing indicator name to WhatsApp.
    last_inbound = DictField(null=True)
    typing_sent_at = DateTimeField(null=True)  # the last typing indicator sent to WhatsApp
    created_at = DateTimeField(default=utcnow)
    # The hot reads (webapp/inbox/indexes.py): the last bubble's number in the timeline, a count of
    # writes (the row's snapshot with the highest wins), and the recency chunk holding the row.
    seq = IntField(default=0)
    rev = IntField(default=0)
    row_chunk = IntField(null=True)

    meta = {
        "collection": "conversations",
        "indexes": [
            {"fields": ["phone_number_id", "wa_id"], "unique": True, "name": "business_contact"},
            {"fields": ["-last_message_at", "-id"], "name": "recent_first"},
            {"fields": ["wa_id"], "name": "wa_id"},
        ],
    }

    # --- queries ------------------------------------------------------------------------------

    @classmethod
    def for_wa_id(cls, wa_id: str, phone_number_id: str | None = None) -> Conversation | None:
        """The conversation with a contact: on `phone_number_id` when given, else the latest one."""
        if phone_number_id:
            return cls.objects(pk=f"{phone_number_id}:{wa_id}").first()
        found = [c for c in map(cls._by_id, ContactConversations.of(wa_id) or []) if c is not None]
        return max(found, key=lambda c: (c.last_message_at is not None, c.last_message_at or c.created_at),
                   default=None)

    @classmethod
    def _by_id(cls, conversation_id: str) -> Conversation | None:
        return cls.objects(pk=conversation_id).first()

    @classmethod
    def recent(cls, *, limit: int, query: str = "", before: Conversation | None = None) -> list[Conversation]:
        """Most recent first; `query` matches the contact's name or number; `before` pages on. Without a
        query it reads the recency chunks (a few `_id` reads); a search evaluates the filter."""
        if not query:
            return cls._recent_rows(limit=limit, before=before)
        filters = Q(last_message_at__ne=None)
        if query:
            # Regex objects with explicit flags: MongoEngine's icontains compiles a Python pattern,
            # which carries the `u` flag that FerretDB refuses.
            text = re.escape(query)
            filters &= Q(contact_name=Regex(text, "i")) | Q(wa_id=Regex(text))
        if before is not None and before.last_message_at is not None:
            filters &= Q(last_message_at__lt=before.last_message_at) | Q(
                last_message_at=before.last_message_at, id__lt=before.id
            )
        return list(cls.objects(filters).order_by("-last_message_at", "-id").limit(limit))

    @classmethod
    def _recent_rows(cls, *, limit: int, before: Conversation | None) -> list[Conversation]:
        """Read recency chunks from the newest (or the cursor's) down until `limit` rows are found. A
        chunk holds the conversations whose latest message came in while it was the newest, so rows
        are ordered across chunks except for a message that arrived long after its timestamp."""
        top = RecentChunk.newest_chunk() if before is None else before.row_chunk
        if top is None:
            return []
        cursor = (before.last_message_at, before.id) if before is not None else None
        found: dict[str, Conversation] = {}
        for _, docs in RecentChunk.rows(top):
            for doc in docs:
                row = cls._from_son(doc)
                if row.id in found or row.last_message_at is None:
                    continue
                if cursor is not None and (as_utc(row.last_message_at), row.id) >= (as_utc(cursor[0]), cursor[1]):
                    continue
                found[row.id] = row
            if len(found) >= limit:
                break
        rows = sorted(found.values(), key=lambda c: (as_utc(c.last_message_at), c.id), reverse=True)
        return rows[:limit]

    # --- writes (each one atomic, addressed by _id) -------------------------------------------

    @classmethod
    def record_message(
        cls, message: Message, contact_name: str | None, business_number: str, *, count: bool = True
    ) -> None:
        """Fold a newly stored message into its conversation (see record_messages). With `count=False`
        (a message delivered again) only the idempotent part is done."""
        cls.record_messages([message], contact_name, business_number, count=count)

    @classmethod
    def reserve_seq(cls, message: Message, count: int) -> tuple[int, dict[str, Any] | None]:
        """Numbers for `count` bubbles about to be stored: the last of them (the first is last - count + 1)
        and the conversation's summary (its latest message so far). A number whose message turns out
        to be stored already is simply never used."""
        after = cls._get_collection().find_one_and_update(
            {"_id": message.conversation_id},
            {"$inc": {"seq": count}, "$setOnInsert": cls._created(message)},
            upsert=True, return_document=ReturnDocument.AFTER)
        return int(after["seq"]), after.get("last_message")

    @staticmethod
    def _created(message: Message) -> dict[str, Any]:
        return {"phone_number_id": message.phone_number_id, "wa_id": message.wa_id, "created_at": utcnow()}

    @classmethod
    def record_messages(
        cls, messages: list[Message], contact_name: str | None, business_number: str, *, count: bool = True
    ) -> None:
        """Fold newly stored messages of one conversation, in arrival order, into it in one atomic
        upsert: create it, count them, and replace the summary only if the newest of them is at least
        as new (webhooks come out of order; `$max` on the summary compares its leading timestamp, then
        arrival time). Then the conversation's row in the list and, for a bubble without its number in
        the timeline (a delivery again repairs one whose first delivery failed before this point), its
        place there."""
        first = messages[0]
        newest = max(messages, key=lambda m: (as_utc(m.timestamp), as_utc(m.received_at), m.id))
        update: dict[str, Any] = {
            "$setOnInsert": cls._created(first),
            "$set": {"business_number": business_number},
            "$max": {"last_message": newest.summary_son(), "last_message_at": newest.timestamp},
            "$inc": {"rev": 1},
        }
        if contact_name:
            update["$set"]["contact_name"] = contact_name
        inbound = [m for m in messages if m.direction == "inbound"]
        if inbound:
            latest = max(inbound, key=lambda m: (as_utc(m.timestamp), m.id))
            update["$max"]["last_inbound_at"] = latest.timestamp
            update["$max"]["last_inbound"] = SON([("at", latest.timestamp), ("id", latest.id)])
        if count:
            answered = [i for i, m in enumerate(messages) if m.direction == "outbound" and m.sent_by_app]
            if answered:  # the agent is in the chat and answering: read, as on WhatsApp, up to then
                update["$set"]["unread_count"] = sum(m.direction == "inbound" for m in messages[answered[-1]:])
            elif inbound:
                update["$inc"]["unread_count"] = len(inbound)
        unplaced = [m for m in messages if m.seq is None and m.type != "reaction"]
        if unplaced:
            update["$inc"]["seq"] = len(unplaced)
        else:  # placed already: the counter at least covers them (a conversation written again)
            update["$max"]["seq"] = max(m.seq or 0 for m in messages)
        after = cls._get_collection().find_one_and_update({"_id": first.conversation_id}, update, upsert=True,
                                                          return_document=ReturnDocument.AFTER)
        if after.get("row_chunk") is None:  # a new conversation (or one from before the list's chunks)
            ContactConversations.add(first.wa_id, first.conversation_id)
        for number, message in enumerate(unplaced, start=int(after["seq"]) - len(unplaced) + 1):
            message.seq = Message.place(message.id, number)
        cls._put_row(after, moved=(after.get("last_message") or {}).get("id") in {m.id for m in messages})

    @classmethod
    def _put_row(cls, after: dict[str, Any] | None, *, moved: bool = False) -> None:
        """The conversation's row in the recency chunks, after a write that returned `after`."""
        if after is None:
            return
        chunk = RecentChunk.put(after, moved=moved)
        if chunk is not None:
            cls._get_collection().update_one({"_id": after["_id"]}, {"$set": {"row_chunk": chunk}})

    @classmethod
    def _update_row(cls, flt: dict[str, Any], update: dict[str, Any]) -> bool:
        """One conditional update of a conversation that the list shows; True when it matched."""
        update = {**update, "$inc": {**update.get("$inc", {}), "rev": 1}}
        after = cls._get_collection().find_one_and_update(flt, update, return_document=ReturnDocument.AFTER)
        cls._put_row(after)
        return after is not None

    @classmethod
    def raise_summary_status(cls, conversation_id: str, wamid: str, rank: int) -> bool:
        """Move the summary's tick forward when `wamid` is still the latest message."""
        return cls._update_row(
            {"_id": conversation_id, "last_message.id": wamid, "last_message.status_rank": {"$lt": rank}},
            {"$max": {"last_message.status_rank": rank}},
        )

    @classmethod
    def reset_summary_status(cls, conversation_id: str, message_id: str, rank: int) -> bool:
        """The summary's tick back to `rank` when `message_id` is still the latest (a retried send)."""
        return cls._update_row({"_id": conversation_id, "last_message.id": message_id,
                                "last_message.status_rank": {"$ne": rank}},
                               {"$set": {"last_message.status_rank": rank}})

    @classmethod
    def note_typing(cls, conversation_id: str, at: datetime, every: timedelta) -> bool:
        """Record that the agent types now; True when no indicator went out in the last `every` (send one)."""
        before = cls._get_collection().find_one_and_update({"_id": conversation_id},
                                                           {"$max": {"typing_sent_at": at}})
        if before is None:
            return False
        last = as_utc(before.get("typing_sent_at"))
        return last is None or at - last >= every

    @classmethod
    def mark_read(cls, conversation_id: str) -> bool:
        with write_lock():
            return cls._update_row({"_id": conversation_id, "unread_count": {"$ne": 0}}, {"$set": {"unread_count": 0}})


class Message(Document):
    """A WhatsApp message, keyed by its wamid. Reactions are stored too (type `reaction`) but
    are not bubbles: they attach to the message they react to."""

    id = StringField(primary_key=True)
    conversation_id = StringField(required=True)
    phone_number_id = StringField(required=True)
    wa_id = StringField(required=True)
    direction = StringField(required=True, choices=("inbound", "outbound"))
    sender = StringField(db_field="from", required=True)
    recipient = StringField(db_field="to", required=True)
    type = StringField(required=True)
    content = DynamicField()
    context = DictField(null=True)
    errors = ListField(DictField())
    timestamp = DateTimeField(required=True)  # WhatsApp's, never overwritten by a status
    received_at = DateTimeField(required=True)
    status_rank = IntField(default=0)
    status_times = DictField()  # status name -> when it was first reached
    error = DictField(null=True)  # of a failed delivery: code, title, details
    reactions = DictField()  # sender -> {"emoji", "at"}; an empty emoji is a removed reaction
    sent_by_app = StringField(null=True)  # who sent it from this app: an agent's email or "token:<name>"
    wamid = StringField(null=True)  # Meta's id for a message this app sent, once the Cloud API accepted it
    # A received file, fetched from WhatsApp (webapp.media): status pending|ready|failed, tries, key
    # (in the media storage), sha256, size, mime_type, filename, error. None: never fetched.
    media = DictField(null=True, default=None)
    # Its number in the conversation's timeline (webapp/inbox/indexes.py; reactions have none) and a
    # count of writes: the timeline's snapshot with the highest wins.
    seq = IntField(null=True)
    rev = IntField(default=0)

    meta = {
        "collection": "messages",
        "indexes": [{"fields": ["conversation_id", "-timestamp", "-received_at"], "name": "conversation_timeline"}],
    }

    # --- queries ------------------------------------------------------------------------------

    @classmethod
    def page(cls, conversation_id: str, *, limit: int, before: Message | None = None,
             last_seq: int | None = None) -> tuple[list[Message], bool]:
        """Up to `limit` bubbles before `before` (or the latest), oldest first, and whether older ones exist.
        Read from the timeline chunks: the `limit` latest bubbles to arrive, shown in timestamp order."""
        if before is not None:  # a bubble arrives at most a chunk after later ones, as a rule
            top = (before.seq or 0) + CHUNK
        elif last_seq is not None:
            top = last_seq
        else:
            conversation = Conversation.objects(pk=conversation_id).only("seq").first()
            top = (conversation.seq or 0) if conversation else 0
        cursor = (as_utc(before.timestamp), as_utc(before.received_at)) if before is not None else None
        newest_first = [cls._from_son(doc) for doc in TimelineChunk.page(conversation_id, top, limit + 1, cursor)]
        has_more = len(newest_first) > limit
        return list(reversed(newest_first[:limit])), has_more

    # --- derived ------------------------------------------------------------------------------

    @property
    def status(self) -> str | None:
        return status_name(self.status_rank, self.direction)

    @property
    def shown_error(self) -> dict[str, Any] | None:
        """The failure's error while `failed` is the status; a later delivery outranks it."""
        return (self.error or None) if self.status == "failed" else None

    @property
    def preview(self) -> str:
        return preview(self.type, self.content)

    def summary_son(self) -> SON:
        """This message as a conversation summary, ordered so that BSON comparison means "newer"."""
        return SON(
            [
                ("timestamp", self.timestamp),
                ("received_at", self.received_at),
                ("id", self.id),
                ("type", self.type),
                ("preview", self.preview),
                ("direction", self.direction),
                ("status_rank", self.status_rank),
                ("from", self.sender),
                ("to", self.recipient),
            ]
        )

    def visible_reactions(self) -> list[dict[str, Any]]:
        return [
            {"emoji": r["emoji"], "from": sender, "timestamp": iso(r.get("at"))}
            for sender, r in sorted((self.reactions or {}).items(), key=lambda kv: kv[1].get("at") or 0)
            if r.get("emoji")
        ]

    # --- writes (each one atomic, addressed by _id) -------------------------------------------

    def insert_once(self) -> bool:
        """Store this message unless its wamid is already stored. True when this call stored it."""
        doc = self.to_mongo().to_dict()
        doc.pop("_id")
        try:
            result = self._get_collection().update_one({"_id": self.id}, {"$setOnInsert": doc}, upsert=True)
        except DuplicateKeyError:  # a concurrent delivery of the same message won the insert
            return False
        return result.upserted_id is not None

    @classmethod
    def insert_new(cls, messages: list[Message], latest: dict[str, dict[str, Any] | None]) -> set[str]:
        """Store those of `messages` whose wamid is not stored yet, in one round trip, and put the
        bubbles among them in their timeline (their `seq` reserved before; `latest`: each conversation's
        summary before them). The ids this call stored."""
        docs = [m.to_mongo().to_dict() for m in messages]
        try:
            cls._get_collection().insert_many(docs, ordered=False)
            refused: set[int] = set()
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors") or []
            if any(e.get("code") != DUPLICATE_KEY for e in errors):
                raise
            refused = {int(e["index"]) for e in errors}
        stored = [doc for i, doc in enumerate(docs) if i not in refused]
        for conversation_id, summary in latest.items():
            TimelineChunk.put_many([doc for doc in stored if doc["conversation_id"] == conversation_id], summary)
        return {doc["_id"] for doc in stored}

    @classmethod
    def place(cls, message_id: str, seq: int) -> int:
        """Give a stored bubble its number in the timeline and put it there."""
        after = cls._get_collection().find_one_and_update({"_id": message_id}, {"$set": {"seq": seq},
                                                                                "$inc": {"rev": 1}},
                                                          return_document=ReturnDocument.AFTER)
        if after is not None:
            TimelineChunk.put(after)
        return seq

    @classmethod
    def refresh(cls, message_id: str) -> None:
        """After a write to a message: its snapshot in the timeline (every write bumps `rev`)."""
        doc = cls._get_collection().find_one({"_id": message_id})
        if doc is not None:
            TimelineChunk.put(doc)

    @classmethod
    def raise_status(
        cls, wamid: str, status: str, at: datetime, error: dict[str, Any] | None
    ) -> tuple[Message | None, bool]:
        """Apply a status: the rank only moves forward, each status keeps the first time it was
        reached, and a failure's error is recorded whatever the order (it is shown only while
        `failed` is the status). Returns (message before the update or None when it is not stored
        yet, whether the status moved forward)."""
        update: dict[str, Any] = {
            "$max": {"status_rank": STATUS_RANK[status]},
            "$min": {f"status_times.{status}": at},
            "$inc": {"rev": 1},
        }
        if error is not None:
            update["$set"] = {"error": error}
        before = cls._get_collection().find_one_and_update({"_id": wamid}, update)
        if before is None:
            return None, False
        cls.refresh(wamid)
        message = cls._from_son(before)
        return message, message.status_rank < STATUS_RANK[status]

    @classmethod
    def set_reaction(cls, target_wamid: str, sender: str, emoji: str, at: datetime) -> bool | None:
        """Set `sender`'s reaction on a message unless a newer one is there (an empty emoji is kept
        as a tombstone, so an older reaction arriving late cannot resurrect). None when the target
        is not stored yet; otherwise whether the visible reaction changed."""
        reaction = SON([("at", at), ("emoji", emoji)])
        # No projection: FerretDB 1.24 does not implement findAndModify's `fields`.
        before = cls._get_collection().find_one_and_update(
            {"_id": target_wamid}, {"$max": {f"reactions.{sender}": reaction}, "$inc": {"rev": 1}}
        )
        if before is None:
            return None
        cls.refresh(target_wamid)
        previous = (before.get("reactions") or {}).get(sender)
        if previous is None:
            return bool(emoji)
        return as_utc(previous["at"]) < at and previous.get("emoji") != emoji

    # --- received media (webapp.media): one `_id` update each ---------------------------------

    @classmethod
    def set_media(cls, message_id: str, media: dict[str, Any]) -> bool:
        """Replace the message's media record; False when there is no such message."""
        with write_lock():
            after = cls._get_collection().find_one_and_update({"_id": message_id},
                                                              {"$set": {"media": media}, "$inc": {"rev": 1}},
                                                              return_document=ReturnDocument.AFTER)
            if after is not None:
                TimelineChunk.put(after)
        return after is not None

    @classmethod
    def count_media_try(cls, message_id: str) -> int:
        """Count one more try at fetching the message's media (its record must exist); the new count."""
        with write_lock():
            after = cls._get_collection().find_one_and_update(
                {"_id": message_id}, {"$inc": {"media.tries": 1, "rev": 1}}, return_document=ReturnDocument.AFTER)
            if after is not None:
                TimelineChunk.put(after)
        return int(((after or {}).get("media") or {}).get("tries") or 0)


    @classmethod
    def named(cls, wamid: str, *fields: str) -> Message | None:
        """The stored message `wamid` names: its own `_id`, or (one this app sent) the id behind Meta's
        wamid for it. `fields`: load only those. Two `_id` lookups at most."""
        query = cls.objects.only(*fields) if fields else cls.objects
        found = query(pk=wamid).first()
        if found is None and (alias := WamidAlias.message_for(wamid)) is not None:
            found = query(pk=alias).first()
        return found

    @classmethod
    def set_wamid(cls, message_id: str, wamid: str) -> None:
        after = cls._get_collection().find_one_and_update({"_id": message_id},
                                                          {"$set": {"wamid": wamid}, "$inc": {"rev": 1}},
                                                          return_document=ReturnDocument.AFTER)
        if after is not None:
            TimelineChunk.put(after)

    @classmethod
    def reopen_failed(cls, message_id: str) -> Message | None:
        """A failed message this app sent, back to `pending` for another try (the one way a tick goes
        back); None unless it is failed now."""
        before = cls._get_collection().find_one_and_update(
            {"_id": message_id, "status_rank": STATUS_RANK["failed"], "sent_by_app": {"$ne": None}},
            {"$set": {"status_rank": STATUS_RANK["pending"], "error": None, "wamid": None}, "$inc": {"rev": 1}},
        )
        if before is None:
            return None
        cls.refresh(message_id)
        return cls._from_son(before)


class WamidAlias(Document):
    """Meta's wamid of a message this app sent → the message's own id (which the API and the page
    keep from the moment it is stored). Statuses and reactions name the wamid."""

    id = StringField(primary_key=True)
    message_id = StringField(required=True)

    meta = {"collection": "wamid_aliases"}

    @classmethod
    def record(cls, wamid: str, message_id: str) -> None:
        cls._get_collection().update_one({"_id": wamid}, {"$set": {"message_id": message_id}}, upsert=True)

    @classmethod
    def message_for(cls, wamid: str) -> str | None:
        found = cls._get_collection().find_one({"_id": wamid})
        return found["message_id"] if found else None


class PendingUpdate(Document):
    """Statuses and reactions that arrived before their message, keyed by that message's wamid."""

    id = StringField(primary_key=True)
    statuses = ListField(DictField())
    reactions = ListField(DictField())
    created_at = DateTimeField(default=utcnow)

    meta = {"collection": "pending_updates"}

    @classmethod
    def add(cls, wamid: str, *, status: dict[str, Any] | None = None, reaction: dict[str, Any] | None = None) -> None:
        push = {"statuses": status} if status is not None else {"reactions": reaction}
        cls._get_collection().update_one(
            {"_id": wamid}, {"$push": push, "$setOnInsert": {"created_at": utcnow()}}, upsert=True
        )

    @classmethod
    def waiting(cls, wamids: list[str]) -> list[str]:
        """Which of `wamids` have updates waiting: one query (this collection stays small: an update
        waits only until its message arrives)."""
        if len(wamids) == 1:
            return [wamids[0]] if cls._get_collection().find_one({"_id": wamids[0]}, {"_id": 1}) else []
        found = {doc["_id"] for doc in cls._get_collection().find({"_id": {"$in": wamids}}, {"_id": 1})}
        return [wamid for wamid in wamids if wamid in found]

    @classmethod
    def take(cls, wamid: str) -> PendingUpdate | None:
        """Remove and return what waits for `wamid`; whoever takes it applies it."""
        doc = cls._get_collection().find_one_and_delete({"_id": wamid})
        return cls._from_son(doc) if doc else None


DOCUMENTS: tuple[type[Document], ...] = (Conversation, Message, PendingUpdate, WamidAlias, *INDEX_DOCUMENTS)
