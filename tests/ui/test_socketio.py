"""The Socket.IO contract, with python-socketio's client on a real socket to the live (eventlet) server:
what each event carries, in which order, that statuses only move forward, and catching up after a
dropped connection."""

from __future__ import annotations

from collections.abc import Callable

import requests

from tests.helpers.app import LiveServer
from tests.helpers.browser import Listener, api, post
from tests.helpers.payloads import NEHA, RAVI, failure, inbound, outbound, reaction, status, statuses, text, wamid
from tests.helpers.wait import eventually

Listen = Callable[[LiveServer], Listener]


def test_inbound_message_pushes_message_and_conversation(live_server: LiveServer, listen: Listen) -> None:
    listener = listen(live_server)
    first = wamid()
    post(live_server, inbound(text("Is the shop open today?", id=first, timestamp=1754400000)))

    message = listener.wait_for("message:new", id=first)
    assert message["wa_id"] == RAVI and message["direction"] == "inbound" and message["type"] == "text"
    assert message["text"] == {"body": "Is the shop open today?"}
    assert message["contactName"] == "Ravi Kumar" and message["timestamp"] == "2025-08-05T13:20:00Z"
    assert f'data-message-id="{first}"' in message["html"] and "Is the shop open today?" in message["html"]

    row = listener.wait_for("conversation:update", wa_id=RAVI)
    assert row["unreadCount"] == 1 and row["id"] == first and row["preview"] == "Is the shop open today?"
    assert f'data-wa-id="{RAVI}"' in row["html"] and "Ravi Kumar" in row["html"]
    assert ">1 unread message<" in row["html"]
    # the same shape the JSON API serves, plus the rendered partial
    assert {k: v for k, v in row.items() if k != "html"} == api(live_server, "/conversations")[0]


def test_new_message_comes_before_its_status_and_status_carries_the_tick(
    live_server: LiveServer, listen: Listen
) -> None:
    listener = listen(live_server)
    reply = wamid()
    post(live_server, inbound(outbound("Your order has shipped", id=reply)))
    post(live_server, statuses(status(reply, "delivered", timestamp=1754400100)))

    update = listener.wait_for("message:status", id=reply)
    assert update == {**update, "wa_id": RAVI, "status": "delivered", "timestamp": "2025-08-05T13:21:40Z",
                      "error": None}
    assert 'aria-label="Delivered"' in update["html"]
    names = [name for name, data in listener.events if data.get("id") == reply]
    assert names.index("message:new") < names.index("message:status")
    assert listener.of("message:new", id=reply)[0]["status"] == "sent"


def test_status_is_never_pushed_backwards(live_server: LiveServer, listen: Listen) -> None:
    listener = listen(live_server)
    reply, barrier = wamid(), wamid()
    post(live_server, inbound(outbound("Thanks for waiting", id=reply)))
    post(live_server, statuses(status(reply, "read", timestamp=1754400200)))
    listener.wait_for("message:status", id=reply, status="read")

    post(live_server, statuses(status(reply, "delivered", timestamp=1754400100)))  # late, and older
    post(live_server, inbound(text("ok", id=barrier, timestamp=1754400300)))  # pushed after the stale one
    listener.wait_for("message:new", id=barrier)

    assert [u["status"] for u in listener.of("message:status", id=reply)] == ["read"]
    assert api(live_server, f"/messages/{RAVI}")[0]["status"] == "read"


def test_failure_and_reactions_are_pushed_rendered(live_server: LiveServer, listen: Listen) -> None:
    listener = listen(live_server)
    reply = wamid()
    post(live_server, inbound(outbound("See you tomorrow", id=reply)))
    post(live_server, statuses(status(reply, "failed", errors=[failure(131026, "Message undeliverable",
                                                                     "The number is not on WhatsApp.")])))
    failed = listener.wait_for("message:status", id=reply)
    assert failed["status"] == "failed" and failed["error"]["title"] == "Message undeliverable"
    assert 'aria-label="Failed"' in failed["html"] and "The number is not on WhatsApp." in failed["html"]

    post(live_server, inbound(reaction(reply, "👍", timestamp=1754400500)))
    reactions = listener.wait_for("message:reactions", id=reply)
    assert [r["emoji"] for r in reactions["reactions"]] == ["👍"] and "👍" in reactions["html"]


def test_opening_a_chat_marks_it_read_for_every_client(live_server: LiveServer, listen: Listen) -> None:
    post(live_server, inbound(text("hello", timestamp=1754400000), text("anyone?", timestamp=1754400010)))
    other_agent = listen(live_server)

    # Showing the chat (a GET) changes nothing; the page's script then marks it read with a POST.
    page = requests.get(f"{live_server.url}/c/{RAVI}", headers=live_server.agent_headers, timeout=10)
    assert page.status_code == 200 and "anyone?" in page.text
    assert api(live_server, "/conversations")[0]["unreadCount"] == 2
    read = requests.post(f"{live_server.url}/api/conversations/{RAVI}/read", headers=live_server.agent_headers,
                         timeout=10)
    assert read.status_code == 200, read.text

    row = other_agent.wait_for("conversation:update", wa_id=RAVI)
    assert row["unreadCount"] == 0 and 'class="badge"' not in row["html"]
    assert api(live_server, "/conversations")[0]["unreadCount"] == 0


def test_reply_from_the_inbox_is_pushed_to_everyone(live_server: LiveServer, listen: Listen) -> None:
    post(live_server, inbound(text("Do you deliver?", sender=NEHA, timestamp=1754400000), name="Neha", wa_id=NEHA))
    listener = listen(live_server)

    response = requests.post(f"{live_server.url}/c/{NEHA}/messages", data={"body": "Yes, every day"},
                             headers={"HX-Request": "true", **live_server.agent_headers}, timeout=10)
    assert response.status_code == 200 and "Yes, every day" in response.text

    pushed = listener.wait_for("message:new", wa_id=NEHA)
    assert pushed["direction"] == "outbound" and pushed["status"] == "sent"
    assert f'data-message-id="{pushed["id"]}"' in response.text  # the same bubble the sender got
    assert 'aria-label="Sent"' in pushed["html"]
    assert listener.wait_for("conversation:update", wa_id=NEHA)["preview"] == "Yes, every day"


def test_reconnecting_client_catches_up_from_the_api_and_the_page(live_server: LiveServer, listen: Listen) -> None:
    listener = listen(live_server)
    post(live_server, inbound(text("first", timestamp=1754400000)))
    listener.wait_for("message:new", wa_id=RAVI)
    listener.disconnect()

    missed = wamid()
    post(live_server, inbound(text("sent while you were away", id=missed, timestamp=1754400060)))
    listener.connect()
    assert listener.client.connected

    assert not listener.of("message:new", id=missed)  # not pushed to a disconnected client...
    assert [m["id"] for m in api(live_server, f"/messages/{RAVI}")][-1] == missed  # ...but there to fetch
    fragment = requests.get(f"{live_server.url}/c/{RAVI}/messages",
                            headers={"HX-Request": "true", **live_server.agent_headers}, timeout=10)
    assert f'data-message-id="{missed}"' in fragment.text and "sent while you were away" in fragment.text
    rows = requests.get(f"{live_server.url}/ui/conversations",
                        headers={"HX-Request": "true", **live_server.agent_headers}, timeout=10)
    assert ">2 unread messages<" in rows.text

    # and the reconnected client is live again
    after = wamid()
    post(live_server, inbound(text("back online", id=after, timestamp=1754400120)))
    eventually(lambda: listener.of("message:new", id=after))
