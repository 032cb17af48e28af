"""The response schemas of /openapi.json (the envelope, its items, the errors) and the webhook
bodies, as JSON Schema (OpenAPI 3.1). The request schemas are not here: they are generated from
webapp/schemas.py, which the routes validate with."""

from __future__ import annotations

from typing import Any

from ..whatsapp.events import STATUS_RANK

Json = dict[str, Any]

STATUSES = list(STATUS_RANK)  # pending, sent, failed, delivered, read


def ref(name: str) -> Json:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Json) -> Json:
    if "type" in schema and "$ref" not in schema:
        return {**schema, "type": [schema["type"], "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


STRING: Json = {"type": "string"}
DATE_TIME: Json = {"type": "string", "format": "date-time", "description": "ISO-8601, UTC (`Z`)."}
COUNT: Json = {"type": "integer", "minimum": 0}
TEXT_CONTENT: Json = {"type": "object", "required": ["body"], "properties": {"body": STRING}}
STATUS: Json = {
    "type": ["string", "null"],
    "enum": [*STATUSES, None],
    "description": "The delivery tick of a message the business sent; `null` for a message received.",
}
DIRECTION: Json = {"type": "string", "enum": ["inbound", "outbound"]}


# --- the envelope -----------------------------------------------------------------------------------

ENVELOPE: Json = {
    "type": "object",
    "description": "Every JSON answer: `status`, a `message` a person can read, and `data`.",
    "required": ["status", "message", "data"],
    "properties": {
        "status": {"type": "string", "enum": ["success"]},
        "message": STRING,
        "data": {"description": "What was asked for; see each operation."},
        "meta": ref("PageMeta"),
    },
}

ERROR_ENVELOPE: Json = {
    "type": "object",
    "description": "Every error: `data` is null; `errors` names each bad field (or JSON path) and its problem.",
    "required": ["status", "message", "data"],
    "properties": {
        "status": {"type": "string", "enum": ["error"]},
        "message": STRING,
        "data": {"type": "null"},
        "errors": {"type": "object", "additionalProperties": STRING,
                   "examples": [{"waId": "must be a phone number: 6 to 15 digits, optionally after a +"}]},
    },
}

PAGE_META: Json = {
    "type": "object",
    "description": "A page of a list: pass `before` back as `?before=` for the next (older) page.",
    "required": ["hasMore", "before", "count"],
    "properties": {"hasMore": {"type": "boolean"}, "before": nullable(STRING), "count": COUNT},
}


def success(data: Json, *, paged: bool = False) -> Json:
    """The envelope around `data` (and `meta`, for a page of a list)."""
    schema: Json = {"type": "object", "properties": {"data": data}}
    if paged:
        schema["required"] = ["meta"]
    return {"allOf": [ref("Envelope"), schema]}


# --- the items ----------------------------------------------------------------------------------------

CONVERSATION: Json = {
    "type": "object",
    "description": "A conversation with a contact, summarised by its latest message (`id` … `direction`).",
    "required": ["id", "wa_id", "contactName", "from", "to", "type", "text", "preview", "timestamp", "status",
                 "direction", "unreadCount", "lastMessageAt", "phoneNumberId"],
    "properties": {
        "id": {**nullable(STRING), "description": "The latest message's id (wamid)."},
        "wa_id": {**STRING, "description": "The contact's WhatsApp number, digits only."},
        "contactName": nullable(STRING),
        "from": nullable(STRING),
        "to": nullable(STRING),
        "type": nullable(STRING),
        "text": {**nullable(TEXT_CONTENT), "description": "The latest message's preview as `text.body`."},
        "preview": STRING,
        "timestamp": nullable(DATE_TIME),
        "status": STATUS,
        "direction": nullable(DIRECTION),
        "unreadCount": COUNT,
        "lastMessageAt": nullable(DATE_TIME),
        "phoneNumberId": {**STRING, "description": "The business number's id the contact wrote to."},
    },
}

MESSAGE_ERROR: Json = {
    "type": "object",
    "description": "Why WhatsApp could not deliver the message (shown while `status` is `failed`).",
    "required": ["code", "title", "details"],
    "properties": {"code": {"type": ["integer", "string", "null"]}, "title": STRING, "details": nullable(STRING)},
}

REACTION: Json = {
    "type": "object",
    "required": ["emoji", "from", "timestamp"],
    "properties": {"emoji": STRING, "from": STRING, "timestamp": nullable(DATE_TIME)},
}

MESSAGE: Json = {
    "type": "object",
    "description": (
        "A message. Its content is under its type's name (`text.body`, `image.caption`, `location.name`, …) "
        "as WhatsApp sent it, or under `content` when that name is not a plain identifier or is taken."
    ),
    "required": ["id", "wa_id", "contactName", "from", "to", "direction", "type", "preview", "timestamp", "status",
                 "statusTimestamps", "error", "reactions", "context"],
    "properties": {
        "id": {**STRING, "description": "WhatsApp's message id (wamid)."},
        "wa_id": {**STRING, "description": "The contact's number."},
        "contactName": nullable(STRING),
        "from": STRING,
        "to": STRING,
        "direction": DIRECTION,
        "type": {**STRING, "examples": ["text", "image", "location", "reaction", "unsupported"]},
        "preview": {**STRING, "description": "One line for the conversation list."},
        "timestamp": DATE_TIME,
        "status": STATUS,
        "statusTimestamps": {"type": "object", "propertyNames": {"enum": STATUSES}, "additionalProperties": DATE_TIME,
                             "description": "When each status was first reached."},
        "error": nullable(ref("MessageError")),
        "reactions": {"type": "array", "items": ref("Reaction")},
        "context": {**nullable({"type": "object"}), "description": "The message this one replies to or forwards."},
        "sentBy": {**nullable(STRING), "description": "Who sent it from this app: an agent's email or `token:<name>`."},
        "text": TEXT_CONTENT,
        "content": {"description": "The content, when it is not under the type's name."},
        "errors": {"type": "array", "items": {"type": "object"},
                   "description": "WhatsApp's errors on a received message."},
    },
}

WEBHOOK_RESULT: Json = {
    "type": "object",
    "description": "The delivery is stored (`eventId`); what processing it did. `failed`: stored, to be replayed.",
    "required": ["eventId", "outcome", "stored", "duplicates", "statusesApplied", "statusesStale", "statusesDeferred",
                 "reactionsApplied", "reactionsDeferred", "ignored"],
    "properties": {
        "eventId": STRING,
        "outcome": {"type": "string", "enum": ["processed", "failed"]},
        "stored": {**COUNT, "description": "Messages (and reactions) stored."},
        "duplicates": {**COUNT, "description": "Messages already stored (WhatsApp delivers again)."},
        "statusesApplied": COUNT,
        "statusesStale": {**COUNT, "description": "Statuses older than the one shown."},
        "statusesDeferred": {**COUNT, "description": "Statuses for a message not stored yet; applied when it comes."},
        "reactionsApplied": COUNT,
        "reactionsDeferred": COUNT,
        "ignored": {"type": "array", "items": STRING,
                    "description": "Change fields and statuses kept in the raw log only."},
    },
}


# --- the webhook bodies (validated by webapp/whatsapp/parse.py, which names the JSON path of each problem) ---

WA_PHONE: Json = {"type": "string", "pattern": r"^\+?[0-9]{5,20}$"}
UNIX_TIME: Json = {
    "description": "Unix seconds, as a string (WhatsApp's way) or a number.",
    "anyOf": [{"type": "string", "pattern": "^[0-9]{1,10}$"}, {"type": "integer", "minimum": 0, "maximum": 9999999999}],
}
ID: Json = {"type": "string", "minLength": 1, "maxLength": 512, "pattern": r"\S"}
KEPT_OBJECT = "Kept as sent; no key may start with `$` or contain `.` (400 naming its path)."

WEBHOOK_MESSAGE: Json = {
    "type": "object",
    "description": (
        "A message a contact sent (or the business sent from another device: `from` is the business's number, "
        "and `to` or the change's first contact says to whom). Its content is under its type's name. " + KEPT_OBJECT
    ),
    "required": ["id", "from", "timestamp"],
    "properties": {
        "id": {**ID, "description": "wamid"},
        "from": WA_PHONE,
        "to": WA_PHONE,
        "timestamp": UNIX_TIME,
        "type": {"type": "string", "minLength": 1, "maxLength": 64, "examples": ["text"],
                 "description": "Any type is stored; unknown ones show as unsupported. Default: `unsupported`."},
        "text": TEXT_CONTENT,
        "reaction": {"type": "object", "required": ["message_id"],
                     "properties": {"message_id": ID, "emoji": {"type": "string", "maxLength": 32,
                                                                 "description": "Empty removes the reaction."}}},
        "context": {"type": "object", "description": "The message replied to or forwarded."},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}

WEBHOOK_STATUS: Json = {
    "type": "object",
    "description": "A delivery status of a message the business sent. Other status names are ignored.",
    "required": ["id", "status", "timestamp"],
    "properties": {
        "id": {**ID, "description": "The wamid of the message."},
        "status": {"type": "string", "minLength": 1, "examples": ["sent", "delivered", "read", "failed"]},
        "timestamp": UNIX_TIME,
        "recipient_id": WA_PHONE,
        "errors": {"type": "array", "description": "Why it failed. " + KEPT_OBJECT, "items": {
            "type": "object",
            "properties": {"code": {"type": "integer"}, "title": STRING, "message": STRING,
                           "error_data": {"type": "object", "properties": {"details": STRING}}},
        }},
    },
}

WEBHOOK_VALUE: Json = {
    "type": "object",
    "properties": {
        "messaging_product": {"type": "string", "enum": ["whatsapp"]},
        "metadata": {
            "type": "object",
            "description": "The business number written to; default: BUSINESS_DISPLAY_NUMBER and PHONE_NUMBER_ID.",
            "properties": {"display_phone_number": WA_PHONE,
                           "phone_number_id": {"type": "string", "pattern": "^[0-9]{1,32}$"}},
        },
        "contacts": {"type": "array", "items": {
            "type": "object",
            "properties": {"wa_id": WA_PHONE, "profile": {"type": "object", "properties": {"name": STRING}}},
        }},
        "messages": {"type": "array", "items": ref("WebhookMessage")},
        "statuses": {"type": "array", "items": ref("WebhookStatus")},
    },
}

WEBHOOK_ENTRIES: Json = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["changes"],
        "properties": {
            "id": {"type": "string", "description": "The WhatsApp Business Account id."},
            "changes": {"type": "array", "items": {
                "type": "object",
                "required": ["value"],
                "properties": {
                    "field": {"type": "string", "default": "messages",
                              "description": "Only `messages` is processed; other fields are kept in the raw log."},
                    "value": ref("WebhookValue"),
                },
            }},
        },
    },
}

META_BODY: Json = {
    "type": "object",
    "title": "Meta's body",
    "required": ["object", "entry"],
    "properties": {"object": {"type": "string", "enum": ["whatsapp_business_account"]}, "entry": WEBHOOK_ENTRIES},
}

WRAPPER_BODY: Json = {
    "type": "object",
    "title": "The assignment's wrapper",
    "description": "Meta's entries under `metaData`; the other fields are kept in the raw log only.",
    "required": ["payload_type", "metaData"],
    "properties": {
        "payload_type": {"type": "string", "enum": ["whatsapp_webhook"]},
        "_id": STRING,
        "metaData": {"type": "object", "required": ["entry"], "properties": {
            "entry": WEBHOOK_ENTRIES, "gs_app_id": STRING,
            "object": {"type": "string", "enum": ["whatsapp_business_account"]},
        }},
        "createdAt": STRING,
        "startedAt": STRING,
        "completedAt": STRING,
        "executed": {"type": "boolean"},
    },
}

WEBHOOK_BODY: Json = {
    "description": "Meta's webhook body, or the same entries in the assignment's wrapper. A body with any "
                   "malformed part is refused whole (400 naming the JSON path of each problem).",
    "anyOf": [ref("MetaWebhookBody"), ref("WrapperWebhookBody")],
}

SCHEMAS: dict[str, Json] = {
    "Envelope": ENVELOPE,
    "ErrorEnvelope": ERROR_ENVELOPE,
    "PageMeta": PAGE_META,
    "Conversation": CONVERSATION,
    "Message": MESSAGE,
    "MessageError": MESSAGE_ERROR,
    "Reaction": REACTION,
    "WebhookResult": WEBHOOK_RESULT,
    "WebhookBody": WEBHOOK_BODY,
    "MetaWebhookBody": META_BODY,
    "WrapperWebhookBody": WRAPPER_BODY,
    "WebhookValue": WEBHOOK_VALUE,
    "WebhookMessage": WEBHOOK_MESSAGE,
    "WebhookStatus": WEBHOOK_STATUS,
}


# --- examples --------------------------------------------------------------------------------------------

_ENTRY = {
    "id": "WABA_ID",
    "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "918329446654", "phone_number_id": "629305560276479"},
        "contacts": [{"profile": {"name": "Ravi Kumar"}, "wa_id": "919937320320"}],
        "messages": [{"from": "919937320320", "id": "wamid.EXAMPLE1", "timestamp": "1754400000", "type": "text",
                      "text": {"body": "Hi, I'd like to know more about your services."}}],
    }}],
}
META_EXAMPLE: Json = {"object": "whatsapp_business_account", "entry": [_ENTRY]}
WRAPPER_EXAMPLE: Json = {
    "payload_type": "whatsapp_webhook", "_id": "conv1-msg1-user",
    "metaData": {"entry": [_ENTRY], "gs_app_id": "conv1-app", "object": "whatsapp_business_account"},
    "executed": True,
}
