"""Settings, read once from the environment (and an optional ``.env`` file), validated at start-up.

This is the only module that reads the environment.  Everything else receives a ``Settings``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from bot.handoff.hours import DEFAULT_HOURS, OfficeHours
from bot.privacy import private_dir

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = Path(__file__).resolve().parent / "bundled"
_ORIGIN = re.compile(r"^https?://[a-z0-9.-]+(:[0-9]{1,5})?$")  # scheme://host[:port], no path


def _data_root() -> Path:
    """Where ``knowledge/`` and ``locales/`` are: the repository for a checkout (also an editable
    install), else the copies a built wheel carries in ``bot/bundled/`` (see setup.py)."""
    if (ROOT / "pyproject.toml").is_file() and (ROOT / "knowledge").is_dir():
        return ROOT
    return BUNDLED


DATA_ROOT = _data_root()
DEFAULT_KNOWLEDGE_DIR = DATA_ROOT / "knowledge"
LOCALES_DIR = DATA_ROOT / "locales"


class ConfigError(Exception):
    """Raised with a readable message when the settings do not validate."""


class Settings(BaseModel):
    """Every setting, with its environment variable name as the field name (lower-cased)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    knowledge_dir: Path = Field(DEFAULT_KNOWLEDGE_DIR, description="Knowledge base folder")
    data_dir: Path = Field(Path("data"), description="Folder for the SQLite file and tokens")
    database_url: SecretStr | None = Field(
        None, description="postgresql://user:password@host:port/db runs the store on "
        "PostgreSQL; unset: SQLite in DATA_DIR",
    )
    redis_url: SecretStr | None = Field(
        None, description="redis://host:port/db shared by several workers (per-chat order, "
        "locks, flood counters, the Zalo token); unset: one process",
    )
    default_locale: str = Field("vi", pattern=r"^(vi|en)$", description="Language for new users")
    log_level: str = Field("INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$", description="Log level")
    kb_reload_seconds: float = Field(
        2.0, ge=0.2, le=3600, description="How often to look for KB edits"
    )
    max_message_chars: int = Field(
        2000, ge=100, le=20000, description="Longer messages are cut before search"
    )
    pseudonym_key: SecretStr = Field(
        description="HMAC key for pseudonymous user references; when unset, a random key is "
        "created once in DATA_DIR/pseudonym.key",
    )
    conversation_minutes: float = Field(
        30, gt=0, le=10080, description="Quiet minutes after which a chat's focus is forgotten"
    )
    retention_days: int = Field(365, ge=1, description="Days to keep raw question texts, comments")
    event_ids_keep_hours: float = Field(
        48, ge=25, le=24 * 30, description="Hours incoming event ids are kept to drop retries"
    )
    flood_limit: int = Field(
        30, ge=1, le=10_000, description="Messages one chat may send per FLOOD_WINDOW_SECONDS"
    )
    flood_window_seconds: float = Field(
        60, gt=0, le=86_400, description="The window of FLOOD_LIMIT, in seconds"
    )
    host: str = Field("0.0.0.0", description="Address `dvcbot serve` listens on")
    port: int = Field(8080, ge=1, le=65535, description="Port `dvcbot serve` listens on")
    public_url: str | None = Field(None, description="Public HTTPS base URL for webhooks")
    telegram_bot_token: SecretStr | None = Field(None, description="Bot token from BotFather")
    telegram_api_url: str = Field(
        "https://api.telegram.org", description="Bot API server (self-hosted or emulator)"
    )
    telegram_admin_ids: tuple[int, ...] = Field((), description="Officials' Telegram user ids")
    telegram_webhook_secret: SecretStr | None = Field(
        None, description="Secret token Telegram sends with every webhook request"
    )
    zalo_app_id: str | None = Field(None, description="Zalo app id")
    zalo_app_secret: SecretStr | None = Field(None, description="Zalo app secret (token refresh)")
    zalo_oa_id: str | None = Field(None, description="Zalo Official Account id")
    zalo_oa_secret_key: SecretStr | None = Field(None, description="OA secret key (signatures)")
    zalo_access_token: SecretStr | None = Field(None, description="Initial OA access token")
    zalo_refresh_token: SecretStr | None = Field(None, description="Initial OA refresh token")
    zalo_api_url: str = Field("https://openapi.zalo.me", description="Zalo OA Open API base URL")
    zalo_oauth_url: str = Field("https://oauth.zaloapp.com", description="Zalo OAuth base URL")
    zalo_admin_ids: tuple[str, ...] = Field((), description="Officials' Zalo user ids")
    zalo_event_max_age_minutes: float = Field(
        60, gt=0, le=24 * 60, description="Zalo events older than this (by their timestamp) are "
        "refused"
    )
    web_enabled: bool = Field(
        True, description="Serve the web chat, its widget and the officials' dashboard"
    )
    web_allowed_origins: tuple[str, ...] = Field(
        (), description="Sites allowed to embed the chat widget (comma-separated origins)"
    )
    web_rate_per_minute: int = Field(
        20, ge=1, le=600, description="Messages a minute one web chat session may send"
    )
    web_ip_rate_per_minute: int = Field(
        120, ge=1, le=100_000, description="Web chat messages a minute from one address"
    )
    web_session_hours: float = Field(
        24, gt=0, le=24 * 30, description="Hours a citizen's web chat session lasts"
    )
    web_admin_session_minutes: int = Field(
        480, ge=5, le=7 * 24 * 60, description="Minutes a dashboard login lasts"
    )
    web_trust_proxy: bool = Field(
        False, description="Take the client address and scheme from X-Forwarded-For/-Proto"
    )
    # -- hand-over to staff (bot/handoff) ---------------------------------------------------
    telegram_staff_chat_id: int | None = Field(
        None, description="Telegram group where staff receive hand-over tickets and answer them"
    )
    telegram_staff_ids: tuple[int, ...] = Field(
        (), description="Telegram user ids allowed to take, answer and close tickets"
    )
    office_hours: str = Field(
        DEFAULT_HOURS, description="When staff answer (Vietnam time), e.g. Mon-Fri "
        "07:30-11:30,13:30-17:00; Sat 07:30-11:30"
    )
    office_holidays: tuple[dt.date, ...] = Field(
        (), description="Dates the office is closed (comma-separated YYYY-MM-DD)"
    )
    handoff_turns: int = Field(
        5, ge=0, le=20, description="Recent turns of the conversation sent to staff with a ticket"
    )
    handoff_close_days: int = Field(
        14, ge=1, le=365, description="Days after which a ticket still open is closed and the "
        "citizen's contact deleted"
    )
    zalo_reply_window_hours: float = Field(
        168, gt=0, le=24 * 30, description="Hours after a citizen's last Zalo message within "
        "which the OA may still send them a consultation message"
    )

    @field_validator("telegram_admin_ids", "zalo_admin_ids", "web_allowed_origins",
                     "telegram_staff_ids", "office_holidays", mode="before")
    @classmethod
    def _split_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("web_allowed_origins")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = []
        for origin in value:
            text = origin.strip().rstrip("/").lower()
            if not _ORIGIN.match(text):
                raise ValueError(f"{origin!r} is not an origin like https://dichvucong.example.vn")
            default_port = ":443" if text.startswith("https:") else ":80"
            cleaned.append(text.removesuffix(default_port))  # as browsers write an origin
        return tuple(cleaned)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(
                ("postgresql://", "postgres://")):
            raise ValueError("must start with postgresql:// (unset it to use SQLite)")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(
                ("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("office_hours")
    @classmethod
    def _office_hours(cls, value: str) -> str:
        OfficeHours.parse(value)  # ValueError says what is wrong
        return value

    @property
    def hours(self) -> OfficeHours:
        """OFFICE_HOURS and OFFICE_HOLIDAYS, parsed."""
        return OfficeHours.parse(self.office_hours, self.office_holidays)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "dvcbot.sqlite3"

    @property
    def store_target(self) -> str | Path:
        """Where the store lives: DATABASE_URL when set, else the SQLite file in DATA_DIR."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return self.db_path

    @property
    def store_missing(self) -> bool:
        """No store to read yet (SQLite only: a PostgreSQL database is created by migrations)."""
        return self.database_url is None and not self.db_path.exists()

    @property
    def telegram_enabled(self) -> bool:
        return self.telegram_bot_token is not None

    @property
    def zalo_enabled(self) -> bool:
        return bool(self.zalo_app_id and self.zalo_oa_secret_key)


def env_names() -> list[str]:
    """The environment variable names, in the order of the settings class."""
    return [name.upper() for name in Settings.model_fields]


def read_dotenv(path: Path) -> dict[str, str]:
    """Parse ``KEY=value`` lines; ``#`` comments and surrounding quotes are allowed."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def _local_key(data_dir: Path) -> str:
    """A random key kept beside the database, so pseudonyms stay stable across restarts."""
    path = data_dir / "pseudonym.key"
    if not path.exists():
        private_dir(data_dir)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip()


def load_settings(
    environ: Mapping[str, str] | None = None, dotenv: Path | None = Path(".env"), **overrides: Any
) -> Settings:
    """Read the settings once: ``.env`` first, the real environment wins, ``overrides`` win last."""
    source = dict(read_dotenv(dotenv)) if dotenv else {}
    source.update(os.environ if environ is None else environ)
    known = set(env_names())
    values: dict[str, Any] = {
        key.lower(): value for key, value in source.items() if key in known and value != ""
    }
    values.update(overrides)
    if not values.get("pseudonym_key"):
        values["pseudonym_key"] = _local_key(Path(values.get("data_dir") or "data"))
    try:
        return Settings(**values)
    except ValidationError as exc:
        lines = [
            f"{'.'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in exc.errors()
        ]
        raise ConfigError("invalid settings:\n  " + "\n  ".join(lines)) from None
