"""POST /webhook (deliveries) and GET /webhook (Meta's subscription handshake)."""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, current_app, request

from ..core.errors import APIError, Invalid, envelope
from ..schemas import WEBHOOK_HANDSHAKE_QUERY
from ..whatsapp.parse import WebhookFormatError
from ..whatsapp.signature import SignatureVerdict, verify
from .receive import receive_webhook

bp = Blueprint("webhook", __name__)


@bp.get("/webhook")
def verify_subscription() -> Response:
    """Meta's handshake: echo hub.challenge when the verify token is ours."""
    token = current_app.config["WHATSAPP_VERIFY_TOKEN"]
    args = WEBHOOK_HANDSHAKE_QUERY.validate(request)
    given = args["hub.verify_token"] or ""
    if (
        token
        and args["hub.mode"] == "subscribe"
        and hmac.compare_digest(given.encode(), token.encode())
        and args["hub.challenge"]
    ):
        return Response(args["hub.challenge"], 200, mimetype="text/plain")
    raise APIError(403, "Verification failed: hub.mode must be subscribe and hub.verify_token must match.")


@bp.post("/webhook")
def receive():
    raw = request.get_data(cache=False)
    verdict = verify(raw, request.headers.get("X-Hub-Signature-256"), current_app.config["WHATSAPP_APP_SECRET"])
    if verdict is SignatureVerdict.MISSING:
        raise APIError(401, "Missing X-Hub-Signature-256 header; nothing was stored.")
    if verdict is SignatureVerdict.INVALID:
        raise APIError(401, "X-Hub-Signature-256 does not match the body; nothing was stored.")
    try:
        receipt = receive_webhook(raw, signature=verdict)
    except WebhookFormatError as exc:
        raise Invalid(exc.message, exc.errors) from None
    data = {"eventId": receipt.event_id, "outcome": receipt.outcome, **receipt.report.as_dict()}
    if receipt.outcome == "failed":
        return envelope(data, "Stored, but processing failed; it will be retried by `flask webhooks replay --failed`.")
    return envelope(data, "Webhook processed")
