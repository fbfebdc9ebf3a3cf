"""`interarec serve`: the HTTP API of the recommendation service (FastAPI, served by uvicorn).

Every route under /v1 needs a shop's API key (header X-API-Key); the shop it belongs to scopes every shopper id,
so a key can only ever name its own shop's shoppers. Frames are checked, stored in the frame store and queued
(arq, in Redis) before POST answers 202; the workers (agent/service/worker.py) do the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from typing import Annotated, Any

import redis as redis_lib
from arq.connections import RedisSettings, create_pool
from fastapi import Depends, FastAPI, File, Form, Header, HTTPException, Path, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from sse_starlette.sse import EventSourceResponse

from agent.checkpointer import close_checkpointer, open_checkpointer
from agent.service import queue
from agent.service.chat import MAX_MESSAGE_CHARS
from agent.service.config import ID_PATTERN, ServiceConfig, key_digest
from agent.service.images import ImageRejected, check_image
from agent.service.limits import BodyLimit
from agent.service.metrics import ApiMetrics
from agent.service.store import ServiceStore
from agent.settings import Settings
from agent.wiring import forget_readings, open_frames
from tools.capture.privacy import redact_personal_details
from tools.lines import TextLayer

log = logging.getLogger(__name__)

API_KEY_HEADER = "X-API-Key"
ShopperId = Annotated[str, Path(pattern=ID_PATTERN.pattern, description="the shop's own id for the shopper")]
FORM_FIELD_TAGS = {"input", "textarea"}
DELETE_LOCK_WAIT_S = 5.0  # how long DELETE waits for a worker busy on the shopper before erasing anyway


class Message(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS, description="what the shopper wrote")


class Service:
    """What the routes share: the stores, the queue and the metrics (opened by the app's lifespan)."""

    def __init__(self, settings: Settings, config: ServiceConfig) -> None:
        self.settings, self.config = settings, config
        self.store = ServiceStore(settings.data_dir / "service.sqlite")
        self.frames = open_frames(settings)
        self.redis_sync = redis_lib.Redis.from_url(config.redis_url, decode_responses=True,
                                                   socket_timeout=5, socket_connect_timeout=2)
        self.metrics = ApiMetrics(self.redis_sync, config.queue_name)
        self.pool = None

    async def open(self) -> None:
        # The workers read config.queue_name, not arq's default queue: every job must go there.
        self.pool = await create_pool(RedisSettings.from_dsn(self.config.redis_url), retry=0,
                                      default_queue_name=self.config.queue_name)

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.aclose()
        self.redis_sync.close()
        self.frames.close()
        self.store.close()


def _result_body(service: Service, shop: str, shopper: str) -> dict[str, Any]:
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


def service_of(request: Request) -> Service:
    return request.app.state.service


def shop_of(request: Request, key: Annotated[str | None, Header(alias=API_KEY_HEADER)] = None) -> str:
    """The shop whose API key the request carries; 401 without a valid one."""
    service = service_of(request)
    shop = service.config.shop_of(key)
    if shop is None:
        service.metrics.refused.labels("api_key").inc()
        raise HTTPException(401, f"a valid API key is needed in the {API_KEY_HEADER} header")
    _rate_limit(service, key_digest(key))
    return shop


RATE_WINDOW_S = 60


def _rate_limit(service: Service, digest: str) -> None:
    """A fixed one-minute window per API key, counted in Redis so every API replica shares it; 429 with
    Retry-After (the seconds left in the window) past ``rate_per_minute``."""
    now = time.time()
    window = int(now // RATE_WINDOW_S)
    key = f"{queue.PREFIX}rate:{digest[:16]}:{window}"
    try:
        pipe = service.redis_sync.pipeline(transaction=True)
        pipe.incr(key)
        pipe.expire(key, 2 * RATE_WINDOW_S)
        count = pipe.execute()[0]
    except redis_lib.RedisError:
        return  # the queue is down: POST answers 503 on its own, reads still work
    if count > service.config.rate_per_minute:
        service.metrics.refused.labels("rate_limit").inc()
        retry = max(1, int((window + 1) * RATE_WINDOW_S - now) + 1)
        raise HTTPException(429, f"more than {service.config.rate_per_minute} requests a minute with this key",
                            headers={"Retry-After": str(retry)})


Shop = Annotated[str, Depends(shop_of)]


async def _check_queue_room(service: Service) -> None:
    """Back-pressure before any job is queued: 503 when the queue is unreachable, 429 with Retry-After when it
    holds ``max_queue`` jobs."""
    config = service.config
    try:
        depth = await service.pool.zcard(config.queue_name)
    except redis_lib.RedisError as exc:
        raise HTTPException(503, f"the queue is unreachable: {exc}") from exc
    if depth >= config.max_queue:
        service.metrics.refused.labels("queue_full").inc()
        raise HTTPException(429, f"{depth} jobs are waiting; try again later",
                            headers={"Retry-After": str(config.retry_after_s)})


def create_app(settings: Settings, config: ServiceConfig) -> BodyLimit:
    """The ASGI app: FastAPI wrapped in the request-size limit."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        service = Service(settings, config)
        await service.open()
        app.state.service = service
        try:
            yield
        finally:
            await service.close()

    app = FastAPI(title="InteraRec recommendation service", version="1", lifespan=lifespan,
                  description="Frames of a shopper's browsing in, ranked and explained recommendations out. "
                              f"Routes under /v1 need a shop's API key in the {API_KEY_HEADER} header.")

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        """The process answers (nothing else is checked; see /readyz)."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    def readyz(request: Request) -> JSONResponse:
        """Whether the queue, the stores and the catalog are reachable; 503 with what is not."""
        service = service_of(request)
        checks: dict[str, Any] = {}
        try:
            service.redis_sync.ping()
            checks["queue"] = {"ok": True, "depth": service.redis_sync.zcard(config.queue_name)}
            workers = queue.live_workers(service.redis_sync)
        except redis_lib.RedisError as exc:
            checks["queue"], workers = {"ok": False, "error": str(exc)}, []
        try:
            service.store.ping()
            service.frames.frames("-readyz-")  # a query on the frame database (no such session: no rows)
            checks["stores"] = {"ok": True, "results": str(service.store.path), "frames": str(settings.frames_path)}
        except Exception as exc:
            checks["stores"] = {"ok": False, "error": str(exc)}
        checks["catalog"] = _catalog_check(settings, workers)
        checks["workers"] = {"ok": True, "alive": len(workers)}  # none alive: frames wait in the queue
        ready = all(check["ok"] for check in checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    @app.get("/metrics", tags=["operations"])
    def metrics(request: Request) -> Response:
        """Prometheus text format."""
        return Response(generate_latest(service_of(request).metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.post("/v1/shoppers/{shopper}/frames", status_code=202, tags=["shoppers"])
    async def post_frame(request: Request, shopper: ShopperId, shop: Shop,
                         image: Annotated[UploadFile, File(description="the viewport screenshot, PNG or JPEG")],
                         url: Annotated[str, Form(max_length=2048, description="the page's URL")],
                         timestamp: Annotated[float | None, Form(description="capture time, Unix seconds")] = None,
                         title: Annotated[str, Form(max_length=1024)] = "",
                         text_layer: Annotated[str | None, Form(description="the page's text layer, JSON "
                                                                "(tools/lines.py TextLayer)")] = None):
        """Store one frame and queue it; 202 at once. A duplicate of one of the shopper's earlier frames is
        acknowledged (``duplicate_of``) and not processed again. 429 with Retry-After when the queue is full."""
        service = service_of(request)
        await _check_queue_room(service)
        if image.content_type not in ("image/png", "image/jpeg"):
            service.metrics.refused.labels("content_type").inc()
            raise HTTPException(415, f"the image part is {image.content_type!r}; send image/png or image/jpeg")
        data = await image.read()
        layer = None
        if text_layer:
            try:
                layer = TextLayer.loads(text_layer)
            except ValueError as exc:
                service.metrics.refused.labels("text_layer").inc()
                raise HTTPException(422, f"text_layer is not a text layer: {str(exc)[:200]}") from exc
        try:
            frame = await run_in_threadpool(_store_frame, service, shop, shopper, data, layer, url, title, timestamp)
        except ImageRejected as exc:
            service.metrics.refused.labels("image").inc()
            raise HTTPException(exc.status, str(exc)) from exc
        service.metrics.frames_in.labels(shop).inc()
        body = {"frame_id": f"{shopper}/{frame.sequence}", "sequence": frame.sequence, "queued": False,
                "duplicate_of": None}
        if frame.duplicate_of is not None:
            service.metrics.duplicates.labels(shop).inc()
            return {**body, "duplicate_of": f"{shopper}/{frame.duplicate_of.rsplit(':', 1)[1]}"}
        try:
            await service.pool.hset(queue.arrivals_key(shop, shopper), str(frame.sequence), repr(time.time()))
            await service.pool.enqueue_job("process_frame", shop, shopper, frame.sequence,
                                           _job_id=queue.job_id(shop, shopper, frame.sequence))
        except redis_lib.RedisError as exc:  # stored but not queued: the shopper's next frame covers it
            raise HTTPException(503, f"the frame was stored but the queue is unreachable: {exc}") from exc
        return {**body, "queued": True}

    @app.get("/v1/shoppers/{shopper}/recommendations", tags=["shoppers"])
    def get_recommendations(request: Request, shopper: ShopperId, shop: Shop) -> dict[str, Any]:
        """The latest ranked list with its explanations and the summary it came from. ``status`` is pending (no
        result yet), updating (newer frames are being processed) or current."""
        return _result_body(service_of(request), shop, shopper)

    @app.get("/v1/shoppers/{shopper}/events", tags=["shoppers"])
    async def events(request: Request, shopper: ShopperId, shop: Shop) -> EventSourceResponse:
        """Server-Sent Events: a ``recommendations`` event with the current result on connecting (when there is
        one), then one each time the recommendations change."""
        service = service_of(request)
        await run_in_threadpool(_result_body, service, shop, shopper)  # 404 for an unknown shopper

        async def stream():
            pubsub = service.pool.pubsub()
            await pubsub.subscribe(queue.events_channel(shop, shopper))
            sent = 0
            try:
                while True:
                    body = await run_in_threadpool(_result_body, service, shop, shopper)
                    if body["version"] > sent:
                        sent = body["version"]
                        yield {"event": "recommendations", "id": str(sent), "data": json.dumps(body)}
                    if await request.is_disconnected():
                        return
                    await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            except HTTPException:  # the shopper was erased meanwhile
                yield {"event": "erased", "data": json.dumps({"shopper": shopper})}
            except redis_lib.RedisError as exc:  # the queue went away: end the stream; the client reconnects
                log.warning("events of %s/%s: Redis unreachable: %s", shop, shopper, exc)
            finally:
                with contextlib.suppress(redis_lib.RedisError):
                    await pubsub.aclose()

        return EventSourceResponse(stream(), ping=15)

    @app.post("/v1/shoppers/{shopper}/messages", tags=["shoppers"])
    async def post_message(request: Request, shopper: ShopperId, shop: Shop, message: Message) -> dict[str, Any]:
        """One chat turn against the shopper's state (their frames and their own chat thread), answered by the
        chat agent on a worker: ``answer``, ``tool_calls``, ``recommendations``, ``constraints``, ``turn``.
        404 before the shopper's first frame; 504 when no worker answered within the job timeout."""
        service = service_of(request)
        await run_in_threadpool(_result_body, service, shop, shopper)  # 404 for an unknown shopper
        await _check_queue_room(service)
        try:
            job = await service.pool.enqueue_job("chat_turn", shop, shopper, message.text)
            turn = await job.result(timeout=config.job_timeout_s, poll_delay=0.1)
        except TimeoutError as exc:
            raise HTTPException(504, f"no worker answered within {config.job_timeout_s:g} s") from exc
        except redis_lib.RedisError as exc:
            raise HTTPException(503, f"the queue is unreachable: {exc}") from exc
        if turn.get("error") == "erased":
            raise HTTPException(404, f"no shopper {shopper!r} in shop {shop!r}")
        return {"shopper": shopper, **turn}

    @app.delete("/v1/shoppers/{shopper}", tags=["shoppers"])
    async def delete_shopper(request: Request, shopper: ShopperId, shop: Shop) -> dict[str, Any]:
        """Erase every frame, text layer, summary, result and chat checkpoint of the shopper; says what went."""
        service = service_of(request)
        key, token = queue.lock_key(shop, shopper), uuid.uuid4().hex
        deadline = time.monotonic() + DELETE_LOCK_WAIT_S
        locked = False
        while not (locked := bool(await service.pool.set(key, token, nx=True, px=30_000))):
            if time.monotonic() > deadline:
                break  # a worker still busy commits nothing for an erased shopper (store.commit checks)
            await asyncio.sleep(0.1)
        try:
            return await run_in_threadpool(_erase, service, shop, shopper)
        finally:
            if locked:
                await service.pool.eval(queue.RELEASE_LOCK, 1, key, token)
            await service.pool.delete(queue.arrivals_key(shop, shopper))

    return BodyLimit(app, config.max_body_bytes)


def _store_frame(service: Service, shop: str, shopper: str, data: bytes, layer: TextLayer | None, url: str,
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


def _erase(service: Service, shop: str, shopper: str) -> dict[str, Any]:
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


def _catalog_check(settings: Settings, workers: list[dict]) -> dict[str, Any]:
    """With a Chroma server, its heartbeat; with the embedded store (opened by the workers only, one process
    each), what the live workers reported."""
    if settings.chroma_url:
        import httpx

        try:
            httpx.get(f"{settings.chroma_url.rstrip('/')}/api/v2/heartbeat", timeout=2).raise_for_status()
            return {"ok": True, "server": settings.chroma_url}
        except httpx.HTTPError as exc:
            return {"ok": False, "server": settings.chroma_url, "error": str(exc)}
    counts = [w.get("catalog_products", 0) for w in workers]
    if not workers:
        return {"ok": True, "embedded": str(settings.catalog_path), "note": "no worker has opened it yet"}
    return {"ok": all(c > 0 for c in counts), "embedded": str(settings.catalog_path), "products": max(counts)}
