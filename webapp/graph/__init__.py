"""Meta's Graph API (the WhatsApp Cloud API): the client, and whether this app uses it at all.

With WHATSAPP_ACCESS_TOKEN set the app sends through Meta; without it the app is in demo mode:
messages are stored and their ticks simulated, and nothing reaches WhatsApp."""

from __future__ import annotations

from flask import current_app

from .client import GraphClient, GraphSettings, MediaInfo
from .errors import GraphError
from .health import DOCUMENTS, token_problem


def is_live() -> bool:
    """Whether messages go to WhatsApp (an access token is configured) or the app is in demo mode."""
    return bool(current_app.config.get("WHATSAPP_ACCESS_TOKEN"))


def readiness() -> str:
    """For /readyz: "demo mode", "ok", or "access token refused"."""
    if not is_live():
        return "demo mode"
    return "access token refused" if token_problem() else "ok"


def client() -> GraphClient:
    config = current_app.config
    client = current_app.extensions.get("graph.client")
    if client is None:
        client = GraphClient(GraphSettings(
            base_url=config["WHATSAPP_API_BASE_URL"], version=config["WHATSAPP_API_VERSION"],
            access_token=config["WHATSAPP_ACCESS_TOKEN"], phone_number_id=config["PHONE_NUMBER_ID"],
            business_account_id=config["WHATSAPP_BUSINESS_ACCOUNT_ID"]))
        current_app.extensions["graph.client"] = client
    return client


__all__ = ["DOCUMENTS", "GraphClient", "GraphError", "GraphSettings", "MediaInfo", "client", "is_live", "readiness"]
