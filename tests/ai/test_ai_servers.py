"""The AI in the real servers: the app served by eventlet (jobs in the process) and a `flask worker` on Redis
both answer a webhook text with an AI reply, switched on by `flask settings set ai.enabled true`."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from flask import Flask

from tests.helpers.ai import ai_env
from tests.helpers.app import LiveServer
from tests.helpers.http import run_cli
from tests.helpers.llm_api import LLMServer, reply
from tests.helpers.payloads import RAVI, inbound, text
from tests.helpers.wait import eventually


def ai_replies(server: LiveServer) -> list[str]:
    data = server.api_get(f"/api/messages/{RAVI}")["data"]
    return [m["text"]["body"] for m in data if m["sentBy"] == "ai"]


def switch_on(make_app: Callable[..., Flask], llm_api: LLMServer, **overrides: Any) -> None:
    app = make_app(**ai_env(llm_api), **overrides)
    assert run_cli(app, "settings", "set", "ai.enabled", "true").exit_code == 0
    assert run_cli(app, "settings", "set", "ai.debounce_seconds", "0.5").exit_code == 0


def test_the_eventlet_server_replies_in_process(start_server: Callable[..., LiveServer],
                                                make_app: Callable[..., Flask], llm_api: LLMServer) -> None:
    switch_on(make_app, llm_api)
    server = start_server(**ai_env(llm_api))
    llm_api.script(reply("Hello from the AI"))
    server.post_webhook(inbound(text("Hi there", timestamp=int(time.time()))))
    assert eventually(lambda: ai_replies(server), timeout=15) == ["Hello from the AI"]


def test_a_worker_on_redis_replies(start_server: Callable[..., LiveServer], start_worker: Callable[..., Any],
                                   redis_server: Any, make_app: Callable[..., Flask], llm_api: LLMServer) -> None:
    switch_on(make_app, llm_api)
    server = start_server(**ai_env(llm_api), REDIS_URL=redis_server.url)
    start_worker(**ai_env(llm_api))
    llm_api.script(reply("Hello from the worker"))
    server.post_webhook(inbound(text("Hi there", timestamp=int(time.time()))))
    assert eventually(lambda: ai_replies(server), timeout=20) == ["Hello from the worker"]
