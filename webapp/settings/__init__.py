"""The business's settings: typed definitions with defaults and validation (`definitions`), one stored
document and a change log (`documents`, `store`), and `flask settings show|set` (`cli`). Used by the AI,
business hours and OCR; changed by admins on /settings."""

from .cli import register as register_cli
from .definitions import BY_KEY, DEFINITIONS, Setting, SettingInvalid
from .documents import DOCUMENTS, SettingChange
from .store import SettingsInvalid, change, current, get, history, parse_texts

__all__ = ["BY_KEY", "DEFINITIONS", "DOCUMENTS", "Setting", "SettingChange", "SettingInvalid", "SettingsInvalid",
           "change", "current", "get", "history", "parse_texts", "register_cli"]
