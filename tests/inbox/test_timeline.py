"""The hot reads' own documents (webapp/inbox/indexes.py): a chat read from its timeline chunks, the list
from its recency chunks, and `flask inbox reindex` building both for a database written before them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import bson
from bson import Binary
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers.app import BUSINESS_NUMBER, PHONE_NUMBER_ID, with_database
from tests.helpers.http import get_ok, run_cli, webhook_ok
from tests.helpers.payloads import RAVI, inbound, meta_body, now, outbound, reaction, status, statuses, text, value
from webapp.inbox.audit import audit
from webapp.inbox.documents import Conversation, Message
from webapp.inbox.indexes import ContactConversations, RecentChunk, TimelineChunk, revision, unpack
from webapp.inbox.schemas import Message as SchemaMessage
from webapp.inbox.writes import apply_events, set_state, store_history
from webapp.whatsapp.events import Business, MessageEvent

T0 = 1754400000  # 2025-08-05T13:20:00Z
OTHERS = [f"4479000000{n:02d}" for n in range(30)]


def page_ids(client: FlaskClient, wa_id: str, limit: int = 7) -> list[str]:
    """Every message of a chat, paging back `limit` at a time, oldest first."""
    seen: list[str] = []
    url = f"/api/messages/{wa_id}?limit={limit}"
    for _ in range(100):
        body = get_ok(client, url)
        seen = [m["id"] for m in body["data"]] + seen
        if not body["meta"]["hasMore"]:
            return seen
        url = f"/api/messages/{wa_id}?limit={limit}&before={body['meta']['before']}"
    raise AssertionError("paging did not end")


def list_ids(client: FlaskClient, limit: int = 4) -> list[str]:
    seen: list[str] = []
    url = f"/api/conversations?limit={limit}"
    for _ in range(100):
        body = get_ok(client, url)
        seen += [c["wa_id"] for c in body["data"]]
        if not body["meta"]["hasMore"]:
            return seen
        url = f"/api/conversations?limit={limit}&before={body['meta']['before']}"
    raise AssertionError("paging did not end")


def fill(client: FlaskClient) -> list[str]:
    """60 messages from Ravi over several bodies (a few late, out of order), and a message from each of
    30 other customers; the ids in the order the chat shows them."""
    ids = [f"wamid.T{i:03d}" for i in range(60)]
    order = list(range(60))
    order[10], order[40] = order[40], order[10]  # one arrives 30 messages late, one 30 early
    for start in range(0, 60, 9):
        webhook_ok(client, inbound(*[text(f"m{i}", id=ids[i], timestamp=T0 + i) for i in order[start:start + 9]]))
    for n, wa_id in enumerate(OTHERS):
        webhook_ok(client, inbound(text(f"hello {n}", id=f"wamid.O{n:02d}", timestamp=T0 + 100 + n, sender=wa_id),
                                   wa_id=wa_id))
    return ids


def test_a_long_chat_pages_in_time_order_and_shows_every_change(client: FlaskClient) -> None:
    ids = fill(client)
    assert page_ids(client, RAVI) == ids
    webhook_ok(client, meta_body(value(messages=[outbound("Shipped", id="wamid.OUT", timestamp=T0 + 70)],
                                       contacts=[(RAVI, "Ravi Kumar")])))
    # a status and a reaction show in the pages read from the chunks, an old page's too
    webhook_ok(client, statuses(status("wamid.OUT", "read", timestamp=T0 + 500)))
    webhook_ok(client, inbound(reaction(ids[3], "👍", id="wamid.R1", timestamp=T0 + 501)))
    latest = get_ok(client, f"/api/messages/{RAVI}?limit=5")["data"]
    assert [m["id"] for m in latest] == [*ids[-4:], "wamid.OUT"] and latest[-1]["status"] == "read"
    old = get_ok(client, f"/api/messages/{RAVI}?limit=5&before={ids[5]}")["data"]
    assert [m["id"] for m in old] == ids[:5]
    assert [r["emoji"] for r in old[3]["reactions"]] == ["👍"]
    assert page_ids(client, RAVI) == [*ids, "wamid.OUT"]


def test_the_list_follows_the_latest_message_and_pages_completely(client: FlaskClient) -> None:
    fill(client)
    newest_first = [*reversed(OTHERS), RAVI]
    assert list_ids(client) == newest_first
    webhook_ok(client, inbound(text("back again", id="wamid.BACK", timestamp=T0 + 900, sender=OTHERS[3]),
                               wa_id=OTHERS[3]))
    webhook_ok(client, inbound(text("an old one, late", id="wamid.LATE", timestamp=T0 + 1, sender=OTHERS[5]),
                               wa_id=OTHERS[5]))
    assert list_ids(client) == [OTHERS[3], *[w for w in newest_first if w != OTHERS[3]]]
    row = get_ok(client, "/api/conversations?limit=1")["data"][0]
    assert row["wa_id"] == OTHERS[3] and row["text"]["body"] == "back again" and row["unreadCount"] == 2


def test_reindex_builds_the_same_reads_for_an_older_database(app: Flask, client: FlaskClient) -> None:
    ids = fill(client)
    before: dict[str, Any] = {"chat": page_ids(client, RAVI), "list": list_ids(client),
                              "rows": get_ok(client, "/api/conversations")["data"]}
    # what a database written before the timeline looks like
    for document in (TimelineChunk, RecentChunk, ContactConversations):
        document.objects.delete()
    Message.objects.update(unset__seq=True)
    Conversation.objects.update(unset__seq=True, unset__row_chunk=True)
    result = run_cli(app, "inbox", "reindex")
    assert result.exit_code == 0, result.output
    assert "31 conversation(s), 90 message(s)" in result.output
    assert page_ids(client, RAVI) == before["chat"] == ids
    assert list_ids(client) == before["list"]
    assert get_ok(client, "/api/conversations")["data"] == before["rows"]
    webhook_ok(client, inbound(text("after", id="wamid.AFTER", timestamp=T0 + 1000)))
    assert page_ids(client, RAVI)[-1] == "wamid.AFTER" and list_ids(client)[0] == RAVI


def test_rows_and_bubbles_read_by_id_carry_every_later_write(app: Flask, client: FlaskClient) -> None:
    """State changes, reads, a reopen and the text read from a file reach the snapshots the reads use."""
    webhook_ok(client, inbound(text("one", id="wamid.S1", timestamp=T0), text("two", id="wamid.S2", timestamp=T0 + 1)))
    webhook_ok(client, inbound(text("other", id="wamid.S3", timestamp=T0 + 2, sender=OTHERS[0]), wa_id=OTHERS[0]))
    conversation = Conversation.for_wa_id(RAVI)
    assert conversation is not None
    with app.app_context():
        set_state(conversation.id, by="test", status="resolved", assignee="ana@example.com")
        Message.set_text_extract("wamid.S1", {"status": "done", "text": "INVOICE 42"})
    row = next(c for c in get_ok(client, "/api/conversations")["data"] if c["wa_id"] == RAVI)
    assert row["conversationStatus"] == "resolved" and row["assignee"] == "ana@example.com"
    assert [c["wa_id"] for c in get_ok(client, "/api/conversations?filter=resolved")["data"]] == [RAVI]
    assert [c["wa_id"] for c in get_ok(client, "/api/conversations?filter=unassigned")["data"]] == [OTHERS[0]]
    assert get_ok(client, f"/api/messages/{RAVI}")["data"][0]["extractedText"] == "INVOICE 42"
    Conversation.mark_read(conversation.id)
    assert [c["wa_id"] for c in get_ok(client, "/api/conversations?filter=unread")["data"]] == [OTHERS[0]]
    webhook_ok(client, inbound(text("three", id="wamid.S4", timestamp=T0 + 3)))  # the customer writes again
    row = get_ok(client, "/api/conversations")["data"][0]
    assert (row["wa_id"], row["conversationStatus"], row["unreadCount"]) == (RAVI, "open", 1)
    webhook_ok(client, inbound(text("three", id="wamid.S4", timestamp=T0 + 3)))  # delivered again: counted once
    assert get_ok(client, "/api/conversations")["data"][0]["unreadCount"] == 1


def test_make_run_builds_the_fast_reads_of_a_database_from_an_earlier_version(app: Flask) -> None:
    client = app.test_client()
    webhook_ok(client, inbound(text("Hello from before", timestamp=now(60))))
    with app.app_context():
        for document in (TimelineChunk, RecentChunk, ContactConversations):
            document._get_collection().drop()  # as an earlier version left it
    assert client.get("/api/conversations").get_json()["data"] == []
    result = app.test_cli_runner().invoke(args=["seed-demo"])  # what `make run` runs at every start
    assert "Built the inbox's fast reads for 1 conversation(s) and 1 message(s)" in result.output, result.output
    assert [c["wa_id"] for c in client.get("/api/conversations").get_json()["data"]] == [RAVI]
    assert [m["text"]["body"] for m in client.get(f"/api/messages/{RAVI}").get_json()["data"]] == ["Hello from before"]


def test_a_page_read_from_the_timeline_shows_each_message_as_its_stored_document_does(
        app: Flask, client: FlaskClient) -> None:
    """The timeline keeps a trimmed copy of each message (no search text, no empty fields) and the API
    builds its answer from that copy without making documents: it must answer exactly what the message
    as stored in `messages` gives, for every kind of field."""
    ids = fill(client)
    webhook_ok(client, meta_body(value(messages=[outbound("Shipped", id="wamid.OUT", timestamp=T0 + 70)],
                                       contacts=[(RAVI, "Ravi Kumar")])))
    webhook_ok(client, statuses(status("wamid.OUT", "failed", timestamp=T0 + 80,
                                       errors=[{"code": 131047, "title": "Re-engagement message"}])))
    webhook_ok(client, inbound(reaction(ids[-1], "🙏", id="wamid.R2", timestamp=T0 + 81)))
    webhook_ok(client, inbound(text("a reply", id="wamid.CTX", timestamp=T0 + 82, context={"from": RAVI,
                                                                                           "id": ids[2]})))
    with app.app_context():
        Message.set_text_extract(ids[-2], {"status": "done", "text": "INVOICE 7"})
    shown_ = get_ok(client, f"/api/messages/{RAVI}?limit=8")["data"]
    assert [m["id"] for m in shown_] == [*ids[-6:], "wamid.OUT", "wamid.CTX"]
    with app.app_context():
        conversation = Conversation.for_wa_id(RAVI)
        assert conversation is not None
        expected = [SchemaMessage.of(Message.objects.get(pk=m["id"]), conversation.contact_name)
                    .model_dump(mode="json", by_alias=True) for m in shown_]
    assert shown_ == expected
    failed = next(m for m in shown_ if m["id"] == "wamid.OUT")
    assert (failed["status"], failed["error"]["code"]) == ("failed", 131047) and shown_[-1]["context"]["id"] == ids[2]
    assert [r["emoji"] for m in shown_ if m["id"] == ids[-1] for r in m["reactions"]] == ["🙏"]
    assert [m.get("extractedText") for m in shown_ if m["id"] == ids[-2]] == ["INVOICE 7"]


def test_snapshots_in_the_format_before_are_read_until_a_later_write_replaces_them(
        app: Flask, client: FlaskClient) -> None:
    """Chunks written by the version before (each snapshot a `{v: rev, b: BSON}` under `m`) show the same
    chat and list; later writes go to `s` and win; a conversation that moves leaves no row behind."""
    ids = fill(client)
    chat, rows = page_ids(client, RAVI), get_ok(client, "/api/conversations?limit=100")["data"]
    messages = get_ok(client, f"/api/messages/{RAVI}?limit=100")["data"]
    with app.app_context():
        for document in (TimelineChunk, RecentChunk):
            collection = document._get_collection()
            for chunk in list(collection.find({"s": {"$exists": True}})):
                before = {key: {"v": revision(entry), "b": Binary(bson.encode(unpack(entry)))}
                          for key, entry in chunk["s"].items()}
                collection.update_one({"_id": chunk["_id"]}, {"$set": {"m": before}, "$unset": {"s": ""}})
        assert not TimelineChunk._get_collection().find_one({"s": {"$exists": True}})
    assert page_ids(client, RAVI) == chat == ids
    assert get_ok(client, "/api/conversations?limit=100")["data"] == rows
    assert get_ok(client, f"/api/messages/{RAVI}?limit=100")["data"] == messages
    webhook_ok(client, inbound(reaction(ids[3], "👍", id="wamid.R1", timestamp=T0 + 501)))
    webhook_ok(client, inbound(text("back", id="wamid.BACK", timestamp=T0 + 900, sender=OTHERS[0]),
                               wa_id=OTHERS[0]))
    assert [r["emoji"] for r in get_ok(client, f"/api/messages/{RAVI}?limit=100")["data"][3]["reactions"]] == ["👍"]
    assert list_ids(client) == [OTHERS[0], *[c["wa_id"] for c in rows if c["wa_id"] != OTHERS[0]]]


# --- store_history: many messages of a chat in one pass, the same result as one by one ----------------------


def history(wa_id: str, count: int, start: int = 0) -> list[MessageEvent]:
    """A chat's messages: two from the customer, then a reply, ...; a few out of timestamp order."""
    business = Business(PHONE_NUMBER_ID, BUSINESS_NUMBER)
    events = []
    for n in range(start, start + count):
        inbound_ = n % 3 != 2
        at = T0 + n + (40 if n % 17 == 5 else 0)  # now and then one whose timestamp is later than the next ones
        events.append(MessageEvent(
            wamid=f"wamid.H{wa_id[-3:]}.{n:04d}", business=business, contact_wa_id=wa_id, contact_name="History",
            direction="inbound" if inbound_ else "outbound", sender=wa_id if inbound_ else BUSINESS_NUMBER,
            recipient=BUSINESS_NUMBER if inbound_ else wa_id, type="text", content={"body": f"message {n}"},
            timestamp=datetime.fromtimestamp(at, UTC)))
    return events


def shown(client: FlaskClient, wa_id: str) -> dict[str, Any]:
    """What the API shows of a chat: its messages (paged back), its row and the unread total."""
    messages = []
    url = f"/api/messages/{wa_id}?limit=40"
    while url:
        body = get_ok(client, url)
        messages = body["data"] + messages
        url = f"/api/messages/{wa_id}?limit=40&before={body['meta']['before']}" if body["meta"]["hasMore"] else ""
    row = next(c for c in get_ok(client, "/api/conversations")["data"] if c["wa_id"] == wa_id)
    return {"messages": [(m["id"], m["text"]["body"], m["direction"], m["status"]) for m in messages],
            "row": {k: row[k] for k in ("unreadCount", "text", "status", "direction")},
            "unread": client.get("/ui/unread").get_json()["unread"]}


def test_store_history_leaves_what_storing_one_by_one_leaves(make_app: Callable[..., Flask], mongodb_uri: str) -> None:
    """The same 130 messages, one by one in one database and through store_history in batches in another
    (with a status that came first, a message already stored, and a read in between): the same chat, row,
    unread counts, and an audit with nothing to say."""
    results = []
    for name, batched in (("one_by_one", False), ("history", True)):
        app = make_app(MONGODB_URI=with_database(mongodb_uri, f"{name}_{uuid.uuid4().hex[:6]}"))
        client = app.test_client()
        events = history(RAVI, 130)
        webhook_ok(client, statuses(status(events[7].wamid, "read", timestamp=T0 + 300)))  # before its message
        with app.app_context():
            apply_events(events[:1])  # stored before: a batch repeats it
            if batched:
                store_history(events[:60])
            else:
                apply_events(events[:60])
        assert client.post(f"/api/conversations/{RAVI}/read").status_code == 200
        with app.app_context():
            if batched:
                store_history(events[60:100])
                store_history(events[100:])
            else:
                apply_events(events[60:])
            assert audit() == []
        results.append(shown(client, RAVI))
    one_by_one, batched_result = results
    assert len(one_by_one["messages"]) == 130 and one_by_one["row"]["unreadCount"] == 47
    assert next(m for m in one_by_one["messages"] if m[0] == "wamid.H320.0007")[3] == "read"
    assert batched_result == one_by_one
