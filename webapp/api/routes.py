"""The JSON API. Each route declares its models in its signature and its answers in `operation`
(webapp/core/openapi.py): that is what is validated, what is answered and what /openapi.json says."""

from __future__ import annotations

from flask import Blueprint, request

from .. import analytics, team, templates_catalog
from ..analytics.schemas import Analytics, AnalyticsQuery
from ..auth import guard, sent_by
from ..auth.documents import Agent
from ..core.clock import iso
from ..core.envelope import PageMeta
from ..core.errors import APIError, Invalid
from ..core.openapi import answers, operation
from ..core.validation import parse, values
from ..inbox import queries as inbox
from ..inbox import sending, writes
from ..inbox.schemas import ContactPath, Conversation, Message, MessagePath
from ..media import sending as media_sending
from ..ocr import queries as ocr
from ..ocr.schemas import ReceivedDocument, as_date, as_flag
from .models import (
    AnalyticsFigures,
    CannedReplyList,
    CannedReplySaved,
    CannedReplyShape,
    ChangeConversation,
    ConversationChanged,
    ConversationPage,
    ConversationRead,
    ConversationsQuery,
    CountsAnswer,
    DocumentPage,
    DocumentsQuery,
    FilterCounts,
    MessagePage,
    MessageSent,
    MessagesQuery,
    NoQuery,
    SaveCannedReply,
    SendMedia,
    SendMessage,
    SendReaction,
    SendTemplate,
    ShortcutPath,
    TemplateInfo,
    TemplateList,
)

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.get("/conversations")
@operation("listConversations", tag="conversations", resp=answers(
    HTTP_200=(ConversationPage, "A page of conversations."), HTTP_400=None, HTTP_401=None, HTTP_429=None,
    HTTP_503=None))
def list_conversations(query: ConversationsQuery) -> ConversationPage:
    """Conversations, most recent first"""
    rows, has_more = inbox.conversations(limit=query.limit, query=query.q or "", before_wa_id=query.before,
                                         list_filter=query.filter, agent_email=guard.principal().email)
    meta = PageMeta(has_more=has_more, before=rows[-1].wa_id if has_more and rows else None, count=len(rows))
    return ConversationPage(message=f"{len(rows)} conversation(s)", data=[Conversation.of(c) for c in rows],
                            meta=meta)


@bp.get("/messages/<wa_id>")
@operation("listMessages", tag="messages", resp=answers(
    HTTP_200=(MessagePage, "A page of messages."), HTTP_400=None, HTTP_401=None, HTTP_404=None, HTTP_429=None,
    HTTP_503=None))
def list_messages(path: ContactPath, query: MessagesQuery) -> MessagePage:
    """A conversation's messages, oldest to newest

    The latest page; `?before=` with the page's `meta.before` gives the page before it."""
    conversation = inbox.get_conversation(path.wa_id, query.phone_number_id)
    page = inbox.stored_message_page(conversation, limit=query.limit, before_id=query.before)
    data = [Message.of(m, conversation.contact_name) for m in page.messages]
    return MessagePage(message=f"{len(data)} message(s)", data=data, meta=PageMeta.model_validate(page.meta))


WINDOW_CLOSED = ("The 24-hour customer-service window is closed (sending to WhatsApp): only a template can be "
                 "sent. Nothing was sent.")
UNAVAILABLE = ("The database is unavailable, or WhatsApp refused the access token (nothing can be sent until an "
               "admin sets a new one). Nothing was sent.")


@bp.post("/messages")
@operation("sendMessage", tag="messages", resp=answers(
    HTTP_201=(MessageSent, "The message, as stored: its `id` stays the same from now on."), HTTP_400=None,
    HTTP_401=None, HTTP_403=None, HTTP_413=None, HTTP_415=None, HTTP_422=WINDOW_CLOSED, HTTP_429=None,
    HTTP_503=UNAVAILABLE))
def create_message(query: NoQuery, json: SendMessage) -> tuple[MessageSent, int]:
    """Send a text message

    Stored at once. Sending to WhatsApp (WHATSAPP_ACCESS_TOKEN set), its status is `pending` until WhatsApp
    accepts it (`sent`), then status webhooks move it (`delivered`, `read`, or `failed` with the reason); free-form
    text only within 24 hours of the contact's last message. In demo mode it is stored `sent`, and with
    SIMULATE_DELIVERY on, `delivered` and `read` follow. `replyTo` quotes a message of the conversation."""
    message = sending.send_text(json.wa_id, json.message_body, sender=json.sender, sent_by=sent_by(),
                                reply_to=json.reply_to)
    conversation = inbox.get_conversation(json.wa_id, message.phone_number_id)
    return MessageSent(message="Message sent", data=Message.of(message, conversation.contact_name)), 201


@bp.post("/messages/media")
@operation("sendMedia", tag="messages", resp=answers(
    HTTP_201=(MessageSent, "The message, as stored, its file served at `media.url` at once."), HTTP_400=None,
    HTTP_401=None, HTTP_403=None,
    HTTP_413="The file is larger than WhatsApp takes for its kind (or the request than 101 MB). Nothing was sent.",
    HTTP_415="Not multipart/form-data, or a type WhatsApp does not take for this kind. Nothing was sent.",
    HTTP_422=WINDOW_CLOSED, HTTP_429=None, HTTP_503=UNAVAILABLE), form=SendMedia, checked_by_route=True)
def send_media() -> tuple[MessageSent, int]:
    """Send a file: an image, a video, an audio or a document

    Checked against WhatsApp's limits before anything is stored, then stored and sent like a text (`pending`
    until WhatsApp accepts it; demo mode: `sent`): the send job uploads the file to WhatsApp and sends it by
    its media id."""
    # Checked here, not by spectree: its refusal would quote the form, file included, which is not JSON.
    parse(NoQuery, request.args)
    if request.mimetype != "multipart/form-data":
        raise APIError(415, "Send the file as multipart/form-data (fields: waId, file, kind, caption, replyTo).")
    form = parse(SendMedia, {**values(request.form), **request.files})
    upload = form.file
    message = media_sending.send_media(form.wa_id, upload.read(), mime_type=upload.mimetype,
                                       filename=upload.filename or "", caption=form.caption, kind=form.kind,
                                       sent_by=sent_by(), reply_to=form.reply_to)
    conversation = inbox.get_conversation(form.wa_id, message.phone_number_id)
    return MessageSent(message="File sent", data=Message.of(message, conversation.contact_name)), 201


@bp.post("/messages/<message_id>/reaction")
@operation("reactToMessage", tag="messages", resp=answers(
    HTTP_200=(MessageSent, "The message reacted to, with its reactions."), HTTP_400=None, HTTP_401=None,
    HTTP_403=None, HTTP_404="There is no such message.", HTTP_415=None, HTTP_422=WINDOW_CLOSED, HTTP_429=None,
    HTTP_503=UNAVAILABLE))
def react(path: MessagePath, query: NoQuery, json: SendReaction) -> MessageSent:
    """React to a message

    The business's reaction (one per message: a new one replaces it); an empty `emoji` removes it."""
    message = sending.send_reaction(path.message_id, json.emoji or "", sent_by=sent_by())
    conversation = inbox.get_conversation(message.wa_id, message.phone_number_id)
    return MessageSent(message="Reaction sent", data=Message.of(message, conversation.contact_name))


@bp.post("/messages/<message_id>/retry")
@operation("retryMessage", tag="messages", resp=answers(
    HTTP_200=(MessageSent, "The message, `pending` again."), HTTP_400="The message is not a failed one this app "
    "sent, or the app is in demo mode.", HTTP_401=None, HTTP_403=None, HTTP_404="There is no such message.",
    HTTP_422=WINDOW_CLOSED, HTTP_429=None, HTTP_503=UNAVAILABLE))
def retry_message(path: MessagePath, query: NoQuery) -> MessageSent:
    """Send a failed message again"""
    message = sending.retry(path.message_id)
    conversation = inbox.get_conversation(message.wa_id, message.phone_number_id)
    return MessageSent(message="Sending again", data=Message.of(message, conversation.contact_name))


@bp.post("/conversations/<wa_id>/read")
@operation("markConversationRead", tag="conversations", resp=answers(
    HTTP_200=(ConversationRead, "The conversation, its unread count now 0."), HTTP_400=None, HTTP_401=None,
    HTTP_403=None, HTTP_404=None, HTTP_429=None, HTTP_503=None))
def mark_read(path: ContactPath, query: NoQuery) -> ConversationRead:
    """Mark a conversation read"""
    conversation = inbox.get_conversation(path.wa_id)
    inbox.mark_read(conversation)
    return ConversationRead(message="Conversation marked read", data=Conversation.of(conversation))


@bp.get("/templates")
@operation("listTemplates", tag="templates", resp=answers(
    HTTP_200=(TemplateList, "The stored approved templates, by name."), HTTP_400=None, HTTP_401=None, HTTP_429=None,
    HTTP_503=None))
def list_templates(query: NoQuery) -> TemplateList:
    """The message templates this app can send

    The approved templates as `flask templates sync` (or the page's "Sync templates") last stored them: the only
    messages WhatsApp allows outside the 24-hour customer-service window."""
    found = templates_catalog.stored()
    data = [TemplateInfo(name=t.name, language=t.language, body=t.body, parameter_count=t.parameter_count,
                         category=t.category or "", status=t.status or "", synced_at=iso(t.synced_at))
            for t in found]
    return TemplateList(message=f"{len(data)} template(s)", data=data)


@bp.post("/messages/template")
@operation("sendTemplate", tag="messages", resp=answers(
    HTTP_201=(MessageSent, "The message, as stored (type `template`, its text with the parameters filled in)."),
    HTTP_400="Bad input, or the number of parameters is not the template's. Nothing was sent.", HTTP_401=None,
    HTTP_403=None, HTTP_404="There is no such approved template (in that language). Nothing was sent.",
    HTTP_413=None, HTTP_415=None, HTTP_429=None, HTTP_503=UNAVAILABLE))
def create_template_message(query: NoQuery, json: SendTemplate) -> tuple[MessageSent, int]:
    """Send a template message

    An approved template with its body parameters: allowed at any time, also outside the 24-hour
    customer-service window. Stored and sent like a text (`pending`, then `sent`, … in live mode)."""
    message = sending.send_template(json.wa_id, json.name, json.language, json.parameters, sent_by=sent_by())
    conversation = inbox.get_conversation(json.wa_id, message.phone_number_id)
    return MessageSent(message="Template sent", data=Message.of(message, conversation.contact_name)), 201


# --- working together: status and assignee, the list's counts, canned replies ---------------------------------


@bp.patch("/conversations/<wa_id>")
@operation("changeConversation", tag="conversations", resp=answers(
    HTTP_200=(ConversationChanged, "The conversation with its new `conversationStatus` and `assignee`."),
    HTTP_400="A bad status, an assignee who is not an active agent, or nothing to change.", HTTP_401=None,
    HTTP_403=None, HTTP_404=None, HTTP_415=None, HTTP_429=None, HTTP_503=None))
def change_conversation(path: ContactPath, query: NoQuery, json: ChangeConversation) -> ConversationChanged:
    """Resolve, reopen or assign a conversation

    `status` (open, pending, resolved) and/or `assignee` (an active agent's email, or `null` to unassign);
    a field left out stays as it is. Every open page sees the change at once."""
    given = json.model_fields_set
    if not given:
        raise Invalid("Send status and/or assignee.", {"status": "send status and/or assignee"})
    changes: dict = {}
    if "status" in given:
        changes["status"] = json.status
    if "assignee" in given:
        assignee = json.assignee.strip().lower() if json.assignee else None
        if assignee is not None:
            agent = Agent.by_email(assignee)
            if agent is None or not agent.active:
                raise Invalid("Invalid change: check assignee.",
                              {"assignee": "must be an active agent's email, or null"})
        changes["assignee"] = assignee
    conversation = inbox.get_conversation(path.wa_id)
    writes.set_state(conversation.id, by=sent_by(), **changes)
    conversation = inbox.get_conversation(path.wa_id, conversation.phone_number_id)
    return ConversationChanged(message="Conversation changed", data=Conversation.of(conversation))


@bp.get("/conversations/counts")
@operation("countConversations", tag="conversations", resp=answers(
    HTTP_200=(CountsAnswer, "How many conversations each list filter shows."), HTTP_400=None, HTTP_401=None,
    HTTP_429=None, HTTP_503=None))
def count_conversations(query: NoQuery) -> CountsAnswer:
    """Counts of the list filters

    Mine, Unassigned, All, Unread and Resolved, as `?filter=` of GET /api/conversations lists them (kept as
    counters, updated as conversations change)."""
    counts = team.counts.for_agent(guard.principal().email)
    return CountsAnswer(message="Counts", data=FilterCounts(**counts))


def _canned_shape(reply: team.documents.CannedReply) -> CannedReplyShape:
    return CannedReplyShape(shortcut=reply.id, text=reply.text, created_by=reply.created_by,
                            updated_at=iso(reply.updated_at))


@bp.get("/canned-replies")
@operation("listCannedReplies", tag="team", resp=answers(
    HTTP_200=(CannedReplyList, "Every canned reply, by shortcut."), HTTP_400=None, HTTP_401=None, HTTP_429=None,
    HTTP_503=None))
def list_canned_replies(query: NoQuery) -> CannedReplyList:
    """Canned replies

    What agents insert with `/shortcut` in the composer."""
    data = [_canned_shape(r) for r in team.canned.all_replies()]
    return CannedReplyList(message=f"{len(data)} canned reply(ies)", data=data)


@bp.post("/canned-replies")
@guard.admin_required
@operation("saveCannedReply", tag="team", resp=answers(
    HTTP_201=(CannedReplySaved, "The canned reply, stored."), HTTP_400=None, HTTP_401=None,
    HTTP_403="Only admins manage canned replies.", HTTP_409="The shortcut is taken.", HTTP_413=None,
    HTTP_415=None, HTTP_429=None, HTTP_503=None))
def save_canned_reply(query: NoQuery, json: SaveCannedReply) -> tuple[CannedReplySaved, int]:
    """Add a canned reply (admins)"""
    reply = team.canned.save(json.shortcut, json.text, by=sent_by())
    return CannedReplySaved(message="Canned reply saved", data=_canned_shape(reply)), 201


@bp.delete("/canned-replies/<shortcut>")
@guard.admin_required
@operation("deleteCannedReply", tag="team", resp=answers(
    HTTP_200=(CannedReplyList, "The canned replies left."), HTTP_400=None, HTTP_401=None,
    HTTP_403="Only admins manage canned replies.", HTTP_404="There is no such canned reply.", HTTP_429=None,
    HTTP_503=None))
def delete_canned_reply(path: ShortcutPath, query: NoQuery) -> CannedReplyList:
    """Delete a canned reply (admins)"""
    team.canned.delete(path.shortcut)
    data = [_canned_shape(r) for r in team.canned.all_replies()]
    return CannedReplyList(message="Canned reply deleted", data=data)


@bp.get("/documents")
@operation("listDocuments", tag="documents", resp=answers(
    HTTP_200=(DocumentPage, "A page of received files, newest first."), HTTP_400=None, HTTP_401=None, HTTP_429=None,
    HTTP_503=None))
def list_documents(query: DocumentsQuery) -> DocumentPage:
    """The images and PDFs customers sent, with their text

    Each picture or PDF a customer sends is stored, then its text is read (a PDF's text layer, or OCR with
    Tesseract): `textStatus` is `pending` until then. Filters combine; `?before=` with `meta.before` pages on."""
    filters = ocr.Filters(kind=query.type, contact=query.contact, has_text=as_flag(query.has_text),
                          since=as_date(query.since), until=as_date(query.until), q=query.q)
    files, has_more = ocr.received_files(filters, limit=query.limit, before=query.before)
    names = ocr.contact_names(files)
    data = [ReceivedDocument.of(f, names.get(f.conversation_id)) for f in files]
    meta = PageMeta(has_more=has_more, before=files[-1].id if has_more and files else None, count=len(files))
    return DocumentPage(message=f"{len(data)} document(s)", data=data, meta=meta)
@bp.get("/analytics")
@operation("getAnalytics", tag="analytics", resp=answers(
    HTTP_200=(AnalyticsFigures, "The figures for the period (and agent)."), HTTP_400=None, HTTP_401=None,
    HTTP_403="Admins only (an admin's session, or a token made with `flask create-token NAME --role admin`).",
    HTTP_429=None, HTTP_503=None))
def get_analytics(query: AnalyticsQuery) -> AnalyticsFigures:
    """The analytics dashboard's figures

    For a period (`today`, `7d`, `30d`, or `custom` with `from` and `to`; days are UTC) and optionally one agent:
    messages in and out per day, new and resolved conversations, first-response and resolution times (median and
    90th percentile; the AI's first responses counted separately), the AI's share and handoff rate, messages by
    weekday and hour, and a row per agent. Read from rollups kept up to date as messages are written."""
    if not guard.principal().is_admin:
        raise APIError(403, guard.ADMINS_ONLY)
    chosen = analytics.period(query.period, query.start, query.end, query.agent)
    figures = Analytics.of(analytics.figures(chosen))
    return AnalyticsFigures(message=f"Analytics for {chosen.start.isoformat()} to {chosen.end.isoformat()}",
                            data=figures)
