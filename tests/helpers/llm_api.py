"""A local chat-completions server (the OpenAI protocol, as OpenAI, Groq, Ollama and vLLM speak it) for tests
and demos.

`POST /v1/chat/completions` (bearer key checked when one is set) answers with the next scripted answer:
a declared reply (`reply("text", lead={...})`), a handoff action, raw content (malformed output), an error
status (429 with OpenAI's error body), or any of them after a delay (past the app's timeout). Without a script
it answers a friendly reply. It records every request body (messages, model, temperature, max_tokens,
response_format) and the most requests it had in flight at once.

In a test: the `llm_api` fixture. For a demo: `python -m tests.helpers.llm_api --port 8090`, then
`AI_BASE_URL=http://127.0.0.1:8090/v1 make run` and `flask settings set ai.enabled true`."""

from __future__ import annotations

import argparse
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from devdb.launcher import free_port

KEY = "test-llm-key"
MODEL = "test-model"
DEFAULT_REPLY = "Hello! How can I help you today?"


@dataclass
class Script:
    content: str | None = None  # the assistant's message text
    status: int = 200
    delay: float = 0.0
    prompt_tokens: int = 50
    completion_tokens: int = 20


def reply(text: str, *, lead: dict[str, Any] | None = None, **usage: Any) -> Script:
    return Script(json.dumps({"reply": text, "action": "reply", "lead": lead or {}}), **usage)


def handoff(text: str = "", **usage: Any) -> Script:
    return Script(json.dumps({"reply": text, "action": "handoff", "lead": {}}), **usage)


def raw(content: str, **usage: Any) -> Script:
    return Script(content, **usage)


def error(status: int = 429) -> Script:
    return Script(None, status=status)


def slow(seconds: float, script: Script | None = None) -> Script:
    base = script or reply("Sorry for the wait!")
    return Script(base.content, base.status, seconds, base.prompt_tokens, base.completion_tokens)


class QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


@dataclass
class LLMServer:
    key: str = KEY
    port: int = field(default_factory=free_port)
    refuse_response_format: bool = False  # answer 400 when a request carries response_format (some servers do)
    requests: list[dict[str, Any]] = field(default_factory=list)
    max_in_flight: int = 0
    _in_flight: int = 0
    _scripts: deque[Script] = field(default_factory=deque)
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _server: BaseWSGIServer | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL the app is given as AI_BASE_URL."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> LLMServer:
        self._server = make_server("127.0.0.1", self.port, self.wsgi, threaded=True, request_handler=QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="llm-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def script(self, *answers: Script) -> None:
        """Queue answers, used in order by the next requests."""
        with self._changed:
            self._scripts.extend(answers)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The first `count` requests, once they have come (else AssertionError)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} chat-completions request(s), got {len(self.requests)}")
                self._changed.wait(left)
            return list(self.requests[:count])

    def wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        response = self._respond(request)
        return response(environ, start_response)

    def _respond(self, request: Request) -> Response:
        if request.method != "POST" or request.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
            return _error(404, f"Unknown request URL: {request.method} {request.path}", "invalid_request_error")
        if self.key and request.headers.get("Authorization") != f"Bearer {self.key}":
            return _error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list) or not body.get("model"):
            return _error(400, "'messages' and 'model' are required.", "invalid_request_error")
        refused = self.refuse_response_format and "response_format" in body
        with self._changed:
            self.requests.append(body)
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            script = self._scripts.popleft() if self._scripts and not refused else reply(DEFAULT_REPLY)
            self._changed.notify_all()
        try:
            if refused:
                return _error(400, "response_format is not supported by this model.", "invalid_request_error")
            if script.delay:
                time.sleep(script.delay)
            if script.status != 200:
                kind = "rate_limit_exceeded" if script.status == 429 else "server_error"
                return _error(script.status, "Rate limit reached. Please try again later." if script.status == 429
                              else "The server had an error.", kind)
            return Response(json.dumps({
                "id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
                "model": body["model"],
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": script.content}}],
                "usage": {"prompt_tokens": script.prompt_tokens, "completion_tokens": script.completion_tokens,
                          "total_tokens": script.prompt_tokens + script.completion_tokens},
            }), 200, mimetype="application/json")
        finally:
            with self._changed:
                self._in_flight -= 1
                self._changed.notify_all()


def _error(status: int, message: str, kind: str, code: str | None = None) -> Response:
    return Response(json.dumps({"error": {"message": message, "type": kind, "param": None, "code": code}}), status,
                    mimetype="application/json")


@pytest.fixture
def llm_api() -> Iterator[LLMServer]:
    """A started local chat-completions server (key KEY); stopped after."""
    server = LLMServer().start()
    yield server
    server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="A local OpenAI-compatible chat-completions server for demos")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--key", default="", help="the API key to require (none by default)")
    args = parser.parse_args()
    server = LLMServer(key=args.key, port=args.port).start()
    print(f"chat completions on {server.url} (every answer: {DEFAULT_REPLY!r}). Ctrl-C stops it.", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
