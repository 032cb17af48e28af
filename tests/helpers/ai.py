"""Shared by the AI tests: an app pointed at the local chat-completions server, with the AI switched on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.helpers.llm_api import KEY, MODEL, LLMServer
from tests.helpers.payloads import RAVI
from tests.helpers.wait import eventually
from webapp import settings

FAST = {"ai.enabled": True, "ai.debounce_seconds": 0.4, "ai.timeout_seconds": 2.0}


def ai_env(llm: LLMServer) -> dict[str, str]:
    return {"AI_BASE_URL": llm.url, "AI_API_KEY": KEY, "AI_MODEL": MODEL}


def ai_app(make_app: Callable[..., Flask], llm: LLMServer, **values: Any) -> Flask:
    app = make_app(**ai_env(llm))
    with app.app_context():
        settings.change({**FAST, **values}, by="test")
    return app


def messages(client: FlaskClient, wa_id: str = RAVI) -> list[dict[str, Any]]:
    return client.get(f"/api/messages/{wa_id}?limit=200").get_json()["data"]


def sent_by(client: FlaskClient, who: str, wa_id: str = RAVI) -> list[str]:
    return [(m.get("text") or {}).get("body", "") for m in messages(client, wa_id)
            if m["direction"] == "outbound" and m["sentBy"] == who]


def wait_sent(client: FlaskClient, who: str, count: int, wa_id: str = RAVI, timeout: float = 8.0) -> list[str]:
    return eventually(lambda: (found := sent_by(client, who, wa_id)) and len(found) >= count and found,
                      timeout=timeout)


def conversation_status(client: FlaskClient, wa_id: str = RAVI) -> str:
    rows = [c for c in client.get("/api/conversations").get_json()["data"] if c["wa_id"] == wa_id]
    return rows[0]["conversationStatus"] if rows else ""
