"""What every endpoint accepts, declared once: the routes validate with these schemas and
/openapi.json is generated from them (webapp/apidocs). The field types are in webapp/validation.py.

The JSON API's schemas are strict (an unknown or repeated query parameter or body field is a 400
naming it: a typo such as `?limt=5` is not silently ignored). The webhook's handshake and the
pages ignore names they do not know: Meta and browsers may add some, and they are never read.
"""

from __future__ import annotations

from .inbox.queries import DEFAULT_PAGE, MAX_PAGE
from .validation import Int, Phone, Schema, Setting, Text

RAVI = "919937320320"  # the example contact in the README and the demo inbox

WA_ID = Phone("wa_id", description="The contact's WhatsApp number: 6 to 15 digits, optionally after a +.",
              example=RAVI)
SEARCH = Text("q", required=False, max_length=100,
              description="Only conversations whose contact name (any case) or number contains this text.")
MESSAGE_ID = Text("before", required=False, max_length=256,
                  description="Paging cursor: the `meta.before` of the previous page (a message id).")

# --- the JSON API ----------------------------------------------------------------------------------

CONTACT_PATH = Schema("path", "wa_id", WA_ID)

CONVERSATIONS_QUERY = Schema(
    "query", "query",
    Int("limit", 50, 1, MAX_PAGE, description="How many conversations, most recent first."),
    SEARCH,
    Phone("before", required=False,
          description="Paging cursor: the `meta.before` of the previous page (a contact's wa_id)."),
    strict=True,
)

MESSAGES_QUERY = Schema(
    "query", "query",
    Int("limit", DEFAULT_PAGE, 1, MAX_PAGE, description="How many messages: the latest, oldest first."),
    MESSAGE_ID,
    Text("phone_number_id", required=False, max_length=32, pattern="[0-9]+", pattern_problem="must be digits",
         description="The business number's id, when the contact wrote to more than one; default: the latest."),
    strict=True,
)

SEND_MESSAGE = Schema(
    "json", "message",
    Phone("waId", description="The contact to send to.", example=RAVI),
    Text("messageBody", max_length=Setting("MESSAGE_MAX_LENGTH"), strip=False,
         description="The text, kept exactly as sent (at most MESSAGE_MAX_LENGTH characters, not blank).",
         example="Hello from the inbox"),
    Phone("from", required=False, description="The sending number; default: the business's number."),
    Phone("to", required=False, description="Must repeat waId when given."),
    strict=True,
    name="SendMessage",
)

NO_QUERY = Schema("query", "query", strict=True)

# --- the webhook -------------------------------------------------------------------------------------

WEBHOOK_HANDSHAKE_QUERY = Schema(
    "query", "query",
    Text("hub.mode", required=False, max_length=32, description="`subscribe`.", example="subscribe"),
    Text("hub.verify_token", required=False, max_length=256, strip=False,
         description="Must equal WHATSAPP_VERIFY_TOKEN."),
    Text("hub.challenge", required=False, max_length=256, strip=False,
         description="Echoed back when the token matches.", example="1158201444"),
)

# --- the pages (HTMX) -------------------------------------------------------------------------------

PAGE_QUERY = Schema("query", "query", SEARCH)
SEARCH_QUERY = Schema("query", "query", SEARCH, Phone("before", required=False))
MESSAGE_PAGE_QUERY = Schema("query", "query", MESSAGE_ID)
COMPOSER_FORM = Schema("form", "message", Text("body", max_length=Setting("MESSAGE_MAX_LENGTH"), strip=False))
