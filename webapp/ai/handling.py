"""Who handles a conversation (the AI or people), and the AI's answer to a customer.

Status means who handles it: `pending` = the AI (it took the conversation: set_state(status="pending",
by="ai")), `open` = people. Handoff is set_state(status="open", by="ai" or the agent's email). The AI takes
an open, unassigned conversation a customer writes in unless it handed it over before (then it stays with
people until an agent hands it back, or it is resolved)."""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app

from .. import settings
from ..core import bus
from ..core.clock import as_utc, utcnow
from ..core.errors import AppError
from ..inbox import sending, writes
from ..inbox.documents import OPEN, PENDING, Conversation, Message
from . import provider
from .documents import AiConversation, AiReply, AiUsage
from .events import LeadFieldsNoticed
from .hours import closed_period

log = logging.getLogger(__name__)

AI = "ai"  # Message.sent_by_app of what the AI sends, and `by` of the state changes it makes
AUTO = "auto"  # greetings and away messages: automatic, but not the AI's answers
AUTOMATED = (AI, AUTO)

# Why a conversation was handed over (AiConversation.handoff_reason; shown in the notification).
REASONS = {
    "model": "the AI passed it on",
    "keyword": "the customer asked for a person",
    "error": "the AI did not answer",
    "unreadable": "the AI's answer could not be read",
    "turns": "the AI replied too many times without resolving it",
    "budget": "the AI's token budget ran out",
    "agent": "an agent took over",
    "off": "the AI was switched off",
}


def unavailable(values: dict[str, Any] | None = None) -> str | None:
    """Why the AI does not answer now (None: it does)."""
    problem = provider.configured()
    if problem:
        return problem
    enabled = values["ai.enabled"] if values is not None else settings.get("ai.enabled")
    return None if enabled else "The AI is switched off (ai.enabled)."


def handles(conversation: Conversation, record: dict[str, Any]) -> bool:
    """Whether the AI should handle this conversation now a customer wrote in it."""
    status = conversation.status or OPEN
    if status == PENDING:
        return True
    return status == OPEN and not conversation.assignee and not record.get("with_people")


def take(conversation_id: str) -> None:
    writes.set_state(conversation_id, by=AI, status=PENDING)


def has_keyword(text: str, keywords: list[str]) -> bool:
    folded = f" {text.casefold()} "
    for keyword in keywords:
        word = keyword.casefold().strip()
        if not word:
            continue
        if word.isascii():
            padded = f" {word} "
            cleaned = "".join(c if c.isalnum() or c.isspace() else " " for c in folded)
            if padded in f" {cleaned} ":
                return True
        elif word in folded:
            return True
    return False


def send_automatic(wa_id: str, body: str, sent_by: str) -> Message | None:
    """Send through the one send path; a refusal (closed window, refused token) is logged, not raised."""
    try:
        return sending.send_text(wa_id, body[: current_app.config.get("MESSAGE_MAX_LENGTH", 4096)], sent_by=sent_by)
    except AppError as exc:
        log.warning("could not send an automatic message to a conversation: %s", exc.message)
        return None


def handoff(conversation_id: str, reason: str, *, notice: str | None = None, tell_customer: bool = True) -> None:
    """Pass the conversation to people: the customer gets a short "a person will reply" message (the away
    message when closed; `notice` instead when given), then the status becomes open."""
    values = settings.current()
    conversation = Conversation.objects(pk=conversation_id).only("wa_id", "status").first()
    if conversation is None:
        return
    AiConversation.update(conversation_id, {"with_people": True, "handoff_reason": reason,
                                            "handed_off_at": utcnow(), "waiting_for": None})
    if tell_customer:
        period = closed_period(values)
        text = notice or values["ai.handoff_message"]
        if period is not None and not notice:
            text = values["hours.away_message"]
            AiConversation.update(conversation_id, {"away_sent_for": period})
        if text.strip():
            send_automatic(conversation.wa_id, text, AI)
    writes.set_state(conversation_id, by=AI, status=OPEN)
    log.info("AI handed a conversation to people: %s", reason)


def message_text(message: Message) -> str:
    """What the customer's (or business's) message says, for the model."""
    content = message.content if isinstance(message.content, dict) else {}
    if message.type == "text":
        return str(content.get("body") or "")
    if message.type == "template":
        return str(content.get("text") or message.preview)
    parts = [f"[{message.type}]"]
    caption = content.get("caption")
    if caption:
        parts.append(str(caption))
    extracted = extracted_text(message.id)
    if extracted:
        parts.append(f"(text read from the file:)\n{extracted}")
    elif not caption:
        parts = [message.preview or f"[{message.type}]"]
    return "\n".join(parts)


def extracted_text(message_id: str) -> str | None:
    """The OCR text of a received file (webapp.ocr stores it on the message as `text_extract`)."""
    found = Message._get_collection().find_one({"_id": message_id}, {"text_extract": 1}) or {}
    record = found.get("text_extract") or {}
    text = record.get("text") if record.get("status") == "done" else None
    return text if isinstance(text, str) and text.strip() else None


def history(conversation_id: str, window: int) -> list[dict[str, str]]:
    messages, _ = Message.page(conversation_id, limit=window)
    turns = []
    for message in messages:
        text = message_text(message).strip()
        if text:
            turns.append({"role": "user" if message.direction == "inbound" else "assistant", "content": text})
    return turns


def answer(conversation_id: str, message_id: str) -> None:
    """Ask the model about the conversation and act on its answer (reply, or hand over). The caller holds
    the conversation's reply slot."""
    values = settings.current()
    conversation = Conversation.objects(pk=conversation_id).first()
    if conversation is None or conversation.status != PENDING:
        return
    record = AiConversation.find(conversation_id)
    budget, cap, max_turns = (values["ai.daily_token_budget"], values["ai.conversation_token_cap"],
                              values["ai.max_turns"])
    if (budget and AiUsage.used_today() >= budget) or (cap and int(record.get("tokens") or 0) >= cap):
        handoff(conversation_id, "budget")
        return
    if max_turns and int(record.get("turns") or 0) >= max_turns:
        handoff(conversation_id, "turns")
        return
    prompt = provider.system_prompt(values["ai.persona"], values["ai.instructions"],
                                    business=current_app.config.get("BUSINESS_NAME", ""),
                                    max_tokens=values["ai.max_reply_tokens"])
    messages = [{"role": "system", "content": prompt}, *history(conversation_id, values["ai.history_messages"])]
    model = provider.model_name(values["ai.model"])
    reply_id = f"{message_id}:{utcnow().timestamp():.6f}"
    try:
        completion = provider.complete(messages, model=model, temperature=values["ai.temperature"],
                                       max_tokens=values["ai.max_reply_tokens"], timeout=values["ai.timeout_seconds"])
    except provider.AIUnavailable as exc:
        log.warning("AI call failed: %s", exc)
        AiReply(id=reply_id, conversation_id=conversation_id, answered=message_id, model=model, action="error",
                error=str(exc)).save(force_insert=True)
        handoff(conversation_id, "error")
        return
    AiUsage.add(completion.tokens)
    AiConversation.update(conversation_id, {}, {"tokens": completion.tokens, "tokens_total": completion.tokens})
    parsed = provider.parse_answer(completion.content)
    record_reply = AiReply(id=reply_id, conversation_id=conversation_id, answered=message_id, model=completion.model,
                           prompt_tokens=completion.prompt_tokens, completion_tokens=completion.completion_tokens,
                           tokens=completion.tokens, action=parsed.action if parsed else "unreadable",
                           lead_fields=parsed.lead_fields if parsed else {})
    if parsed is not None and parsed.lead_fields:
        merged = {**(record.get("lead_fields") or {}), **parsed.lead_fields}
        AiConversation.update(conversation_id, {"lead_fields": merged})
        bus.publish(LeadFieldsNoticed(conversation_id, parsed.lead_fields, message_id))
    if parsed is None:
        record_reply.save(force_insert=True)
        handoff(conversation_id, "unreadable")
        return
    if parsed.action == "handoff":
        record_reply.save(force_insert=True)
        handoff(conversation_id, "model", notice=parsed.reply or None)
        return
    if Conversation.objects(pk=conversation_id).scalar("status").first() != PENDING:
        record_reply.save(force_insert=True)  # an agent took over while the model was thinking: say nothing
        return
    sent = send_automatic(conversation.wa_id, parsed.reply, AI)
    record_reply.sent_message_id = sent.id if sent else None
    record_reply.save(force_insert=True)
    AiConversation.update(conversation_id, {}, {"turns": 1})


def reset(conversation_id: str, *, with_people: bool) -> None:
    """A new start: the AI handed back (with_people False) or the conversation resolved."""
    AiConversation.update(conversation_id, {"with_people": with_people, "turns": 0, "tokens": 0,
                                            "handoff_reason": None, "waiting_for": None})


def away_if_closed(conversation: Conversation, record: dict[str, Any], values: dict[str, Any]) -> None:
    """People handle it and the business is closed: the away message, once per conversation per closed period."""
    period = closed_period(values)
    if period is None or record.get("away_sent_for") == period or not values["hours.away_message"].strip():
        return
    AiConversation.update(conversation.id, {"away_sent_for": period})
    send_automatic(conversation.wa_id, values["hours.away_message"], AUTO)


def greet_if_new(conversation: Conversation, created: bool, values: dict[str, Any]) -> None:
    """The greeting for a contact's first conversation (sent once)."""
    greeting = values["ai.greeting"].strip()
    if not greeting or not created:
        return
    made = as_utc(conversation.created_at)
    if made is not None and (utcnow() - made).total_seconds() > 300:
        return  # a conversation older than the AI's record: not a new contact
    AiConversation.update(conversation.id, {"greeted": True})
    send_automatic(conversation.wa_id, greeting, AUTO)


class AIOff(AppError):
    """Handing back to an AI that does not answer now."""

    status = 409


def take_over(conversation_id: str, *, by: str, assignee: str | None) -> None:
    """An agent takes the conversation from the AI ("Take over"): people handle it from now on."""
    current = Conversation.objects(pk=conversation_id).only("assignee").first()
    if current is None:
        raise KeyError(conversation_id)
    AiConversation.update(conversation_id, {"with_people": True, "handoff_reason": "agent", "waiting_for": None})
    writes.set_state(conversation_id, by=by, status=OPEN, assignee=current.assignee or assignee)


def hand_back(conversation_id: str, *, by: str) -> None:
    """An agent gives the conversation back to the AI ("Hand back to AI")."""
    problem = unavailable()
    if problem:
        raise AIOff(f"The AI cannot take the conversation: {problem}", {"ai": "off"})
    if Conversation.objects(pk=conversation_id).only("id").first() is None:
        raise KeyError(conversation_id)
    reset(conversation_id, with_people=False)
    writes.set_state(conversation_id, by=by, status=PENDING, assignee=None)


def handled_by(conversation: Conversation) -> str:
    """"ai" while the AI handles the conversation, else "people"."""
    return "ai" if conversation.status == PENDING else "people"
