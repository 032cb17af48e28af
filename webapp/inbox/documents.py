"""The inbox's MongoEngine documents (conversations, messages, updates waiting for their message):
the data-access layer. Query and update methods live here.

Every write that must be atomic is a single update addressed by `_id` (FerretDB pushes down
only `_id` equality, and MongoDB serves it from the primary key), using `$setOnInsert`,
`$max` and `$min` so that repeated or reordered deliveries converge on the same state.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
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
from ..core.db import write_lock, writes_serialized
from ..whatsapp.events import STATUS_BY_RANK, STATUS_RANK
from ..whatsapp.message_types import preview
from .indexes import (
    CHUNK,
    INDEX_DOCUMENTS,
    ContactConversations,
    RecentChunk,
    TimelineChunk,
    UnreadIndex,
    order_key,
    snapshot,
    unpack,
)


def fold(text: str | None) -> str:
    """Text as search compares it: no accents, no case ("María" → "maria")."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def number_digits(query: str) -> str:
    """The digits of a query typed as a phone number ("+91 99373-20320" → "919937320320"), else ""."""
    if not re.fullmatch(r"[\d\s+().-]+", query):
        return ""
    return re.sub(r"\D", "", query)


def text_filter(query: str, field: str = "search_text") -> Q:
    """Messages whose text contains `query`, accents and case aside (older ones, stored before
    `search_text` existed, by their body ignoring case)."""
    return Q(**{field: Regex(re.escape(fold(query)))}) | Q(
        **{field: None, "content__body": Regex(re.escape(query), "i")})


def status_name(rank: int, direction: str) -> str | None:
    """Inbound messages carry no tick unless WhatsApp reported a status for them."""
    if direction == "inbound" and rank == 0:
        return None
    return STATUS_BY_RANK.get(rank)


def shown_error(rank: int, direction: str, error: dict[str, Any] | None) -> dict[str, Any] | None:
    """A failure's error, shown while `failed` is the status; a later delivery outranks it."""
    return (error or None) if status_name(rank, direction) == "failed" else None


def visible_reactions(reactions: dict[str, Any] | None) -> list[dict[str, Any]]:
    """A message's reactions, oldest first, without the removed ones."""
    return [
        {"emoji": r["emoji"], "from": sender, "timestamp": iso(r.get("at"))}
        for sender, r in sorted((reactions or {}).items(), key=lambda kv: kv[1].get("at") or 0)
        if r.get("emoji")
    ]


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


OPEN, PENDING, RESOLVED = "open", "pending", "resolved"
CONVERSATION_STATUSES = (OPEN, PENDING, RESOLVED)  # pending: the AI is handling it

# The conversation list's filters: mine and unassigned are the conversations still to work on (not resolved).
LIST_FILTERS = ("mine", "unassigned", "all", "unread", "resolved")


def list_filter(name: str, agent_email: str | None) -> Q | None:
    """The query behind a list filter (None: every conversation). `mine` without an agent matches nothing."""
    if name == "mine":
        if not agent_email:
            return Q(pk__in=[])
        return Q(assignee=agent_email) & Q(status__ne=RESOLVED)
    if name == "unassigned":
        return Q(assignee=None) & Q(status__ne=RESOLVED)
    if name == "unread":
        return Q(unread_count__gt=0)
    if name == "resolved":
        return Q(status=RESOLVED)
    return None


def filters_matched(status: str | None, assignee: str | None, unread: int) -> set[str]:
    """The list filters a conversation in this state shows under ("mine:<email>" for its assignee's Mine)."""
    found = {"all"}
    if status == RESOLVED:
        found.add("resolved")
    elif assignee:
        found.add(f"mine:{assignee}")
    else:
        found.add("unassigned")
    if unread:
        found.add("unread")
    return found


def _stored_time(at: datetime) -> datetime:
    """A time as the database keeps it (UTC, milliseconds), so comparing it with stored times is exact."""
    utc = as_utc(at) or at
    return utc.replace(microsecond=utc.microsecond // 1000 * 1000)


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
    # What the unread count is made of (see count_unread): the unread messages {"id", "at"}, a count
    # from before they were listed, when it was last read, and the compare-and-set revision.
    unread = ListField(DictField())
    unread_legacy = IntField(default=0)
    read_at = DateTimeField(null=True)
    unread_rev = IntField(null=True)
    last_inbound_at = DateTimeField()
    # The latest message from the customer, {"at", "id"} (`$max`: the newest wins): what a read
    # receipt and the typing indicator name to WhatsApp.
    last_inbound = DictField(null=True)
    typing_sent_at = DateTimeField(null=True)  # the last typing indicator sent to WhatsApp
    created_at = DateTimeField(default=utcnow)
    status = StringField(default=OPEN, choices=CONVERSATION_STATUSES)
    assignee = StringField(null=True)  # the agent's email
    status_changed_at = DateTimeField(null=True)
    search_text = StringField(null=True)  # the contact's name folded (fold()): what search matches
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
            return cls._by_id(f"{phone_number_id}:{wa_id}")
        found = [c for c in map(cls._by_id, ContactConversations.of(wa_id) or []) if c is not None]
        return max(found, key=lambda c: (c.last_message_at is not None, c.last_message_at or c.created_at),
                   default=None)

    @classmethod
    def _by_id(cls, conversation_id: str) -> Conversation | None:
        # Without the unread marks (one per unread message, read only by the write path): a chat nobody
        # has read in a while would otherwise send them all with every page of it.
        return cls.objects(pk=conversation_id).exclude("unread").first()

    @classmethod
    def recent(cls, *, limit: int, query: str = "", before: Conversation | None = None,
               only: Q | None = None, shown: Callable[[Conversation], bool] | None = None) -> list[Conversation]:
        """Most recent first; `query` matches the contact's name (accents and case aside), number
        (typed with + or spaces too) or the text of a message; `before` pages on; `only` narrows to a list
        filter (see `list_filter`) and `shown` is the same filter on a row. Without a query it reads the
        recency chunks (a few `_id` reads, `shown` applied to their rows); a search evaluates the filter."""
        if not query and (only is None or shown is not None):
            return cls._recent_rows(limit=limit, before=before, shown=shown)
        filters = Q(last_message_at__ne=None)
        if only is not None:
            filters &= only
        if query:
            # Regex objects with explicit flags: MongoEngine's icontains compiles a Python pattern,
            # which carries the `u` flag that FerretDB refuses.
            text = re.escape(query)
            matches = (Q(search_text=Regex(re.escape(fold(query)))) | Q(contact_name=Regex(text, "i"))
                       | Q(wa_id=Regex(text)))
            digits = number_digits(query)
            if digits:
                matches |= Q(wa_id=Regex(re.escape(digits)))
            with_text = Message.conversations_mentioning(query)
            if with_text:
                matches |= Q(id__in=with_text)
            filters &= matches
        if before is not None and before.last_message_at is not None:
            filters &= Q(last_message_at__lt=before.last_message_at) | Q(
                last_message_at=before.last_message_at, id__lt=before.id
            )
        return list(cls.objects(filters).order_by("-last_message_at", "-id").limit(limit))

    @classmethod
    def _recent_rows(cls, *, limit: int, before: Conversation | None,
                     shown: Callable[[Conversation], bool] | None = None) -> list[Conversation]:
        """Read recency chunks from the newest (or the cursor's) down until `limit` rows are found. A
        chunk holds the conversations whose latest message came in while it was the newest, so rows
        are ordered across chunks except for a message that arrived long after its timestamp."""
        top = RecentChunk.newest_chunk() if before is None else before.row_chunk
        if top is None:
            return []
        cursor = (as_utc(before.last_message_at), before.id) if before is not None else None
        found: dict[str, Conversation] = {}
        for _, docs in RecentChunk.rows(top):
            for doc in docs:  # the cheap checks on the stored row first: a document is built for those shown
                if doc["_id"] in found or doc.get("last_message_at") is None:
                    continue
                if cursor is not None and (as_utc(doc["last_message_at"]), doc["_id"]) >= cursor:
                    continue
                row = cls._from_son(doc)
                if shown is None or shown(row):
                    found[row.id] = row
            if len(found) >= limit:
                break
        rows = sorted(found.values(), key=lambda c: (as_utc(c.last_message_at), c.id), reverse=True)
        return rows[:limit]

    @classmethod
    def unread_counts(cls) -> dict[str, int]:
        """Unread messages per contact (the tab title's total), when a page loads or reconnects: read from
        the unread index by `_id` (built from the conversations the first time); pushed row updates keep the
        page's copy current."""
        if not UnreadIndex.built():
            with write_lock():
                if not UnreadIndex.built():
                    UnreadIndex.build(cls._get_collection().find({"unread_count": {"$gt": 0}}))
        counts: dict[str, int] = {}
        for _, count, wa_id in UnreadIndex.entries():
            counts[wa_id] = counts.get(wa_id, 0) + count
        return counts

    @classmethod
    def repair_unread_index(cls, conversation: dict[str, Any]) -> None:
        """Put the conversation's unread count in the index again (a delivery repeated: a failure between
        its count changing and the index may have left the index behind)."""
        UnreadIndex.put(conversation)

    # --- writes (each one atomic, addressed by _id) -------------------------------------------

    @classmethod
    def record_message(cls, message: Message, contact_name: str | None, business_number: str, *,
                       row_by_count: bool = False) -> dict[str, Any]:
        """Fold a stored message into its conversation in one atomic upsert: create it, and replace the
        summary only if this message is at least as new (webhooks come out of order; `$max` on the
        summary compares its leading timestamp, then arrival time). Idempotent: a message delivered
        again does it again harmlessly. Counting it unread is `count_unread` (also idempotent).
        Then the conversation's row in the list and, for a bubble without its number in the timeline
        (a delivery again repairs one whose first delivery failed before this point), its place there."""
        update = cls._fold_update(message, message, message if message.direction == "inbound" else None,
                                  contact_name, business_number)
        unplaced = message.seq is None and message.type != "reaction"
        if unplaced:
            update["$inc"]["seq"] = 1
        elif message.seq is not None:  # placed already: the counter at least covers it (written again)
            update["$max"]["seq"] = message.seq
        collection = cls._get_collection()
        before = collection.find_one_and_update({"_id": message.conversation_id}, update, upsert=True)
        after = collection.find_one({"_id": message.conversation_id})
        if before is None or after.get("row_chunk") is None:  # new (or from before the list's chunks)
            ContactConversations.add(message.wa_id, message.conversation_id)
        if unplaced:
            message.seq = Message.place(message.id, int(after["seq"]), below=(before or {}).get("last_message"))
        if not row_by_count:
            cls._put_row(after, moved=cls.moved_by(after, message.id))
        return after

    @classmethod
    def record_history(cls, messages: list[Message], contact_name: str | None,
                       business_number: str) -> tuple[dict[str, Any], set[str]]:
        """Fold many new messages of this conversation in at once (writes.store_history): reserve their timeline
        numbers with the summary's `$max` in one update, insert them numbered, put their chunks. The row is
        left to `count_unread_many` when some are inbound. Returns the conversation as left, and the ids of
        those that were stored already (not inserted: the caller applies them the usual way)."""
        first, latest = messages[0], max(messages, key=lambda m: (m.timestamp, m.received_at, m.id))
        inbound = [m for m in messages if m.direction == "inbound"]
        newest_inbound = max(inbound, key=lambda m: (m.timestamp, m.id)) if inbound else None
        update = cls._fold_update(first, latest, newest_inbound, contact_name, business_number)
        update["$inc"]["seq"] = len(messages)
        collection = cls._get_collection()
        before = collection.find_one_and_update({"_id": first.conversation_id}, update, upsert=True)
        base = int((before or {}).get("seq") or 0)
        docs = []
        for n, message in enumerate(messages, start=1):
            message.seq = base + n
            doc = message.to_mongo().to_dict()
            doc["search_text"] = fold(message.preview)
            docs.append(doc)
        stored_already: set[str] = set()
        try:
            Message._get_collection().insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors") or []
            if any(error.get("code") != 11000 for error in errors):
                raise
            stored_already = {docs[error["index"]]["_id"] for error in errors}
        inserted = [doc for doc in docs if doc["_id"] not in stored_already]
        TimelineChunk.put_many(inserted, below=(before or {}).get("last_message"))
        after = collection.find_one({"_id": first.conversation_id})
        if before is None or after.get("row_chunk") is None:
            ContactConversations.add(first.wa_id, first.conversation_id)
        if not any(m.direction == "inbound" and m.id not in stored_already for m in messages):
            cls._put_row(after, moved=cls.moved_by(after, latest.id))
        return after, stored_already

    @classmethod
    def count_unread_many(cls, messages: list[Message], known: dict[str, Any]) -> bool:
        """`count_unread` for many inbound messages of one conversation, in one change; puts the row (see
        record_history)."""
        arrived = {m.id: _stored_time(m.received_at) for m in messages}

        def change(entries: list[dict[str, Any]], read_at: datetime | None) -> tuple[list[dict[str, Any]],
                                                                                     datetime | None] | None:
            listed = {e.get("id") for e in entries}
            new = [{"id": i, "at": at} for i, at in arrived.items()
                   if i not in listed and (read_at is None or at > read_at)]
            return ([*entries, *new], read_at) if new else None

        latest = (known.get("last_message") or {}).get("id")
        return cls._change_unread(messages[0].conversation_id, change, known, row=latest in arrived)

    @staticmethod
    def moved_by(conversation: dict[str, Any], message_id: str) -> bool:
        """Whether the message is the conversation's latest: its row goes to the top of the list."""
        return (conversation.get("last_message") or {}).get("id") == message_id

    @classmethod
    def _fold_update(cls, first: Message, latest: Message, newest_inbound: Message | None, contact_name: str | None,
                     business_number: str) -> dict[str, Any]:
        """The conversation's update for messages folded in: created from `first`, the summary's `$max` with
        `latest`, the customer's last message with `newest_inbound`, the contact's name."""
        update: dict[str, Any] = {
            "$setOnInsert": cls._created(first),
            "$set": {"business_number": business_number},
            "$max": {"last_message": latest.summary_son(), "last_message_at": latest.timestamp},
            "$inc": {"rev": 1},
        }
        if contact_name:
            update["$set"]["contact_name"] = contact_name
            update["$set"]["search_text"] = fold(contact_name)
        if newest_inbound is not None:
            update["$max"]["last_inbound_at"] = newest_inbound.timestamp
            update["$max"]["last_inbound"] = SON([("at", newest_inbound.timestamp), ("id", newest_inbound.id)])
        return update

    @staticmethod
    def _created(message: Message) -> dict[str, Any]:
        return {"phone_number_id": message.phone_number_id, "wa_id": message.wa_id, "created_at": utcnow()}

    @classmethod
    def _put_row(cls, after: dict[str, Any] | None, *, moved: bool = False) -> None:
        """The conversation's row in the recency chunks, after a write that returned `after`."""
        if after is None:
            return
        chunk = RecentChunk.put(after, moved=moved)
        if chunk is not None:
            cls._get_collection().update_one({"_id": after["_id"]}, {"$set": {"row_chunk": chunk}})

    @classmethod
    def _update_row(cls, flt: dict[str, Any], update: dict[str, Any],
                    holds: Callable[[dict[str, Any]], bool] | None = None, known: dict[str, Any] | None = None) -> bool:
        """One conditional update of a conversation that the list shows; True when it matched. `holds` is
        the filter's condition in Python: checked on the document read by `_id` first, so that on FerretDB
        (under the write lock) the update is addressed by `_id` alone instead of scanning; on MongoDB the
        filter stays whole, atomic, and nothing is read first. `known`: the document as the caller's own
        write under this same write lock just returned it, so it is current and need not be read again."""
        if holds is not None and writes_serialized():
            doc = known if known is not None else cls._get_collection().find_one({"_id": flt["_id"]})
            if doc is None or not holds(doc):
                return False
            flt = {"_id": flt["_id"]}
        update = {**update, "$inc": {**update.get("$inc", {}), "rev": 1}}
        after = cls._get_collection().find_one_and_update(flt, update, return_document=ReturnDocument.AFTER)
        cls._put_row(after)
        return after is not None

    @classmethod
    def _refresh_row(cls, conversation_id: str) -> None:
        """After a write that bumped `rev`: the conversation's row as it is now."""
        cls._put_row(cls._get_collection().find_one({"_id": conversation_id}))

    # --- the unread count: exact whatever fails in between ------------------------------------
    # A message is unread when it is inbound and arrived (`received_at`) after the conversation was
    # last read (`read_at`: an agent opened it, or the app sent a reply). `unread` lists the unread
    # messages ({"id", "at"}), `unread_count` is its length (plus `unread_legacy`, a count kept from
    # before the list existed, cleared by the next read), so counting a message twice counts it once:
    # a delivery that failed between storing a message and counting it is repaired by WhatsApp's
    # retry or a replay. Each change is a compare-and-set on `unread_rev`, so it is atomic on MongoDB
    # and on FerretDB alike.

    @classmethod
    def count_unread(cls, message: Message, known: dict[str, Any] | None = None, *, put_row: bool = False) -> bool:
        """Count an inbound message unread unless it is counted already or was read; whether it was.
        `known`: the conversation as the write just before returned it (a first guess, checked). `put_row`:
        record_message left the row to this step (`row_by_count`), which puts it whether the count changes or not."""
        at = _stored_time(message.received_at)

        def change(entries: list[dict[str, Any]], read_at: datetime | None) -> tuple[list[dict[str, Any]],
                                                                                     datetime | None] | None:
            if (read_at is not None and at <= read_at) or any(e.get("id") == message.id for e in entries):
                return None
            return [*entries, {"id": message.id, "at": at}], read_at

        moved = cls.moved_by(known, message.id) if put_row and known is not None else None
        return cls._change_unread(message.conversation_id, change, known, row=moved if put_row else None)

    @classmethod
    def read_up_to(cls, conversation_id: str, at: datetime) -> bool:
        """Everything that arrived up to `at` is read; whether the unread count changed."""
        at = _stored_time(at)

        def change(entries: list[dict[str, Any]], read_at: datetime | None) -> tuple[list[dict[str, Any]],
                                                                                     datetime | None] | None:
            if read_at is not None and read_at >= at:
                return None
            return [e for e in entries if as_utc(e.get("at")) > at], at

        return cls._change_unread(conversation_id, change)

    @classmethod
    def _change_unread(cls, conversation_id: str, change: Any, known: dict[str, Any] | None = None,
                       row: bool | None = None) -> bool:
        """`known` saves the first read: under the write lock (FerretDB) it is current; on MongoDB a stale
        one only fails the compare-and-set, and the next round reads. `row`: the row is to be put whatever
        happens (True: moved to the top), as record_message left it."""
        collection = cls._get_collection()
        for attempt in range(100):
            doc = known if attempt == 0 and known is not None else collection.find_one({"_id": conversation_id})
            if doc is None:
                return False
            legacy = int(doc.get("unread_legacy", doc.get("unread_count") or 0) if "unread" not in doc
                         else doc.get("unread_legacy") or 0)
            entries = list(doc.get("unread") or [])
            before = len(entries) + legacy
            changed = change(entries, as_utc(doc.get("read_at")))
            if changed is None:
                if row is not None:
                    cls._put_row(doc, moved=row)
                return False
            entries, read_at = changed
            if read_at is not None and read_at != as_utc(doc.get("read_at")):
                legacy = 0  # a read clears what was counted before the list existed
            # the compare-and-set makes it atomic on MongoDB; on FerretDB the write lock does (see _update_row)
            after = collection.find_one_and_update(
                {"_id": conversation_id} if writes_serialized() else
                {"_id": conversation_id, "unread_rev": doc.get("unread_rev")},
                {"$set": {"unread": entries, "unread_legacy": legacy, "unread_count": len(entries) + legacy,
                          "read_at": read_at},
                 "$inc": {"unread_rev": 1, "rev": 1}},
                return_document=ReturnDocument.AFTER,
            )
            if after is not None:
                cls._put_row(after, moved=bool(row))
                if len(entries) + legacy != before:
                    UnreadIndex.put(after)
                return len(entries) + legacy != before
        raise RuntimeError(f"conversation {conversation_id} kept changing while its unread count was updated")

    @classmethod
    def raise_summary_status(cls, conversation_id: str, wamid: str, rank: int) -> bool:
        """Move the summary's tick forward when `wamid` is still the latest message."""
        return cls._update_row(
            {"_id": conversation_id, "last_message.id": wamid, "last_message.status_rank": {"$lt": rank}},
            {"$max": {"last_message.status_rank": rank}},
            lambda doc: (last := doc.get("last_message") or {}).get("id") == wamid
            and (last.get("status_rank") or 0) < rank,
        )

    @classmethod
    def reset_summary_status(cls, conversation_id: str, message_id: str, rank: int) -> bool:
        """The summary's tick back to `rank` when `message_id` is still the latest (a retried send)."""
        return cls._update_row({"_id": conversation_id, "last_message.id": message_id,
                                "last_message.status_rank": {"$ne": rank}},
                               {"$set": {"last_message.status_rank": rank}},
                               lambda doc: (last := doc.get("last_message") or {}).get("id") == message_id
                               and last.get("status_rank") != rank)

    @classmethod
    def note_typing(cls, conversation_id: str, at: datetime, every: timedelta) -> bool:
        """Record that the agent types now; True when no indicator went out in the last `every` (send one)."""
        with write_lock():  # FerretDB rewrites the whole document: unlocked, it could undo an unread count
            before = cls._get_collection().find_one_and_update({"_id": conversation_id},
                                                               {"$max": {"typing_sent_at": at}, "$inc": {"rev": 1}})
            if before is None:
                return False
            cls._refresh_row(conversation_id)
        last = as_utc(before.get("typing_sent_at"))
        return last is None or at - last >= every

    @classmethod
    def change_state(cls, conversation_id: str, changes: dict[str, Any]) -> dict[str, Any] | None:
        """Set status and/or assignee; the stored document as it was before, or None when there is none.
        Callers hold the write lock (FerretDB's updates are read-modify-write)."""
        before = cls._get_collection().find_one_and_update({"_id": conversation_id},
                                                           {"$set": changes, "$inc": {"rev": 1}})
        if before is not None:
            cls._refresh_row(conversation_id)
        return before

    @classmethod
    def note_status_change(cls, conversation_id: str, at: datetime) -> None:
        cls._update_row({"_id": conversation_id}, {"$set": {"status_changed_at": at}})

    @classmethod
    def reopen(cls, conversation_id: str, at: datetime, *, arrived: datetime | None = None,
               known: dict[str, Any] | None = None) -> bool:
        """A resolved conversation back to open (the customer wrote again; with `arrived`, only when that
        message arrived after it was resolved). `known`: see `_update_row`."""
        query: dict[str, Any] = {"_id": conversation_id, "status": RESOLVED}
        if arrived is not None:
            query["$or"] = [{"status_changed_at": None}, {"status_changed_at": {"$lt": arrived}}]

        def holds(doc: dict[str, Any]) -> bool:
            changed = as_utc(doc.get("status_changed_at"))
            return doc.get("status") == RESOLVED and (
                arrived is None or changed is None or changed < _stored_time(arrived))

        return cls._update_row(query, {"$set": {"status": OPEN, "status_changed_at": at}}, holds, known)

    @classmethod
    def mark_read(cls, conversation_id: str) -> bool:
        """An agent read the conversation now; whether its unread count changed."""
        with write_lock():
            return cls.read_up_to(conversation_id, utcnow())


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
    # The text read from a received image or PDF (webapp.ocr): status pending|done|failed, text, language,
    # pages, method (text layer, ocr or both), key (the file read), error, at. None: not read.
    text_extract = DictField(null=True, default=None)
    search_text = StringField(null=True)  # the text folded (fold()): what search matches

    meta = {
        "collection": "messages",
        "indexes": [{"fields": ["conversation_id", "-timestamp", "-received_at"], "name": "conversation_timeline"}],
    }

    # --- queries ------------------------------------------------------------------------------

    @classmethod
    def latest_of_kinds(cls, conversation_id: str, last_seq: int, kinds: frozenset[str], *, limit: int,
                        within: int) -> list[Message]:
        """The latest `limit` messages of these types among the conversation's last `within` or so bubbles,
        newest first (read from the timeline chunks by `_id`)."""
        docs = TimelineChunk.latest_matching(conversation_id, last_seq, limit, kinds, within // CHUNK + 1)
        return [cls._from_son(doc) for doc in docs]

    @classmethod
    def page(cls, conversation_id: str, *, limit: int, before: Mapping[str, Any] | None = None,
             last_seq: int | None = None) -> tuple[list[Message], bool]:
        """Up to `limit` bubbles before `before` (or the latest), oldest first, and whether older ones exist."""
        stored, has_more = cls.stored_page(conversation_id, limit=limit, before=before, last_seq=last_seq)
        return [cls._from_son(doc) for doc in stored], has_more

    @classmethod
    def stored_page(cls, conversation_id: str, *, limit: int, before: Mapping[str, Any] | None = None,
                    last_seq: int | None = None) -> tuple[list[dict[str, Any]], bool]:
        """`page` as the stored documents (what the API answers with, without building documents). Read
        from the timeline chunks: the `limit` latest bubbles to arrive before `before` (a stored message:
        its `seq`, `timestamp` and `received_at`), shown in timestamp order."""
        if before is not None:  # a bubble arrives at most a chunk after later ones, as a rule
            top = int(before["seq"]) + CHUNK
        elif last_seq is not None:
            top = last_seq
        else:
            conversation = Conversation.objects(pk=conversation_id).only("seq").first()
            top = (conversation.seq or 0) if conversation else 0
        cursor = order_key(before) if before is not None else None
        newest_first = TimelineChunk.page(conversation_id, top, limit + 1, cursor)
        has_more = len(newest_first) > limit
        return list(reversed(newest_first[:limit])), has_more

    @classmethod
    def cursor(cls, message_id: str) -> dict[str, Any] | None:
        """What paging before a message needs of it (one `_id` read)."""
        return cls._get_collection().find_one(
            {"_id": message_id}, {"conversation_id": 1, "seq": 1, "timestamp": 1, "received_at": 1})

    @classmethod
    def conversations_mentioning(cls, query: str, limit: int = 1000) -> list[str]:
        """The conversations with a message whose text contains `query` (one scan of the messages)."""
        found = cls.objects(text_filter(query) & Q(type__ne="reaction")).only("conversation_id").limit(limit * 10)
        return list(dict.fromkeys(m.conversation_id for m in found))[:limit]

    @classmethod
    def search(cls, conversation_id: str, query: str, limit: int = 50) -> list[Message]:
        """A conversation's messages whose text contains `query`, newest first."""
        filters = Q(conversation_id=conversation_id) & Q(type__ne="reaction") & text_filter(query)
        return list(cls.objects(filters).order_by("-timestamp", "-received_at").limit(limit))

    # --- derived ------------------------------------------------------------------------------

    @property
    def status(self) -> str | None:
        return status_name(self.status_rank, self.direction)

    @property
    def shown_error(self) -> dict[str, Any] | None:
        return shown_error(self.status_rank, self.direction, self.error)

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
        return visible_reactions(self.reactions)

    # --- writes (each one atomic, addressed by _id) -------------------------------------------

    def as_stored(self) -> Message:
        """This message as the database holds it (times to the millisecond), without reading it back."""
        return type(self)._from_son(unpack(snapshot(self.to_mongo())))

    def insert_once(self) -> bool:
        """Store this message unless its wamid is already stored. True when this call stored it."""
        doc = self.to_mongo().to_dict()
        doc.pop("_id")
        if self.type != "reaction":
            doc["search_text"] = fold(self.preview)
        try:
            result = self._get_collection().update_one({"_id": self.id}, {"$setOnInsert": doc}, upsert=True)
        except DuplicateKeyError:  # a concurrent delivery of the same message won the insert
            return False
        return result.upserted_id is not None

    @classmethod
    def place(cls, message_id: str, seq: int, below: dict[str, Any] | None = None) -> int:
        """Give a stored bubble its number in the timeline and put it there (`below`: the conversation's
        latest message before it, for a chunk it begins)."""
        after = cls._get_collection().find_one_and_update({"_id": message_id}, {"$set": {"seq": seq},
                                                                                "$inc": {"rev": 1}},
                                                          return_document=ReturnDocument.AFTER)
        if after is not None:
            TimelineChunk.put_many([after], below)
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
    def set_text_extract(cls, message_id: str, record: dict[str, Any]) -> bool:
        """Replace the text read from the message's file (webapp.ocr); False when there is no such message."""
        with write_lock():
            after = cls._get_collection().find_one_and_update({"_id": message_id},
                                                              {"$set": {"text_extract": record}, "$inc": {"rev": 1}},
                                                              return_document=ReturnDocument.AFTER)
            if after is not None:
                TimelineChunk.put(after)
        return after is not None

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
    rev = IntField(null=True)  # one more for each update added: `done` deletes only what was seen

    meta = {"collection": "pending_updates"}

    @classmethod
    def add(cls, wamid: str, *, status: dict[str, Any] | None = None, reaction: dict[str, Any] | None = None) -> None:
        push = {"statuses": status} if status is not None else {"reactions": reaction}
        cls._get_collection().update_one(
            {"_id": wamid}, {"$push": push, "$inc": {"rev": 1}, "$setOnInsert": {"created_at": utcnow()}},
            upsert=True,
        )

    @classmethod
    def peek(cls, wamid: str) -> PendingUpdate | None:
        """What waits for `wamid`, left in place until `done`: if applying it fails half-way, the next
        delivery of the message (or a replay) applies it again (applying is idempotent)."""
        doc = cls._get_collection().find_one({"_id": wamid})
        return cls._from_son(doc) if doc else None

    def done(self) -> bool:
        """Delete what was applied; False when more came meanwhile (apply again, then try again)."""
        result = self._get_collection().delete_one({"_id": self.id, "rev": self.rev})
        return result.deleted_count > 0


DOCUMENTS: tuple[type[Document], ...] = (Conversation, Message, PendingUpdate, WamidAlias, *INDEX_DOCUMENTS)
