"""The chat-completions service (any OpenAI-compatible API: OpenAI, Groq, Ollama, vLLM) through the official
`openai` package, and the answer's declared form: a JSON object {"reply", "action", "lead"}.

Servers that ignore or refuse `response_format` still work: the instructions ask for the JSON object, a
refusal of `response_format` is retried once without it, and the answer is parsed leniently (code fences
and text around the object are ignored). An answer that still cannot be read is `None` (the caller hands
the conversation to a person)."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

import openai
import openai.resources.chat.completions  # loaded at start-up, not on the first customer message
import openai.types.chat
from flask import current_app

log = logging.getLogger(__name__)

ACTIONS = ("reply", "handoff")
LEAD_KEYS_HINT = "name, email, phone, company, interest, budget, location"


class AIUnavailable(Exception):
    """The call failed: no answer in time, refused (429, 5xx, auth), or the connection failed."""


@dataclass(frozen=True)
class Completion:
    content: str
    model: str
    prompt_tokens: int
    completion_tokens: int

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Answer:
    reply: str
    action: str  # reply | handoff
    lead_fields: dict[str, Any] = field(default_factory=dict)


def configured() -> str | None:
    """Why the AI cannot run (None when it can): the service is set in the environment."""
    if not current_app.config.get("AI_BASE_URL"):
        return "AI_BASE_URL is not set, so there is no AI service to ask (see README, \"AI auto-reply\")."
    return None


def model_name(setting: str) -> str:
    return setting or current_app.config.get("AI_MODEL") or "gpt-4o-mini"


def complete(messages: list[dict[str, str]], *, model: str, temperature: float, max_tokens: int,
             timeout: float) -> Completion:
    client = openai.OpenAI(base_url=current_app.config["AI_BASE_URL"],
                           api_key=current_app.config.get("AI_API_KEY") or "not-needed",
                           timeout=timeout, max_retries=0)
    request: dict[str, Any] = {"model": model, "messages": messages, "temperature": temperature,
                               "max_tokens": max_tokens}
    try:
        try:
            response = client.chat.completions.create(**request, response_format={"type": "json_object"})
        except (openai.BadRequestError, openai.UnprocessableEntityError) as exc:
            log.info("the AI service refused response_format (%s); asking again without it", exc.status_code)
            response = client.chat.completions.create(**request)
    except openai.APIStatusError as exc:
        raise AIUnavailable(f"the AI service answered {exc.status_code}") from exc
    except openai.APITimeoutError as exc:
        raise AIUnavailable(f"no answer within {timeout:g} s") from exc
    except openai.APIError as exc:
        raise AIUnavailable(f"the AI service failed: {type(exc).__name__}") from exc
    choices = getattr(response, "choices", None) or []
    content = (choices[0].message.content or "") if choices and choices[0].message else ""
    usage = getattr(response, "usage", None)
    prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
    completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
    if usage is None or prompt_tokens + completion_tokens == 0:  # no usage reported: estimate (4 chars a token)
        prompt_tokens = sum(len(m["content"]) for m in messages) // 4 + 1
        completion_tokens = len(content) // 4 + 1
    return Completion(content, str(getattr(response, "model", "") or model), prompt_tokens, completion_tokens)


FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$")


def parse_answer(content: str) -> Answer | None:
    """The declared answer in the model's text, or None when there is none to read."""
    text = FENCE.sub("", content.strip())
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        data = json.loads(text[start:end + 1])
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    reply = data.get("reply", data.get("text", data.get("message", "")))
    reply = reply.strip() if isinstance(reply, str) else ""
    action = str(data.get("action") or "reply").strip().lower()
    if action not in ACTIONS:
        return None
    if action == "reply" and not reply:
        return None
    lead = data.get("lead", data.get("lead_fields", data.get("leadFields"))) or {}
    fields = {str(k): v for k, v in lead.items()
              if isinstance(v, (str, int, float)) and not isinstance(v, bool) and str(v).strip()} \
        if isinstance(lead, dict) else {}
    return Answer(reply, action, fields)


def system_prompt(persona: str, instructions: str, *, business: str, max_tokens: int) -> str:
    parts = [persona.replace("{business}", business).strip()]
    if instructions.strip():
        parts.append(instructions.strip())
    parts.append(
        "Answer with ONE JSON object and nothing else, in this form:\n"
        '{"reply": "your message to the customer", "action": "reply", "lead": {}}\n'
        '- "action" is "reply" to answer the customer yourself, or "handoff" to pass the conversation to a '
        "person (the customer asks for one, is upset, or you cannot help); with \"handoff\", \"reply\" tells the "
        "customer a person will take over.\n"
        f'- "lead": details the customer gave about themselves ({LEAD_KEYS_HINT}); only what they said, '
        "else {}.\n"
        f"- Keep the reply short (well under {max_tokens} tokens) and in the customer's language."
    )
    return "\n\n".join(parts)
