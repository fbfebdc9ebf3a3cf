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
from fastapi import Depends, FastAPI, File, Form, Header, HTTPException, Path, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from sse_starlette.sse import EventSourceResponse

from agent.service import queue
from agent.service.chat import MAX_MESSAGE_CHARS
from agent.service.config import ID_PATTERN, ServiceConfig, key_digest
from agent.service.images import ImageRejected
from agent.service.limits import BodyLimit
from agent.service.readiness import readiness
from agent.service.state import Service, erase, result_body, store_frame
from agent.settings import Settings
from tools.lines import TextLayer

log = logging.getLogger(__name__)

API_KEY_HEADER = "X-API-Key"
ShopperId = Annotated[str, Path(pattern=ID_PATTERN.pattern, description="the shop's own id for the shopper")]
DELETE_LOCK_WAIT_S = 5.0  # how long DELETE waits for a worker busy on the shopper before erasing anyway


class Message(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS, description="what the shopper wrote")


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
    depth = await service.pool.zcard(config.queue_name)  # Redis down: 503 by the app's handler of RedisError
    if depth >= config.max_queue:
        service.metrics.refused.labels("queue_full").inc()
        raise HTTPException(429, f"{depth} jobs are waiting; try again later",
                            headers={"Retry-After": str(config.retry_after_s)})


QUEUE_DOWN = "the queue (Redis) is unreachable, so the request was not carried out; try again in a few seconds"
QUEUE_DOWN_RETRY_S = 5


async def queue_down(request: Request, exc: redis_lib.RedisError) -> JSONResponse:
    """Any route that needs Redis while it is down or restarting: 503 with Retry-After and one clear sentence
    (the client is not told where Redis is; the log is)."""
    log.warning("%s %s: Redis unreachable: %s", request.method, request.url.path, exc)
    service_of(request).metrics.refused.labels("queue_down").inc()
    return JSONResponse({"detail": QUEUE_DOWN}, status_code=503, headers={"Retry-After": str(QUEUE_DOWN_RETRY_S)})


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
    app.add_exception_handler(redis_lib.RedisError, queue_down)

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        """The process answers (nothing else is checked; see /readyz)."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    def readyz(request: Request) -> JSONResponse:
        """Whether the queue, the stores and the catalog are reachable; 503 with what is not."""
        ready, checks = readiness(service_of(request))
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
            frame = await run_in_threadpool(store_frame, service, shop, shopper, data, layer, url, title, timestamp)
        except ImageRejected as exc:
            service.metrics.refused.labels("image").inc()
            raise HTTPException(exc.status, str(exc)) from exc
        service.metrics.frames_in.labels(shop).inc()
        body = {"frame_id": f"{shopper}/{frame.sequence}", "sequence": frame.sequence, "queued": False,
                "duplicate_of": None}
        sequence = frame.sequence
        if frame.duplicate_of is not None:
            service.metrics.duplicates.labels(shop).inc()
            sequence = int(frame.duplicate_of.rsplit(":", 1)[1])
            body["duplicate_of"] = f"{shopper}/{sequence}"
            if await run_in_threadpool(service.store.processed_upto, shop, shopper) >= sequence:
                return body
            # The original is not processed yet: make sure a job will cover it (none is added when one waits),
            # so a frame that was stored but not queued (Redis was down) is queued when the client sends it again.
        try:
            await service.pool.hsetnx(queue.arrivals_key(shop, shopper), str(sequence), repr(time.time()))
            job = None
            job_id = queue.job_id(shop, shopper, sequence)
            # One waiting job per shopper: it reads every frame stored by now, this one included.
            if await queue.claim_pending(service.pool, shop, shopper, job_id):
                job = await service.pool.enqueue_job("process_frame", shop, shopper, sequence, _job_id=job_id)
            else:
                service.metrics.coalesced.labels(shop).inc()
        except redis_lib.RedisError as exc:
            log.warning("frame %s/%s #%d stored, not queued: Redis unreachable: %s", shop, shopper, sequence, exc)
            raise HTTPException(503, "the frame was stored but could not be queued (the queue, Redis, is "
                                     "unreachable); send it again in a few seconds: the repeat is queued, not "
                                     "stored twice", headers={"Retry-After": str(QUEUE_DOWN_RETRY_S)}) from exc
        return {**body, "queued": frame.duplicate_of is None or job is not None}

    @app.get("/v1/shoppers/{shopper}/recommendations", tags=["shoppers"])
    def get_recommendations(request: Request, shopper: ShopperId, shop: Shop) -> dict[str, Any]:
        """The latest ranked list with its explanations and the summary it came from. ``status`` is pending (no
        result yet), updating (newer frames are being processed) or current."""
        return result_body(service_of(request), shop, shopper)

    @app.get("/v1/shoppers/{shopper}/events", tags=["shoppers"])
    async def events(request: Request, shopper: ShopperId, shop: Shop) -> EventSourceResponse:
        """Server-Sent Events: a ``recommendations`` event with the current result on connecting (when there is
        one), then one each time the recommendations change."""
        service = service_of(request)
        await run_in_threadpool(result_body, service, shop, shopper)  # 404 for an unknown shopper
        await service.pool.ping()  # Redis down: 503 now, rather than a stream that breaks at once

        async def stream():
            pubsub = service.pool.pubsub()
            sent = 0
            try:
                await pubsub.subscribe(queue.events_channel(shop, shopper))
                while True:
                    body = await run_in_threadpool(result_body, service, shop, shopper)
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
        await run_in_threadpool(result_body, service, shop, shopper)  # 404 for an unknown shopper
        await _check_queue_room(service)
        try:
            job = await service.pool.enqueue_job("chat_turn", shop, shopper, message.text)
            turn = await job.result(timeout=config.job_timeout_s, poll_delay=0.1)
        except TimeoutError as exc:
            raise HTTPException(504, f"no worker answered within {config.job_timeout_s:g} s") from exc
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
            return await run_in_threadpool(erase, service, shop, shopper)
        finally:
            if locked:
                await service.pool.eval(queue.RELEASE_LOCK, 1, key, token)
            await service.pool.delete(queue.arrivals_key(shop, shopper), queue.pending_key(shop, shopper))

    return BodyLimit(app, config.max_body_bytes)
