"""The one settings object, and the only reader of the environment.

Precedence: command-line flag > environment (``INTERAREC_*``) > config file (TOML) > default.
The config file is ``$INTERAREC_CONFIG`` or ``<user config dir>/interarec/config.toml``.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import platformdirs
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

ENV_PREFIX = "INTERAREC_"
DEFAULT_DATA_DIR = Path(platformdirs.user_data_dir("interarec"))
DEFAULT_CONFIG_FILE = Path(platformdirs.user_config_dir("interarec")) / "config.toml"


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names the variable and the flag."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", validate_default=True)

    data_dir: Path = Field(DEFAULT_DATA_DIR, description="Where the catalog store and screenshots live")
    catalog_dir: Path | None = Field(None, description="Chroma store directory (default: DATA_DIR/catalog)")
    chroma_url: str | None = Field(
        None, description="A `chroma run` server, e.g. http://127.0.0.1:8000; unset = the embedded store")
    checkpoint_url: str | None = Field(
        None, description="PostgreSQL server for chat memory, e.g. postgresql://user:password@host:5432/db; "
                          "unset = SQLite in DATA_DIR/chat.sqlite")
    frames_dir: Path | None = Field(None, description="Screenshot database (default: DATA_DIR/frames)")
    chromium_path: Path = Field(Path("/usr/bin/chromium"), description="The Chromium binary Playwright drives")
    chromium_args: list[str] = Field(default_factory=list, description="Extra Chromium command-line switches")
    viewport_width: int = Field(1280, ge=320, le=3840)
    viewport_height: int = Field(800, ge=240, le=2160)
    headless: bool = True
    navigation_timeout_s: float = Field(15.0, gt=0, le=120)
    capture_rate_hz: float = Field(2.0, gt=0, le=30, description="Interval captures per second while dwelling")
    pace_s: float = Field(0.5, ge=0, le=60, description="Seconds a scripted shopper lingers after each step")
    near_duplicate_bits: int = Field(8, ge=0, le=128, description="Perceptual-hash distance counted as a duplicate")
    redact_personal_details: bool = Field(
        True, description="Blur the shopper's name, address and e-mail a page shows before a screenshot is stored")
    retention_days: float | None = Field(None, gt=0, description="Delete sessions older than this at start-up")
    allowed_origins: list[str] = Field(default_factory=list, description="Extra origins the browser may open")
    k: int = Field(5, ge=1, le=50, description="How many products to recommend")
    price_tolerance: float = Field(0.15, ge=0, le=2, description="Widening of the browsed price band")
    solver_time_limit_s: float = Field(5.0, gt=0, le=300)
    chat_max_steps: int = Field(12, ge=3, le=100, description="Graph steps one chat turn may take")
    redis_url: str = Field("redis://127.0.0.1:6379/0", description="The service's queue (interarec serve/worker)")
    service_keys: str | None = Field(None, description="The service's API keys: 'shop=key' pairs, one per line")
    service_keys_file: Path | None = Field(None, description="A file of the service's 'shop=key' pairs")
    service_max_queue: int | None = Field(None, ge=1, description="Frames the service queue holds before 429")
    service_frame_timeout_s: float | None = Field(
        None, gt=0, le=3600, description="One frame's processing on a worker before it counts as failed (default 60)")
    service_frame_retries: int | None = Field(
        None, ge=0, le=100, description="Retries of a frame that failed or timed out before it is given up (default 3)")
    server_key: str | None = Field(None, description="The shop's API key `interarec watch --server` sends")
    onnx_threads: int | None = Field(
        None, ge=1, le=256, description="onnxruntime threads of each model session (OCR, embedder); unset = "
                                        "onnxruntime's default for OCR (one per core), 2 for the embedder")
    session_model_path: Path | None = Field(
        None, description="Session model file for re-ranking (default: DATA_DIR/session-models/catalog.json)")
    openai_base_url: str | None = Field(None, description="OpenAI-compatible endpoint; unset = offline")
    openai_api_key: str | None = Field(None, description="Key for the endpoint (any string for local servers)")
    vision_model: str | None = Field(None, description="Vision model name for the MLLM summariser")
    chat_model: str | None = Field(None, description="Chat model name for the agent")
    vision_max_pixels: int = Field(640_000, ge=10_000, le=10_000_000, description="Pixel budget per screenshot")
    request_timeout_s: float = Field(120.0, gt=0, le=900, description="Timeout of one endpoint request")

    @field_validator("openai_base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value or None

    @field_validator("chroma_url")
    @classmethod
    def _chroma_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value.strip())
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"{value!r} has an invalid port (expected e.g. http://127.0.0.1:8000)") from None
        if parts.scheme not in ("http", "https") or not parts.hostname or port is None:
            raise ValueError(f"{value!r} must be http:// or https://, a host and a port, e.g. http://127.0.0.1:8000")
        if parts.path.strip("/") or parts.query or parts.fragment or parts.username or parts.password:
            raise ValueError(f"{value!r} must be only scheme, host and port, e.g. http://127.0.0.1:8000")
        return f"{parts.scheme}://{parts.netloc}"

    @field_validator("checkpoint_url")
    @classmethod
    def _checkpoint_url(cls, value: str | None) -> str | None:
        if not value or not value.strip():
            return None
        value = value.strip()
        if not value.startswith(("postgresql://", "postgres://")):
            scheme = urlsplit(value).scheme  # only the scheme is shown: the URL may hold a password
            given = f"{scheme}:" if scheme else "no scheme"
            raise ValueError(f"must start with postgresql:// or postgres:// (not {given}), "
                             "e.g. postgresql://user:password@127.0.0.1:5432/interarec")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=config_file())

    @property
    def catalog_path(self) -> Path:
        return self.catalog_dir or self.data_dir / "catalog"

    @property
    def frames_path(self) -> Path:
        return self.frames_dir or self.data_dir / "frames"

    @property
    def session_model_file(self) -> Path:
        return self.session_model_path or self.data_dir / "session-models" / "catalog.json"

    @property
    def uses_endpoint(self) -> bool:
        return self.openai_base_url is not None


def config_file() -> Path:
    """The TOML config file read: ``$INTERAREC_CONFIG`` or the user config dir's ``interarec/config.toml``."""
    return Path(os.environ.get(f"{ENV_PREFIX}CONFIG", DEFAULT_CONFIG_FILE))


# Settings that the run commands also take as flags (agent/cli/main.py); the rest come from env or the file.
CLI_FLAGS = frozenset({"data_dir", "chroma_url", "checkpoint_url", "k", "openai_base_url", "openai_api_key",
                       "vision_model", "chat_model"})


def flag_name(field: str) -> str:
    return "--" + field.replace("_", "-")


def _where_to_set(field: str) -> str:
    flag = f" or {flag_name(field)}" if field in CLI_FLAGS else ""
    return f"set {ENV_PREFIX}{field.upper()}{flag}, or `{field} = ...` in {config_file()}"


def load_settings(**flags: Any) -> Settings:
    """Settings from flags (``None`` means not given), the environment, the config file and defaults."""
    given = {name: value for name, value in flags.items() if value is not None}
    try:
        settings = Settings(**given)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "?"
        if err["type"] == "extra_forbidden":
            known = ", ".join(sorted(Settings.model_fields))
            raise SettingsError(f"unknown setting {field!r} (in {config_file()}); known settings: {known}") from exc
        raise SettingsError(f"invalid setting {field}: {err['msg']} ({_where_to_set(field)})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"config file {config_file()} is not valid TOML: {exc} (fix it or set "
                            f"{ENV_PREFIX}CONFIG to another file)") from exc
    if settings.uses_endpoint and not (settings.vision_model or settings.chat_model):
        raise SettingsError(
            f"{ENV_PREFIX}OPENAI_BASE_URL is set but no model is: set {ENV_PREFIX}VISION_MODEL "
            f"(--vision-model) and/or {ENV_PREFIX}CHAT_MODEL (--chat-model)"
        )
    if settings.uses_endpoint and not settings.openai_api_key:
        raise SettingsError(
            f"{ENV_PREFIX}OPENAI_BASE_URL is set but {ENV_PREFIX}OPENAI_API_KEY is not (--openai-api-key); "
            "local servers accept any value, e.g. 'local'"
        )
    return settings
