"""All settings, read once from the environment (and `.env` in development)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields
from typing import Any

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message is one line a person can act on."""


def _flag(name: str, raw: str) -> bool:
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConfigError(f"{name} must be one of true/false/1/0/yes/no/on/off, not {raw!r}")


def _number(name: str, raw: str, kind: type) -> Any:
    try:
        return kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from None


@dataclass(frozen=True)
class Settings:
    """Typed settings. Field names are the environment variable names."""

    APP_ENV: str = "development"
    MONGODB_URI: str = ""
    SECRET_KEY: str = ""
    WHATSAPP_VERIFY_TOKEN: str = ""
    WHATSAPP_APP_SECRET: str = ""
    BUSINESS_DISPLAY_NUMBER: str = "15550001111"
    PHONE_NUMBER_ID: str = "100000000000001"
    BUSINESS_NAME: str = "Acme Support"
    SIMULATE_DELIVERY: bool = True
    SIMULATE_DELIVERED_AFTER: float = 1.0
    SIMULATE_READ_AFTER: float = 2.5
    SOCKETIO_ASYNC_MODE: str = "eventlet"
    PORT: int = 5000
    MAX_CONTENT_LENGTH: int = 2 * 1024 * 1024
    MESSAGE_MAX_LENGTH: int = 4096
    MONGODB_TIMEOUT_MS: int = 3000
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_production(self) -> bool:
        return self.APP_ENV == "production"

    @classmethod
    def load(cls, overrides: dict[str, Any] | None = None) -> Settings:
        """Build settings from the environment, with `overrides` (tests) taking precedence."""
        overrides = dict(overrides or {})
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name == "extra":
                continue
            if f.name in overrides:
                values[f.name] = overrides.pop(f.name)
                continue
            raw = os.environ.get(f.name)
            if raw is None:
                continue
            if f.type == "bool":
                values[f.name] = _flag(f.name, raw)
            elif f.type == "int":
                values[f.name] = _number(f.name, raw, int)
            elif f.type == "float":
                values[f.name] = _number(f.name, raw, float)
            else:
                values[f.name] = raw.strip()
        settings = cls(**values, extra=overrides)
        settings.validate()
        if not settings.SECRET_KEY:
            # Development only (validate() refuses this in production): sessions last one process.
            settings = cls(**{**values, "SECRET_KEY": secrets.token_hex(32)}, extra=overrides)
        return settings

    def validate(self) -> None:
        if self.APP_ENV not in {"development", "production", "test"}:
            raise ConfigError(f"APP_ENV must be development, production or test, not {self.APP_ENV!r}")
        if not self.MONGODB_URI:
            raise ConfigError(
                "MONGODB_URI is not set: point it at a MongoDB server, or use `make run`, which starts a local one"
            )
        if not self.MONGODB_URI.startswith(("mongodb://", "mongodb+srv://")):
            raise ConfigError("MONGODB_URI must start with mongodb:// or mongodb+srv://")
        if self.is_production:
            for name in ("SECRET_KEY", "WHATSAPP_VERIFY_TOKEN"):
                if not getattr(self, name):
                    raise ConfigError(f"{name} is required when APP_ENV=production")
        if self.SOCKETIO_ASYNC_MODE not in {"eventlet", "threading"}:
            raise ConfigError(f"SOCKETIO_ASYNC_MODE must be eventlet or threading, not {self.SOCKETIO_ASYNC_MODE!r}")
        for name in ("BUSINESS_DISPLAY_NUMBER", "PHONE_NUMBER_ID"):
            if not getattr(self, name).isdigit():
                raise ConfigError(f"{name} must be digits only, not {getattr(self, name)!r}")

    def flask_config(self) -> dict[str, Any]:
        """The subset Flask and its extensions read from `app.config`."""
        config = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        config.update(self.extra)
        config["JSON_SORT_KEYS"] = False
        return config
