"""The business number this app answers as (PHONE_NUMBER_ID and BUSINESS_DISPLAY_NUMBER)."""

from __future__ import annotations

from flask import current_app

from ..whatsapp.events import Business


def default_business() -> Business:
    return Business(
        phone_number_id=current_app.config["PHONE_NUMBER_ID"],
        display_number=current_app.config["BUSINESS_DISPLAY_NUMBER"],
    )
