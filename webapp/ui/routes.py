"""Pages and HTMX partials. Reads go through webapp.inbox.queries, sending through webapp.inbox.sending, and
every bubble, tick and row is rendered by the partials in templates/partials/."""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import Blueprint, current_app, g, redirect, render_template, url_for
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from htmx_flask import Htmx, request

from .. import team, templates_catalog
from ..auth import guard, sent_by
from ..auth.documents import Agent
from ..core.errors import APIError, AppError, Invalid, NotFound
from ..core.validation import parse
from ..inbox import queries, sending, writes
from ..inbox.documents import CONVERSATION_STATUSES, LIST_FILTERS, Message
from ..inbox.schemas import ContactPath
from ..media import sending as media_sending
from ..ocr import queries as ocr
from ..ocr.schemas import as_date, as_flag
from . import formatting, push, views
from .schemas import (
    AttachmentForm,
    CannedForm,
    ComposerForm,
    DocumentsPageQuery,
    DraftForm,
    MessagePageQuery,
    NoteForm,
    PageQuery,
    ReactionForm,
    SearchQuery,
    StateForm,
    TemplateChoice,
    TemplateParameter,
)

bp = Blueprint("ui", __name__)

LIST_PAGE = 50


@bp.record_once
def _enable_htmx(state: BlueprintSetupState) -> None:
    Htmx(state.app)  # request.htmx: which requests want a partial


@bp.app_template_filter("rich")
def _rich(text: str | None) -> Any:
    """A message's text with WhatsApp's formatting and clickable links (webapp.ui.formatting)."""
    return formatting.rich_text(text)


@bp.app_template_test("long_text")
def _long_text(text: str | None) -> bool:
    return formatting.is_long(text)


def _partial() -> bool:
    """An HTMX swap wants the fragment; a page load or a history restore wants the whole page."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def _wa_id() -> str:
    return parse(ContactPath, request.view_args or {}).wa_id


def _search_text() -> str:
    """The search box's text: `q` when it is valid, else nothing (an error page shows no results)."""
    try:
        return parse(PageQuery, request.args).q or ""
    except AppError:
        return ""


def _filter_name(raw: str | None = None) -> str:
    """The list filter asked for (`?filter=`); anything unknown shows all."""
    if raw is None:
        try:
            raw = parse(PageQuery, request.args).filter
        except AppError:
            raw = None
    return raw if raw in LIST_FILTERS else "all"


def _agent_email() -> str | None:
    who = g.get("principal")
    return who.email if who is not None else None


def _list(query: str = "", before: str | None = None, list_filter: str = "all") -> dict[str, Any]:
    rows, has_more = queries.conversations(limit=LIST_PAGE, query=query, before_wa_id=before,
                                           list_filter=list_filter, agent_email=_agent_email())
    return {
        "rows": [views.row(c) for c in rows] + _text_matches(query, before, {c.id for c in rows}),
        "more_before": rows[-1].wa_id if has_more and rows else None,
        "more_of": before,
        "query": query,
        "list_filter": list_filter,
    }


def _text_matches(query: str, before: str | None, listed: set[str]) -> list[views.Row]:
    """The search's second half (first page only): chats whose received files' text mentions the query, each
    with the words around it (webapp.ocr)."""
    if not query or before:
        return []
    return [dataclasses.replace(views.row(conversation), preview="📄 " + ocr.snippet(received.text, query))
            for conversation, received in ocr.conversations_mentioning(query) if conversation.id not in listed]


def _page(chat: views.Chat | None, **context: Any) -> str:
    query = _search_text()
    return render_template(
        "inbox.html", chat=chat, changes=g.get("change_marker"),
        business_initials=views.initials(current_app.config["BUSINESS_NAME"]),
        whatsapp=views.whatsapp_status(), unread_counts=queries.unread_counts(),
        counts=views.counts_view(_agent_email()), filter_labels=views.FILTER_LABELS,
        **_list(query, list_filter=_filter_name()), **context,
    )


@bp.errorhandler(AppError)
def not_found_or_invalid(exc: AppError) -> ResponseReturnValue:
    if request.method == "POST":
        if not request.htmx:
            return render_template("partials/_composer_error.html", text=exc.message), exc.status
        return _composer_error(exc)
    if _partial():
        return render_template("partials/_empty_chat.html", notice=exc.message, partial=True), exc.status
    return _page(None, notice=exc.message), exc.status


@bp.before_request
def _remember_the_change_marker() -> None:
    """Before a page reads what it shows: its script compares this with the marker when its socket
    first connects, and fetches its list and chat again when something changed in between."""
    if request.endpoint in ("ui.index", "ui.chat") and not request.htmx:  # the pages made with inbox.html
        g.change_marker = push.change_marker()


@bp.get("/ui/changes")
def changes() -> ResponseReturnValue:
    """The change marker now (see _remember_the_change_marker)."""
    return {"changes": push.change_marker()}


@bp.get("/")
def index() -> ResponseReturnValue:
    if _partial():
        return render_template("partials/_empty_chat.html", partial=True)
    return _page(None)


@bp.get("/c/<wa_id>")
def chat(wa_id: str) -> ResponseReturnValue:
    """Open a conversation (a GET changes nothing: the page's script marks it read with a POST)."""
    try:
        number = _wa_id()
    except AppError:
        raise NotFound(f"There is no chat at this address: “{wa_id[:40]}” is not a WhatsApp number. "
                       "Pick a chat on the left.") from None
    conversation = queries.get_conversation(number)
    view = views.chat(conversation, queries.message_page(conversation))
    if _partial():
        return render_template("partials/_chat.html", chat=view, partial=True)
    return _page(view)


@bp.get("/ui/unread")
def unread_counts() -> ResponseReturnValue:
    """Unread messages per contact, for the tab's title after a reconnect (pushed rows keep it current)."""
    return {"unread": queries.unread_counts()}


@bp.get("/ui/conversations")
def conversation_rows() -> ResponseReturnValue:
    """List rows: search results as the agent types, the next page, or the whole list after a reconnect."""
    args = parse(SearchQuery, request.args)
    return render_template("partials/_conversation_list.html",
                           **_list(args.q or "", args.before, _filter_name(args.filter or "all")))


@bp.get("/c/<wa_id>/messages")
def messages(wa_id: str) -> ResponseReturnValue:
    """The latest page of bubbles (a catch-up after a reconnect), or the page before `before`."""
    args = parse(MessagePageQuery, request.args)
    conversation = queries.get_conversation(_wa_id())
    page = queries.message_page(conversation, before_id=args.before)
    until = Message.objects(pk=args.before).scalar("timestamp").first() if args.before else None
    return render_template("partials/_message_page.html", chat=views.chat(conversation, page, until=until))


@bp.get("/c/<wa_id>/search")
def chat_search(wa_id: str) -> ResponseReturnValue:
    """The chat's own search box: its messages whose text contains `q` (accents and case aside), newest first."""
    query = parse(PageQuery, request.args).q or ""
    conversation = queries.get_conversation(_wa_id())
    found = queries.search_messages(conversation, query) if query.strip() else []
    return render_template("partials/_chat_search.html", query=query.strip(), name=views.row(conversation).name,
                           results=views.bubbles(found, conversation.contact_name))


def _composer_error(exc: AppError) -> ResponseReturnValue:
    fields = exc.errors or {}
    text = " ".join(f"The message {p}." for p in fields.values()) if set(fields) == {"body"} else exc.message
    response = current_app.make_response((render_template("partials/_composer_error.html", text=text), 422))
    # htmx-flask's reswap check is broken for some values; innerHTML passes, but set plain headers anyway.
    response.headers["HX-Retarget"] = "#composer-error"
    response.headers["HX-Reswap"] = "innerHTML"
    return response


@bp.post("/c/<wa_id>/messages")
def send(wa_id: str) -> ResponseReturnValue:
    """Send a text from the composer; answers with its bubble (first tick: sent).

    Only from the page's script: another site can post a form here, but not with the HX-Request
    header (that would need a CORS preflight), so a cross-site request cannot send as the business."""
    if not request.htmx:
        raise APIError(400, "Send messages from the inbox page.")
    conversation = queries.get_conversation(_wa_id())
    form = parse(ComposerForm, request.form)
    team.drafts.clear(sent_by(), conversation.id)  # being sent (if it is refused, the page puts the text back)
    message = sending.send_text(conversation.wa_id, form.body, sent_by=sent_by(), reply_to=form.reply_to or None)
    return render_template("partials/_message.html", b=views.bubble(message, contact_name=conversation.contact_name))


@bp.post("/c/<wa_id>/typing")
def typing(wa_id: str) -> ResponseReturnValue:
    """The page's script says the agent is typing (it asks at most every 20 s): 204."""
    sending.typing(queries.get_conversation(_wa_id()))
    return "", 204


@bp.post("/c/<wa_id>/media")
def send_media(wa_id: str) -> ResponseReturnValue:
    """Send the file chosen with the composer's attach button, its text as the caption; answers with its bubble."""
    if not request.htmx:
        raise APIError(400, "Send files from the inbox page.")
    conversation = queries.get_conversation(_wa_id())
    form = parse(AttachmentForm, request.form)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise APIError(400, "Choose a file to send.", {"file": "is required"})
    message = media_sending.send_media(conversation.wa_id, upload.read(), mime_type=upload.mimetype,
                                       filename=upload.filename, caption=form.body, sent_by=sent_by(),
                                       reply_to=form.reply_to or None)
    return render_template("partials/_message.html", b=views.bubble(message, contact_name=conversation.contact_name))


@bp.post("/c/<wa_id>/messages/<message_id>/reaction")
def react(wa_id: str, message_id: str) -> ResponseReturnValue:
    """A bubble's reaction picker: the business reacts (an empty emoji takes it back); answers with the
    bubble's reactions (every other open page gets them pushed)."""
    if not request.htmx:
        raise APIError(400, "React to messages from the inbox page.")
    conversation = queries.get_conversation(_wa_id())
    if Message.objects(pk=message_id).scalar("conversation_id").first() != conversation.id:
        raise NotFound(f"No message {message_id} in this chat.")
    message = sending.send_reaction(message_id, parse(ReactionForm, request.form).emoji or "", sent_by=sent_by())
    return views.render_reactions(message)


@bp.post("/c/<wa_id>/messages/<message_id>/retry")
def retry(wa_id: str, message_id: str) -> ResponseReturnValue:
    """The "Retry" button of a failed message: answers with its tick (the clock again)."""
    if not request.htmx:
        raise APIError(400, "Retry messages from the inbox page.")
    message = sending.retry(message_id)
    return render_template("partials/_tick.html", tick=views.message_tick(message))


# --- the template picker: the only messages allowed outside the 24-hour window ---------------------------------


@bp.get("/c/<wa_id>/templates")
def template_picker(wa_id: str) -> ResponseReturnValue:
    """The picker (the stored templates; with `?template=name:language`, its parameters and preview)."""
    choice = parse(TemplateChoice, request.args)
    return views.render_template_picker(views.template_picker(_wa_id(), choice.template))


@bp.post("/c/<wa_id>/templates/sync")
def sync_templates(wa_id: str) -> ResponseReturnValue:
    """The picker's "Sync templates": the same as `flask templates sync`, then the picker again."""
    if not request.htmx:
        raise APIError(400, "Sync templates from the inbox page.")
    if not guard.principal().is_admin:
        return views.render_template_picker(views.template_picker(_wa_id(), notice=guard.ADMINS_ONLY)), 403
    try:
        notice = templates_catalog.sync().summary() + "."
    except AppError as exc:
        notice = exc.message
    return views.render_template_picker(views.template_picker(_wa_id(), notice=notice))


@bp.post("/c/<wa_id>/templates/send")
def send_template(wa_id: str) -> ResponseReturnValue:
    """Send the chosen template with the parameters typed in; answers with its bubble."""
    if not request.htmx:
        raise APIError(400, "Send templates from the inbox page.")
    conversation_wa_id = _wa_id()
    try:
        template = templates_catalog.find_by_key(request.form.get("template", ""))
        if template is None:
            raise NotFound("That template is not stored any more: sync the templates and choose again.")
        parameters = []
        for number in range(1, template.parameter_count + 1):
            try:
                parameters.append(parse(TemplateParameter, {"value": request.form.get(f"p{number}")}).value)
            except AppError:
                raise Invalid(f"Fill in {{{{{number}}}}} (at most 1024 characters, no control characters).") from None
        message = sending.send_template(conversation_wa_id, template.name, template.language, parameters,
                                        sent_by=sent_by())
    except AppError as exc:
        response = current_app.make_response((render_template("partials/_composer_error.html", text=exc.message),
                                               422))
        response.headers["HX-Retarget"] = "#template-error"
        response.headers["HX-Reswap"] = "innerHTML"
        return response
    contact_name = queries.get_conversation(conversation_wa_id, message.phone_number_id).contact_name
    return render_template("partials/_message.html", b=views.bubble(message, contact_name=contact_name))


# --- working together: status and assignee, notes, drafts, the contact panel, canned replies -------------------


@bp.post("/c/<wa_id>/state")
def change_state(wa_id: str) -> ResponseReturnValue:
    """The header's Resolve/Reopen button and assignee menu; answers with the header's state again."""
    if not request.htmx:
        raise APIError(400, "Change conversations from the inbox page.")
    conversation = queries.get_conversation(_wa_id())
    form = parse(StateForm, request.form)
    changes: dict[str, Any] = {}
    if "status" in request.form:
        if form.status not in CONVERSATION_STATUSES:
            raise Invalid("Invalid change: check status.", {"status": "must be open, pending or resolved"})
        changes["status"] = form.status
    if "assignee" in request.form:
        assignee = (form.assignee or "").strip().lower() or None
        if assignee is not None:
            agent = Agent.by_email(assignee)
            if agent is None or not agent.active:
                raise Invalid("Invalid change: check assignee.", {"assignee": "must be an active agent's email"})
        changes["assignee"] = assignee
    if changes:
        writes.set_state(conversation.id, by=sent_by(), **changes)
    conversation = queries.get_conversation(conversation.wa_id, conversation.phone_number_id)
    return views.render_chat_state(conversation)


@bp.post("/c/<wa_id>/notes")
def add_note(wa_id: str) -> ResponseReturnValue:
    """An internal note from the note form; answers with its bubble (every open page gets it pushed too).
    Only stored: a note never goes through the send path."""
    if not request.htmx:
        raise APIError(400, "Write notes from the inbox page.")
    conversation = queries.get_conversation(_wa_id())
    try:
        text = parse(NoteForm, request.form).text
    except AppError as exc:
        response = current_app.make_response((render_template(
            "partials/_composer_error.html", text=" ".join(f"The note {p}." for p in (exc.errors or {}).values())
            or exc.message), 422))
        response.headers["HX-Retarget"] = "#note-error"
        response.headers["HX-Reswap"] = "innerHTML"
        return response
    who = guard.principal()
    note = team.notes.add(conversation, text, author=who.sent_by, author_name=who.name)
    return views.render_note(note)


@bp.put("/c/<wa_id>/draft")
def save_draft(wa_id: str) -> ResponseReturnValue:
    """Keep what the agent typed in this chat's composer (the page saves it as the agent types): 204."""
    conversation = queries.get_conversation(_wa_id())
    team.drafts.save(sent_by(), conversation.id, parse(DraftForm, request.form).text or "")
    return "", 204


@bp.get("/c/<wa_id>/contact")
def contact_panel(wa_id: str) -> ResponseReturnValue:
    """The contact panel: name, number, status, assignee, labels, the media shared in the chat."""
    conversation = queries.get_conversation(_wa_id())
    return render_template("partials/_contact_panel.html", panel=views.contact_panel(conversation))


@bp.get("/settings/canned")
@guard.admin_required
def canned_replies() -> ResponseReturnValue:
    """Canned replies (admins): the list, a form to add one, a Delete button each."""
    return render_template("canned.html", page_title="Canned replies", replies=team.canned.all_replies(),
                           notice=request.args.get("saved", ""))


@bp.post("/settings/canned")
@guard.admin_required
def add_canned_reply() -> ResponseReturnValue:
    form = CannedForm.model_construct(shortcut=request.form.get("shortcut", ""), text=request.form.get("text", ""))
    try:
        form = parse(CannedForm, request.form)
        reply = team.canned.save(form.shortcut or "", form.text or "", by=sent_by())
    except AppError as exc:
        problem = " ".join(f"The {k} {v}." for k, v in (exc.errors or {}).items()) or exc.message
        return render_template("canned.html", page_title="Canned replies", replies=team.canned.all_replies(),
                               error=problem,
                               shortcut=form.shortcut or "", text=form.text or ""), exc.status
    return redirect(url_for("ui.canned_replies", saved=reply.id))


@bp.post("/settings/canned/<shortcut>/delete")
@guard.admin_required
def delete_canned_reply(shortcut: str) -> ResponseReturnValue:
    team.canned.delete(shortcut)
    return redirect(url_for("ui.canned_replies"))


# --- the Documents page: what customers sent, with the text read from it (webapp.ocr) -------------------------

DOCUMENTS_PAGE = 30


@bp.get("/documents")
def documents() -> ResponseReturnValue:
    """The images and PDFs customers sent, newest first, filtered, each with its text."""
    try:
        args = parse(DocumentsPageQuery, request.args)
    except AppError as exc:
        given = {name: value for name, value in request.args.items() if name in DocumentsPageQuery.model_fields}
        page = views.documents_page([], {}, given, None)
        return render_template("documents.html", listing=page, notice=exc.message, page_title="Documents"), exc.status
    filters = ocr.Filters(kind=args.type, contact=args.contact, has_text=as_flag(args.text),
                          since=as_date(args.since), until=as_date(args.until), q=args.q)
    files, has_more = ocr.received_files(filters, limit=DOCUMENTS_PAGE, before=args.before)
    given = {name: value for name, value in args.model_dump(exclude={"before"}).items() if value}
    page = views.documents_page(files, ocr.contact_names(files), given,
                                files[-1].id if has_more and files else None)
    return render_template("documents.html", listing=page, notice=None, page_title="Documents")
