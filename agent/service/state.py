"""What the API's routes share and do to a shopper's state: the stores, the queue and the metrics of one API
process (class Service), and the state operations that need no HTTP: a shopper's current result, storing a
posted frame (checked, masked), erasing a shopper."""

from __future__ import annotations

from typing import Any

import redis as redis_lib
from arq.connections import RedisSettings, create_pool
from fastapi import HTTPException
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff
from redis.retry import Retry as SyncRetry

from agent.checkpointer import close_checkpointer, open_checkpointer
from agent.service import queue
from agent.service.config import ServiceConfig
from agent.service.images import check_image
from agent.service.metrics import ApiMetrics
from agent.service.store import ServiceStore
from agent.settings import Settings
from agent.wiring import forget_readings, open_frames
from tools.capture.privacy import redact_personal_details
from tools.lines import TextLayer

FORM_FIELD_TAGS = {"input", "textarea"}


class Service:
    """What the routes share: the stores, the queue and the metrics (opened by the app's lifespan)."""

    def __init__(self, settings: Settings, config: ServiceConfig) -> None:
        self.settings, self.config = settings, config
        self.store = ServiceStore(settings.data_dir / "service.sqlite")
        self.frames = open_frames(settings)
        # One quick retry: after a Redis restart the first command on a stale connection fails and a new one
        # works; a Redis that is down still fails within a second (503).
        self.redis_sync = redis_lib.Redis.from_url(config.redis_url, decode_responses=True,
                                                   socket_timeout=5, socket_connect_timeout=2,
                                                   retry=SyncRetry(ExponentialBackoff(cap=0.5, base=0.1), 2),
                                                   retry_on_error=queue.RETRIED_ERRORS)
        self.metrics = ApiMetrics(self.redis_sync, config.queue_name)
        self.pool = None

    async def open(self) -> None:
        # The workers read config.queue_name, not arq's default queue: every job must go there.
        redis_settings = RedisSettings.from_dsn(self.config.redis_url)
        redis_settings.retry = AsyncRetry(ExponentialBackoff(cap=0.5, base=0.1), 2)
        redis_settings.retry_on_error = queue.RETRIED_ERRORS
        self.pool = await create_pool(redis_settings, retry=0, default_queue_name=self.config.queue_name)

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.aclose()
        self.redis_sync.close()
        self.frames.close()
        self.store.close()


def result_body(service: Service, shop: str, shopper: str) -> dict[str, Any]:
    owner = service.store.shopper(shop, shopper)
    if owner is None:
        raise HTTPException(404, f"no shopper {shopper!r} in shop {shop!r}")
    frames = service.frames.frames(owner.session_id)
    result = service.store.result(shop, shopper)
    body: dict[str, Any] = {"shopper": shopper, "frames": len(frames),
                            "last_frame": frames[-1].sequence if frames else None}
    if result is None:
        return {**body, "status": "pending", "version": 0, "processed_upto": -1, "summary": None,
                "recommendations": [], "unmet": []}
    latest = body["last_frame"]
    return {**body, "status": "current" if latest is None or result.processed_upto >= latest else "updating",
            "version": result.version, "processed_upto": result.processed_upto, "summary": result.summary,
            "recommendations": result.recommendations, "unmet": result.unmet, "updated_at": result.updated_at}


def store_frame(service: Service, shop: str, shopper: str, data: bytes, layer: TextLayer | None, url: str,
                 title: str, timestamp: float | None):
    config, settings = service.config, service.settings
    checked = check_image(data, max_side_px=config.max_side_px, max_pixels=config.max_pixels)
    suffix = checked.suffix
    if layer is not None and any(line.tag in FORM_FIELD_TAGS for line in layer.lines):
        # Our capture never reads form fields (what a shopper types: passwords, cards, addresses); a client's
        # text layer gets the same rule, whatever its masking did.
        layer = layer.model_copy(update={"lines": [ln for ln in layer.lines if ln.tag not in FORM_FIELD_TAGS]})
    if layer is not None and settings.redact_personal_details:  # the capture's masking rule, for clients too
        redacted, lines, count = redact_personal_details(data, layer.lines)
        if count:
            data, suffix = redacted, ".png"
            layer = layer.model_copy(update={"lines": lines})
    owner = service.store.shopper(shop, shopper)
    if owner is None:
        session_id = service.frames.new_session(source=f"service:{queue.scope(shop, shopper)}")
        owner = service.store.add_shopper(shop, shopper, session_id)
        if owner.session_id != session_id:  # another request created the shopper first
            service.frames.delete_session(session_id)
    return service.frames.add(owner.session_id, data, url=url, title=title, captured_at=timestamp, suffix=suffix,
                              text_layer=layer, reason="posted")


def erase(service: Service, shop: str, shopper: str) -> dict[str, Any]:
    owner = service.store.shopper(shop, shopper)
    if owner is None:
        raise HTTPException(404, f"no shopper {shopper!r} in shop {shop!r}")
    frames = service.frames.frames(owner.session_id)
    text_layers = sum(1 for f in frames if f.duplicate_of is None
                      and service.frames.text_layer_path(f.sha256).exists())
    rows = service.store.erase(shop, shopper)
    images = service.frames.delete_session(owner.session_id, forget=forget_readings(service.settings))
    checkpointer = open_checkpointer(service.settings)
    try:
        checkpointer.delete_thread(queue.chat_thread_id(shop, shopper))
    finally:
        close_checkpointer(checkpointer)
    return {"shopper": shopper, "deleted": {"frames": len(frames), "image_files": images, "text_layers": text_layers,
                                            "summary_and_recommendations": rows["summary_and_recommendations"],
                                            "ocr_cache": "entries of the deleted images",
                                            "chat_checkpoint": queue.chat_thread_id(shop, shopper)}}
