"""The stored settings (one document) and the log of every change (who, when, key, old, new)."""

from __future__ import annotations

from mongoengine import DateTimeField, DictField, Document, DynamicField, StringField

from ..core.clock import utcnow

SETTINGS_ID = "business"


class StoredSettings(Document):
    """The values an admin changed; a key not in `values` has its default (webapp.settings.definitions)."""

    id = StringField(primary_key=True, default=SETTINGS_ID)
    values = DictField()
    updated_at = DateTimeField(null=True)

    meta = {"collection": "settings", "strict": False}


class SettingChange(Document):
    """One changed setting: who changed it (an agent's email, "cli", "token:<name>"), when, from what to what."""

    at = DateTimeField(required=True, default=utcnow)
    by = StringField(required=True)
    key = StringField(required=True)
    old = DynamicField(null=True)
    new = DynamicField(null=True)

    meta = {"collection": "setting_changes", "indexes": [{"fields": ["-at"], "name": "latest"}]}


DOCUMENTS: tuple[type[Document], ...] = (StoredSettings, SettingChange)
