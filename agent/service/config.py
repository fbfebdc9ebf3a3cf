"""The service's own settings: where Redis is, the shops' API keys and the limits. From flags and the
settings (agent/settings.py: ``INTERAREC_SERVICE_*``, ``INTERAREC_REDIS_URL`` in the environment)."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from agent.settings import Settings, load_settings

DEFAULT_REDIS_URL = Settings.model_fields["redis_url"].default
QUEUE_NAME = "interarec:frames"  # the arq queue (a Redis sorted set)
ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")  # shop and shopper ids: safe in keys, paths and URLs


class ServiceConfigError(ValueError):
    """The service cannot start with this configuration; the message says what to fix."""


def key_digest(key: str) -> str:
    """Keys are kept and compared as digests, so a dump of the configuration in memory shows no key."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class ServiceConfig:
    redis_url: str = DEFAULT_REDIS_URL
    queue_name: str = QUEUE_NAME
    api_keys: dict[str, str] = field(default_factory=dict)  # digest of a key -> its shop
    max_body_bytes: int = 8 * 1024 * 1024  # one frame's request, image and text layer together
    max_side_px: int = 8192
    max_pixels: int = 40_000_000  # a 4K viewport is 8.3 MP; a 20000x20000 image is refused before decoding
    max_queue: int = 1000  # frames waiting in the queue before POST answers 429
    retry_after_s: int = 2
    rate_per_minute: int = 6000  # requests per API key per minute (50 shoppers at a frame every 2 s use 1500)
    job_timeout_s: float = 60.0  # one frame's processing (or one chat turn) before it counts as failed
    frame_retries: int = 3  # a frame that failed or timed out is tried again this many times, then given up
    lock_retry_s: float = 0.2  # how soon a frame whose shopper is busy on another worker is tried again
    catalog_retry_s: float = 2.0  # how often a frame waiting for the catalog to come back is tried
    redis_wait_s: float = 300.0  # how long a worker rides out Redis being unreachable before it exits

    @property
    def claim_s(self) -> float:
        """arq's time limit on one job: the job's own timeout plus room for taking the lock and the catalog check.
        A worker killed mid-job keeps its claim (arq's in-progress key) and the shopper's lock for claim_s + 10 s;
        then another worker runs the job."""
        return self.job_timeout_s + 5.0

    def shop_of(self, key: str | None) -> str | None:
        return self.api_keys.get(key_digest(key)) if key else None


def parse_keys(text: str) -> dict[str, str]:
    """``shop=key`` pairs separated by commas or new lines, or a JSON object ``{"shop": "key" | ["k1", "k2"]}``;
    returns digest -> shop."""
    text = text.strip()
    pairs: list[tuple[str, str]] = []
    if text.startswith("{"):
        for shop, keys in json.loads(text).items():
            pairs += [(shop, k) for k in ([keys] if isinstance(keys, str) else keys)]
    else:
        for item in re.split(r"[,\n]", text):
            if item.strip():
                shop, sep, key = item.strip().partition("=")
                if not sep:
                    raise ServiceConfigError(f"an API key entry must be shop=key, not {item.strip()[:20]!r}...")
                pairs.append((shop.strip(), key.strip()))
    keys: dict[str, str] = {}
    for shop, key in pairs:
        if not ID_PATTERN.match(shop):
            raise ServiceConfigError(f"shop id {shop!r} must be 1-64 letters, digits, '.', '_' or '-'")
        if len(key) < 16:
            raise ServiceConfigError(f"the API key of shop {shop!r} is shorter than 16 characters")
        if keys.setdefault(key_digest(key), shop) != shop:
            raise ServiceConfigError("one API key is given to two shops")
    return keys


def load_service_config(settings: Settings | None = None, *, redis_url: str | None = None,
                        keys_file: str | None = None, **limits) -> ServiceConfig:
    """Flags win over the settings (environment: INTERAREC_REDIS_URL, INTERAREC_SERVICE_KEYS (the pairs themselves)
    or INTERAREC_SERVICE_KEYS_FILE (a file holding them), INTERAREC_SERVICE_MAX_QUEUE,
    INTERAREC_SERVICE_FRAME_TIMEOUT_S, INTERAREC_SERVICE_FRAME_RETRIES)."""
    settings = settings or load_settings()
    keys_text = settings.service_keys or ""
    path = keys_file or settings.service_keys_file
    if path:
        try:
            keys_text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ServiceConfigError(f"cannot read the API keys file {path}: {exc.strerror}") from exc
    from_settings = {"max_queue": settings.service_max_queue, "job_timeout_s": settings.service_frame_timeout_s,
                     "frame_retries": settings.service_frame_retries}
    for name, setting in from_settings.items():
        if limits.get(name) is None and setting is not None:
            limits[name] = setting
    return ServiceConfig(redis_url=redis_url or settings.redis_url,
                         api_keys=parse_keys(keys_text) if keys_text.strip() else {},
                         **{k: v for k, v in limits.items() if v is not None})
