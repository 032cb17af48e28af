"""All settings, read once from the environment (create_app and wsgi.py load `.env` into it in
development), validated by pydantic-settings. A bad setting stops start-up with one line."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from typing import Annotated, Any, Literal, get_args

from limits import parse_many
from pydantic import (
    BeforeValidator,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, SettingsConfigDict

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}
NOT_A_NUMBER = {"int_parsing", "int_from_float", "int_type", "float_parsing", "float_type"}


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message is one line a person can act on."""


def _flag(value: Any, info: ValidationInfo) -> Any:
    """Only these words (pydantic alone would also take t/f/y/n and refuse an empty value)."""
    if not isinstance(value, str):
        return value
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"{info.field_name} must be one of true/false/1/0/yes/no/on/off, not {value!r}")


Flag = Annotated[bool, BeforeValidator(_flag)]


class Settings(BaseSettings):
    """Typed settings. Field names are the environment variable names."""

    model_config = SettingsConfigDict(case_sensitive=True, frozen=True, extra="ignore", validate_default=True)

    APP_ENV: Literal["development", "production", "test"] = "development"
    MONGODB_URI: str = ""
    SECRET_KEY: str = ""
    WHATSAPP_VERIFY_TOKEN: str = ""
    WHATSAPP_APP_SECRET: str = ""
    BUSINESS_DISPLAY_NUMBER: str = "15550001111"
    PHONE_NUMBER_ID: str = "100000000000001"
    BUSINESS_NAME: str = "Acme Support"
    # Meta's Cloud API. Without an access token the app is in demo mode: nothing is sent to WhatsApp.
    WHATSAPP_ACCESS_TOKEN: str = ""
    WHATSAPP_API_BASE_URL: str = "https://graph.facebook.com"
    WHATSAPP_API_VERSION: str = "v26.0"
    WHATSAPP_BUSINESS_ACCOUNT_ID: str = ""  # for templates
    SIMULATE_DELIVERY: Flag = True
    SIMULATE_DELIVERED_AFTER: float = 1.0
    SIMULATE_READ_AFTER: float = 2.5
    SOCKETIO_ASYNC_MODE: Literal["eventlet", "threading"] = "eventlet"
    PORT: int = 5000
    MAX_CONTENT_LENGTH: int = 2 * 1024 * 1024
    MESSAGE_MAX_LENGTH: int = 4096
    MONGODB_TIMEOUT_MS: int = 3000
    # How long a sign-in lasts (hours); then the agent signs in again.
    SESSION_LIFETIME_HOURS: int = Field(12, ge=1)
    # Rate limits (per client address), in the `limits` notation: "10 per minute", "5/second".
    RATELIMIT_ENABLED: Flag = True
    RATELIMIT_LOGIN: str = "10 per minute"
    RATELIMIT_API: str = "300 per minute"
    RATELIMIT_WEBHOOK: str = "3000 per minute"
    # Shared state for every process (rate-limit counts): redis://host:port/db; unset = per-process memory.
    REDIS_URL: str = ""
    # How many proxies in front of the app set X-Forwarded-For/-Proto; 0 = trust no such header.
    TRUSTED_PROXIES: int = Field(0, ge=0)
    LOG_LEVEL: str = "INFO"
    # Received media (webapp/media): stored under MEDIA_ROOT (default: instance/media), or in an
    # S3-compatible bucket when MEDIA_S3_BUCKET is set (credentials from the usual AWS_* variables).
    MEDIA_ROOT: str = ""
    MEDIA_S3_BUCKET: str = ""
    MEDIA_S3_ENDPOINT_URL: str = ""  # another S3-compatible service (MinIO, R2, …); empty = AWS
    # Webhook deliveries not fully applied (webapp/webhooks/tasks.py): a worker looks every
    # WEBHOOK_SWEEP_SECONDS (0 = never) for ones left "received" longer than WEBHOOK_STUCK_AFTER seconds
    # (the process died, or the database went away) or "failed" fewer than WEBHOOK_MAX_ATTEMPTS times.
    WEBHOOK_SWEEP_SECONDS: float = Field(30, ge=0)
    WEBHOOK_STUCK_AFTER: float = Field(60, ge=0)
    WEBHOOK_MAX_ATTEMPTS: int = Field(5, ge=1)
    # The sweep finds unfinished deliveries in a Redis set; it also scans the raw log (which reads every
    # delivery ever stored on FerretDB) at a worker's first sweep and then at most this often.
    WEBHOOK_FULL_SWEEP_SECONDS: float = Field(3600, gt=0)
    # inline: a delivery is applied before the 200 (which says what it did); queued: the 200 comes once the
    # raw body is stored, and a worker's job applies it (Meta's advice: answer fast; see "Webhooks").
    WEBHOOK_APPLY: Literal["inline", "queued"] = "inline"
    # The raw log keeps processed deliveries this many days (a worker deletes older ones every hour; on
    # FerretDB that reads the whole log, about 0.13 ms a delivery); 0 keeps them all. Failed and unfinished
    # deliveries stay until they are applied.
    WEBHOOK_KEEP_DAYS: float = Field(30, ge=0)
    MEDIA_S3_REGION: str = ""
    # Seconds before each new try of a failed download (JSON list); then the media shows as failed.
    MEDIA_RETRY_DELAYS: list[Annotated[int, Field(ge=0)]] = [2, 10, 30]
    # Connections (webapp/core/serving.py, webapp/auth/sockets.py). The address people open; the HTTPS
    # redirect and absolute URLs use it, never the request's Host header. Empty: plain HTTP in production
    # is refused rather than redirected.
    PUBLIC_URL: str = ""
    WEB_MAX_CONNECTIONS: int = Field(10000, ge=1)  # open connections one web process serves at once
    MAX_CONNECTIONS_PER_CLIENT: int = Field(100, ge=1)  # per client address (TCP, and Socket.IO behind proxies)
    WEB_IDLE_TIMEOUT: float = Field(60.0, ge=30.0)  # a silent connection closes (Socket.IO pings every 25 s)
    WEB_HEADER_TIMEOUT: float = Field(10.0, gt=0)  # a request's line and headers must arrive within this
    SOCKET_RECHECK_SECONDS: float = Field(30.0, ge=0)  # an open socket's access is asked again (0: never)
    # Text read from received images and PDFs (webapp/ocr): Tesseract's languages, joined by "+"
    # ("eng", "eng+deu"; each needs Debian's tesseract-ocr-<lang>), until the settings store holds them.
    OCR_LANGUAGES: str = "eng"
    OCR_MAX_PAGES: int = Field(20, ge=1)  # pages of a PDF read; the rest are left out (and said so)
    # The AI's chat-completions service (webapp/ai): any OpenAI-compatible API (OpenAI, Groq, Ollama, vLLM).
    # Without AI_BASE_URL the AI is off whatever the settings page says.
    AI_BASE_URL: str = ""
    AI_API_KEY: str = ""
    AI_MODEL: str = ""

    # Keys of `overrides` that are not settings (tests): copied into app.config as they are.
    _extra: dict[str, Any] = PrivateAttr(default_factory=dict)

    @property
    def is_production(self) -> bool:
        return self.APP_ENV == "production"

    @classmethod
    def load(cls, overrides: dict[str, Any] | None = None) -> Settings:
        """Build settings from the environment, with `overrides` (tests) taking precedence."""
        overrides = dict(overrides or {})
        known = {name: overrides.pop(name) for name in list(overrides) if name in cls.model_fields}
        try:
            settings = cls(**known)
        except ValidationError as exc:
            raise ConfigError(_one_line(exc.errors()[0])) from None
        if not settings.SECRET_KEY:
            # Development only (production refuses this above): sessions last one process.
            settings = settings.model_copy(update={"SECRET_KEY": secrets.token_hex(32)})
        settings._extra = overrides
        return settings

    @model_validator(mode="before")
    @classmethod
    def _strip(cls, values: Any) -> Any:
        """Surrounding spaces (a stray one in .env) are not part of any setting."""
        if not isinstance(values, dict):
            return values
        return {name: value.strip() if isinstance(value, str) else value for name, value in values.items()}

    @field_validator("MONGODB_URI")
    @classmethod
    def _mongodb_uri(cls, value: str) -> str:
        if not value:
            raise ValueError(
                "MONGODB_URI is not set: point it at a MongoDB server, or use `make run`, which starts a local one")
        if not value.startswith(("mongodb://", "mongodb+srv://")):
            raise ValueError("MONGODB_URI must start with mongodb:// or mongodb+srv://")
        return value

    @field_validator("BUSINESS_DISPLAY_NUMBER", "PHONE_NUMBER_ID")
    @classmethod
    def _digits(cls, value: str, info: ValidationInfo) -> str:
        if not value.isdigit():
            raise ValueError(f"{info.field_name} must be digits only, not {value!r}")
        return value

    @field_validator("WHATSAPP_API_BASE_URL")
    @classmethod
    def _graph_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError(f"WHATSAPP_API_BASE_URL must start with https:// or http://, not {value!r}")
        return value.rstrip("/")

    @field_validator("WHATSAPP_API_VERSION")
    @classmethod
    def _graph_version(cls, value: str) -> str:
        if not re.fullmatch(r"v\d+\.\d+", value):
            raise ValueError(f"WHATSAPP_API_VERSION must look like v26.0, not {value!r}")
        return value

    @field_validator("WHATSAPP_BUSINESS_ACCOUNT_ID")
    @classmethod
    def _optional_digits(cls, value: str, info: ValidationInfo) -> str:
        if value and not value.isdigit():
            raise ValueError(f"{info.field_name} must be digits only, not {value!r}")
        return value

    @field_validator("RATELIMIT_LOGIN", "RATELIMIT_API", "RATELIMIT_WEBHOOK")
    @classmethod
    def _rate_limit(cls, value: str, info: ValidationInfo) -> str:
        try:
            parse_many(value)
        except ValueError:
            raise ValueError(f"{info.field_name} must be a rate limit such as '10 per minute', not {value!r}") from None
        return value

    @field_validator("MEDIA_S3_ENDPOINT_URL")
    @classmethod
    def _s3_endpoint(cls, value: str) -> str:
        if value and not value.startswith(("https://", "http://")):
            raise ValueError(f"MEDIA_S3_ENDPOINT_URL must start with https:// or http://, not {value!r}")
        return value

    @field_validator("OCR_LANGUAGES")
    @classmethod
    def _ocr_languages(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z_]{3,20}(\+[a-z_]{3,20})*", value):
            raise ValueError(f"OCR_LANGUAGES must be Tesseract language codes joined by +, such as eng or eng+deu, "
                             f"not {value!r}")
        return value

    @field_validator("REDIS_URL")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("REDIS_URL must start with redis://, rediss:// or unix://")
        return value

    @field_validator("PUBLIC_URL")
    @classmethod
    def _public_url(cls, value: str) -> str:
        if value and not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:\d{1,5})?/?", value):
            raise ValueError(f"PUBLIC_URL must be a scheme and host such as https://inbox.example.com, not {value!r}")
        return value.rstrip("/")

    @field_validator("LOG_LEVEL")
    @classmethod
    def _log_level(cls, value: str) -> str:
        if value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not {value!r}")
        return value

    @model_validator(mode="after")
    def _production_secrets(self) -> Settings:
        if self.is_production:
            for name in ("SECRET_KEY", "WHATSAPP_VERIFY_TOKEN", "WHATSAPP_APP_SECRET"):
                if not getattr(self, name):
                    raise ValueError(f"{name} is required when APP_ENV=production")
        return self

    def flask_config(self) -> dict[str, Any]:
        """The subset Flask and its extensions read from `app.config`."""
        config = self.model_dump()
        config.update(self._limiter_config())
        config.update(self._session_cookie_config())
        config.update(self._extra)
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


def _one_line(error: ErrorDetails) -> str:
    """pydantic's first complaint as the line start-up prints: our validators' own messages, and
    the same wording for pydantic's built-in checks (numbers, bounds, choices)."""
    name = str(error["loc"][0]) if error["loc"] else "a setting"
    given = error.get("input")
    context = error.get("ctx") or {}
    if error["type"] == "value_error":
        return str(context["error"])
    if error["type"] in NOT_A_NUMBER:
        return f"{name} must be a number, not {given!r}"
    if error["type"] == "greater_than_equal":
        return f"{name} must be {context['ge']} or more, not {given}"
    if error["type"] == "greater_than":
        return f"{name} must be more than {context['gt']}, not {given}"
    if error["type"] == "literal_error":
        *first, last = get_args(Settings.model_fields[name].annotation)
        return f"{name} must be {', '.join(first)} or {last}, not {given!r}"
    return f"{name}: {error['msg']}"
