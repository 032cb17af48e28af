"""`flask seed-demo` (the demo inbox, and a development agent) and `flask simulate` (customers
writing in to a running inbox over HTTP)."""

from __future__ import annotations

import json
import random
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

import click
from flask import Flask, current_app

from ..auth.accounts import ensure_demo_agent
from ..inbox.documents import Message
from ..inbox.indexes import RecentChunk
from ..inbox.reindex import rebuild
from ..inbox.writes import Report
from ..webhooks.cli import summary
from ..webhooks.receive import receive_webhook
from ..whatsapp.message_types import preview
from ..whatsapp.signature import SignatureVerdict, sign
from .bodies import demo_bodies

# `flask simulate`: customers who write in, with what customers write.
CUSTOMERS = [("919937320320", "Ravi Kumar"), ("929967673820", "Neha Joshi"), ("447700900123", "Sam O'Brien"),
             ("14155550142", "Maria Lopez"), ("5511987650001", "João Silva")]
LINES = ["Hi! Are you open on Sunday?", "Can I change the delivery address for my order?", "Thanks, that was quick 🙏",
         "What's the price of the oak table?", "Is there a discount if I buy two?", "Do you ship to Bangalore?",
         "The courier called, I'll be home after 6.", "Could you send me the invoice again?", "Perfect, see you then!",
         "Is the blue one back in stock?"]


def customer_message(rng: random.Random, display_number: str, phone_number_id: str) -> tuple[str, str, bytes]:
    """(name, preview, Meta-shaped webhook body) of one inbound message: mostly text, some photos and places."""
    wa_id, name = rng.choice(CUSTOMERS)
    message: dict[str, Any] = {"from": wa_id, "id": f"wamid.SIMULATED.{uuid.uuid4().hex}",
                               "timestamp": str(int(time.time()))}
    roll = rng.random()
    if roll < 0.1:
        message |= {"type": "image", "image": {"id": "SIMULATED_MEDIA", "mime_type": "image/jpeg",
                                                 "caption": "Here's a photo of it"}}
    elif roll < 0.15:
        message |= {"type": "location", "location": {"latitude": 19.0596, "longitude": 72.8295, "name": "Home",
                                                       "address": "Bandra West, Mumbai"}}
    else:
        message |= {"type": "text", "text": {"body": rng.choice(LINES)}}
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": display_number, "phone_number_id": phone_number_id},
             "contacts": [{"profile": {"name": name}, "wa_id": wa_id}], "messages": [message]}
    body = {"object": "whatsapp_business_account",
            "entry": [{"id": "SIMULATED_WABA", "changes": [{"field": "messages", "value": value}]}]}
    return name, preview(message["type"], message[message["type"]]), json.dumps(body).encode()


def register(app: Flask) -> None:
    @app.cli.command("seed-demo")
    def seed_demo() -> None:
        """Load the demo inbox into an empty database; in development, also make a demo agent
        (agent@example.com) when nobody can sign in yet, and say how to sign in."""
        if Message.objects.limit(1).first() is not None:
            click.echo("The inbox already has messages; the demo was not loaded.")
            if RecentChunk.newest_chunk() is None:  # written by a version before the hot reads' documents
                conversations, messages = rebuild()
                click.echo(f"Built the inbox's fast reads for {conversations} conversation(s) and "
                           f"{messages} message(s) stored by an earlier version.")
        else:
            total = Report()
            for body in demo_bodies():
                total.add(receive_webhook(body, signature=SignatureVerdict.NOT_CHECKED, source="demo").report)
            click.echo(f"Demo inbox loaded: {summary(total, 0)}")
        sign_in = ensure_demo_agent()
        if sign_in is not None:
            how, created = sign_in
            click.echo(("Made the development agent. " if created else "") + how)

    @app.cli.command("simulate")
    @click.option("--url", default="http://localhost:5000", show_default=True, help="The running inbox to post to.")
    @click.option("--rate", default=0.5, type=click.FloatRange(min=0.01, max=100), show_default=True,
                  help="Messages per second.")
    @click.option("--count", default=20, type=click.IntRange(min=1), show_default=True, help="How many messages.")
    @click.option("--seed", type=int, default=None, help="Pick the same customers and lines every time.")
    def simulate(url: str, rate: float, count: int, seed: int | None) -> None:
        """Play customers: post realistic inbound messages to a running inbox's /webhook over HTTP,
        signed with WHATSAPP_APP_SECRET when it is set."""
        config, rng = current_app.config, random.Random(seed)
        endpoint = url.rstrip("/") + "/webhook"
        started, refused = time.monotonic(), 0
        for step in range(count):
            name, text, body = customer_message(rng, config["BUSINESS_DISPLAY_NUMBER"], config["PHONE_NUMBER_ID"])
            headers = {"Content-Type": "application/json"}
            if config["WHATSAPP_APP_SECRET"]:
                headers["X-Hub-Signature-256"] = sign(body, config["WHATSAPP_APP_SECRET"])
            request = urllib.request.Request(endpoint, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    outcome = str(response.status)
            except urllib.error.HTTPError as exc:
                refused += 1
                outcome = f"{exc.code} {exc.read().decode(errors='replace')[:200]}"
            except urllib.error.URLError as exc:
                raise click.ClickException(f"cannot reach {endpoint}: {exc.reason}") from None
            click.echo(f"[{step + 1}/{count}] {name}: {text} -> {outcome}")
            if step + 1 < count:
                time.sleep(max(0.0, started + (step + 1) / rate - time.monotonic()))
        if refused:
            raise click.ClickException(f"{refused} of {count} message(s) were refused")
