"""All settings, read once from the environment (and `.env` in development)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields
from datetime import timedelta
from typing import Any

from limits import parse_many

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
    # How long a sign-in lasts (hours); then the agent signs in again.
    SESSION_LIFETIME_HOURS: int = 12
    # Rate limits (per client address), in the `limits` notation: "10 per minute", "5/second".
    RATELIMIT_ENABLED: bool = True
    RATELIMIT_LOGIN: str = "10 per minute"
    RATELIMIT_API: str = "300 per minute"
    RATELIMIT_WEBHOOK: str = "3000 per minute"
    # Shared state for every process (rate-limit counts): redis://host:port/db; unset = per-process memory.
    REDIS_URL: str = ""
    # How many proxies in front of the app set X-Forwarded-For/-Proto; 0 = trust no such header.
    TRUSTED_PROXIES: int = 0
    LOG_LEVEL: str = "INFO"
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
            for name in ("SECRET_KEY", "WHATSAPP_VERIFY_TOKEN", "WHATSAPP_APP_SECRET"):
                if not getattr(self, name):
                    raise ConfigError(f"{name} is required when APP_ENV=production")
        if self.SESSION_LIFETIME_HOURS < 1:
            raise ConfigError(f"SESSION_LIFETIME_HOURS must be 1 or more, not {self.SESSION_LIFETIME_HOURS}")
        if self.SOCKETIO_ASYNC_MODE not in {"eventlet", "threading"}:
            raise ConfigError(f"SOCKETIO_ASYNC_MODE must be eventlet or threading, not {self.SOCKETIO_ASYNC_MODE!r}")
        for name in ("BUSINESS_DISPLAY_NUMBER", "PHONE_NUMBER_ID"):
            if not getattr(self, name).isdigit():
                raise ConfigError(f"{name} must be digits only, not {getattr(self, name)!r}")
        self._validate_operations()

    def _validate_operations(self) -> None:
        """Rate limits, Redis, proxies and logging."""
        for name in ("RATELIMIT_LOGIN", "RATELIMIT_API", "RATELIMIT_WEBHOOK"):
            try:
                parse_many(getattr(self, name))
            except ValueError:
                raise ConfigError(
                    f"{name} must be a rate limit such as '10 per minute', not {getattr(self, name)!r}"
                ) from None
        if self.REDIS_URL and not self.REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError("REDIS_URL must start with redis://, rediss:// or unix://")
        if self.TRUSTED_PROXIES < 0:
            raise ConfigError(f"TRUSTED_PROXIES must be 0 or more, not {self.TRUSTED_PROXIES}")
        if self.LOG_LEVEL.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not {self.LOG_LEVEL!r}")

    def flask_config(self) -> dict[str, Any]:
        """The subset Flask and its extensions read from `app.config`."""
        config = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        config.update(self._limiter_config())
        config.update(self._session_cookie_config())
        config.update(self.extra)
        config["JSON_SORT_KEYS"] = False
        return config

    def _session_cookie_config(self) -> dict[str, Any]:
        """The sign-in cookie: HttpOnly, SameSite=Lax, Secure in production (served over HTTPS)."""
        return {
            "SESSION_COOKIE_SECURE": self.is_production,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "PERMANENT_SESSION_LIFETIME": timedelta(hours=self.SESSION_LIFETIME_HOURS),
        }

    def _limiter_config(self) -> dict[str, Any]:
        """Flask-Limiter's own keys, derived from the settings above."""
        config: dict[str, Any] = {"RATELIMIT_STORAGE_URI": self.REDIS_URL or "memory://",
                                  "RATELIMIT_KEY_PREFIX": "inbox", "RATELIMIT_HEADERS_ENABLED": False}
        if self.REDIS_URL:
            # Redis away: keep limiting, per process, in memory (and say so in the log) until it is back.
            config["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] = True
            config["RATELIMIT_STORAGE_OPTIONS"] = {"socket_connect_timeout": 2, "socket_timeout": 2}
        return config
