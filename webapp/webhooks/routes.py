"""POST /webhook (deliveries) and GET /webhook (Meta's subscription handshake)."""

from __future__ import annotations

import hmac
from datetime import datetime

from flask import Blueprint, Response, current_app, request

from ..core.errors import APIError, Invalid
from ..core.jobs import enqueue
from ..core.openapi import answers, operation
from ..whatsapp.parse import WebhookFormatError
from ..whatsapp.schemas import WebhookBody
from ..whatsapp.signature import SignatureVerdict, verify
from . import backlog
from .receive import receive_webhook
from .schemas import HandshakeQuery, SignatureHeaders, WebhookReceipt, WebhookResult
from .tasks import apply_queued, process_delivery

bp = Blueprint("webhook", __name__)


@bp.get("/webhook")
@operation("verifyWebhook", tag="webhook", public=True, resp=answers(
    HTTP_200=(None, "The challenge, echoed as text/plain."), HTTP_400=None,
    HTTP_403="The mode is not `subscribe`, the token does not match (or none is configured), or there is no "
             "challenge.",
    HTTP_429=None))
def verify_subscription(query: HandshakeQuery) -> Response:
    """Meta's verification handshake

    Answers `hub.challenge` when `hub.mode` is `subscribe` and `hub.verify_token` matches WHATSAPP_VERIFY_TOKEN."""
    token = current_app.config["WHATSAPP_VERIFY_TOKEN"]
    given = query.verify_token or ""
    if (
        token
        and query.mode == "subscribe"
        and hmac.compare_digest(given.encode(), token.encode())
        and query.challenge
    ):
        return Response(query.challenge, 200, mimetype="text/plain")
    raise APIError(403, "Verification failed: hub.mode must be subscribe and hub.verify_token must match.")


@bp.post("/webhook")
@operation("receiveWebhook", tag="webhook", public=True, json=WebhookBody, headers=SignatureHeaders,
           checked_by_route=True, resp=answers(
               HTTP_200=(WebhookReceipt, "Stored; `outcome` says whether processing it worked (`failed`: the "
                                         "events in `failures` will be applied again; the others were), or "
                                         "`queued` (WEBHOOK_APPLY=queued: a worker applies it)."),
               HTTP_400="Not a webhook body we accept: `errors` names the JSON path of each problem. Nothing stored.",
               HTTP_401="WHATSAPP_APP_SECRET is set and X-Hub-Signature-256 is missing or wrong. Nothing stored.",
               HTTP_413=None, HTTP_415="The body is not sent as application/json. Nothing stored.",
               HTTP_429=None, HTTP_503=None))
def receive() -> WebhookReceipt:
    """Receive a WhatsApp webhook delivery

    The body is stored exactly as received, then every entry, change, message and status in it is processed
    (idempotently: a delivery repeated is stored once). 200 only once it is stored. The signature is checked on
    the raw body first, and the body is validated by the parser, which names the JSON path of each problem."""
    if not request.is_json:
        raise APIError(415, "Send the webhook body as JSON with Content-Type: application/json; nothing was stored.")
    raw = request.get_data(cache=False)
    verdict = verify(raw, request.headers.get("X-Hub-Signature-256"), current_app.config["WHATSAPP_APP_SECRET"])
    if verdict is SignatureVerdict.MISSING:
        raise APIError(401, "Missing X-Hub-Signature-256 header; nothing was stored.")
    if verdict is SignatureVerdict.INVALID:
        raise APIError(401, "X-Hub-Signature-256 does not match the body; nothing was stored.")
    queue = _queue_delivery if current_app.config["WEBHOOK_APPLY"] == "queued" else None
    try:
        receipt = receive_webhook(raw, signature=verdict, queue=queue)
    except WebhookFormatError as exc:
        raise Invalid(exc.message, exc.errors) from None
    data = WebhookResult.model_validate({"eventId": receipt.event_id, "outcome": receipt.outcome,
                                         **receipt.report.as_dict()})
    if receipt.outcome == "queued":
        return WebhookReceipt(message="Stored; a worker applies its events", data=data)
    if receipt.outcome == "failed":
        return WebhookReceipt(
            message="Stored; the events in `failures` could not be applied (the others were) and will be applied "
                    "again by the worker's sweep or `flask webhooks replay --failed`.", data=data)
    return WebhookReceipt(message="Webhook processed", data=data)


def _queue_delivery(event_id: str, received_at: datetime) -> None:
    start_drain = backlog.queue(event_id, received_at)
    if start_drain is None:  # no Redis: a job in this process
        enqueue(process_delivery, event_id)
    elif start_drain:
        enqueue(apply_queued)
