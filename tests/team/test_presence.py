"""Presence over a real Socket.IO connection: agents' pages join a chat's room, everyone there hears who
comes, goes and types; programs with an API token are not "viewing" anything, and bad payloads are ignored."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import socketio
from flask import Flask

from tests.helpers.app import LiveServer
from tests.helpers.auth import Credentials, agent_credentials
from tests.helpers.payloads import NEHA, RAVI
from tests.helpers.services import RedisServer
from tests.helpers.wait import eventually


class Agent:
    """A python-socketio client with an agent's session cookie, recording presence events."""

    def __init__(self, server: LiveServer, credentials: Credentials | None = None, token: str | None = None) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()
        self.client = socketio.Client(reconnection=False)
        for name in ("presence:update", "presence:typing"):
            self.client.on(name, self._recorder(name))
        headers = {"Cookie": f"{credentials.cookie_name}={credentials.session_cookie}"} if credentials else {}
        self.client.connect(server.url, headers=headers, auth={"token": token} if token else None, wait_timeout=10,
                            transports=["websocket"])

    def _recorder(self, name: str) -> Callable[[dict[str, Any]], None]:
        def record(data: dict[str, Any]) -> None:
            with self.lock:
                self.events.append((name, data))
        return record

    def of(self, name: str) -> list[dict[str, Any]]:
        with self.lock:
            return [data for event, data in self.events if event == name]

    def viewers(self) -> list[str] | None:
        updates = self.of("presence:update")
        return [v["name"] for v in updates[-1]["viewers"]] if updates else None


def test_agents_in_a_chat_hear_who_comes_types_and_goes(live_server: LiveServer,
                                                         make_app: Callable[..., Flask]) -> None:
    assert live_server.credentials is not None
    me = Agent(live_server, live_server.credentials)
    maria = Agent(live_server, agent_credentials(make_app(), "maria@example.test", "Maria Lopez"))
    program = Agent(live_server, token=live_server.token)
    try:
        me.client.emit("presence:join", {"wa_id": RAVI})
        eventually(lambda: me.viewers() == ["Test Agent"])
        maria.client.emit("presence:join", {"wa_id": RAVI})
        eventually(lambda: me.viewers() == ["Maria Lopez", "Test Agent"])
        eventually(lambda: maria.viewers() == ["Maria Lopez", "Test Agent"])

        maria.client.emit("presence:typing", {"wa_id": RAVI})
        typing = eventually(lambda: me.of("presence:typing"))
        assert typing[0] == {"wa_id": RAVI, "name": "Maria Lopez", "email": "maria@example.test"}
        # ignored: typing in a chat she has not joined, a program joining, payloads that are not a number
        maria.client.emit("presence:typing", {"wa_id": NEHA})
        program.client.emit("presence:join", {"wa_id": RAVI})
        maria.client.emit("presence:join", {"wa_id": {"$gt": ""}})  # not a number: she leaves the room
        eventually(lambda: me.viewers() == ["Test Agent"])
        maria.client.emit("presence:join", {"wa_id": RAVI})
        eventually(lambda: me.viewers() == ["Maria Lopez", "Test Agent"])
        time.sleep(0.5)
        assert len(me.of("presence:typing")) == 1 and maria.of("presence:typing") == []  # never her own
        assert program.of("presence:update") == []

        maria.client.disconnect()  # she closes the page
        eventually(lambda: me.viewers() == ["Test Agent"])
    finally:
        for client in (me, maria, program):
            if client.client.connected:
                client.client.disconnect()


def test_agents_on_two_web_processes_see_each_other(start_server: Callable[..., LiveServer],
                                                     redis_server: RedisServer,
                                                     make_app: Callable[..., Flask]) -> None:
    """With REDIS_URL the viewers of a chat are every process's, not the announcing process's only."""
    first, second = start_server(REDIS_URL=redis_server.url), start_server(REDIS_URL=redis_server.url)
    assert first.credentials is not None
    me = Agent(first, first.credentials)
    maria = Agent(second, agent_credentials(make_app(), "maria@example.test", "Maria Lopez"))
    try:
        me.client.emit("presence:join", {"wa_id": RAVI})
        eventually(lambda: me.viewers() == ["Test Agent"])
        maria.client.emit("presence:join", {"wa_id": RAVI})  # announced by the second process
        eventually(lambda: me.viewers() == ["Maria Lopez", "Test Agent"])
        eventually(lambda: maria.viewers() == ["Maria Lopez", "Test Agent"])
        maria.client.emit("presence:typing", {"wa_id": RAVI})
        assert eventually(lambda: me.of("presence:typing"))[0]["name"] == "Maria Lopez"
        me.client.emit("presence:join", {"wa_id": NEHA})  # I move on; she sees me go
        eventually(lambda: maria.viewers() == ["Maria Lopez"])
        me.client.emit("presence:join", {"wa_id": RAVI})
        eventually(lambda: maria.viewers() == ["Maria Lopez", "Test Agent"])
        maria.client.disconnect()
        eventually(lambda: me.viewers() == ["Test Agent"])
    finally:
        for client in (me, maria):
            if client.client.connected:
                client.client.disconnect()
