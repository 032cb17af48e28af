"""The business's approved message templates, as last synced from Meta (`flask templates sync`)."""

from __future__ import annotations

from mongoengine import DateTimeField, Document, IntField, StringField


class MessageTemplate(Document):
    """One approved template in one language; `_id` is `name:language` (e.g. `order_update:en_US`)."""

    id = StringField(primary_key=True)
    name = StringField(required=True)
    language = StringField(required=True)
    body = StringField(required=True)  # the BODY text, with {{1}}, {{2}}, … where the parameters go
    parameter_count = IntField(required=True, min_value=0)
    category = StringField(default="")
    status = StringField(default="")
    synced_at = DateTimeField(required=True)

    meta = {"collection": "message_templates"}

    @staticmethod
    def key(name: str, language: str) -> str:
        return f"{name}:{language}"


DOCUMENTS: tuple[type[Document], ...] = (MessageTemplate,)
