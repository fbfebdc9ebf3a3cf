"""`interarec worker`: one arq worker that turns queued frames into recommendations.

A shopper has at most one job waiting at a time (queue.CLAIM_PENDING): a frame posted while one waits queues
none, since that job reads every frame stored before it starts. A job takes its shopper's lock in Redis (so no two
workers work on one shopper), drops the shopper's pending marker (from then on a new frame queues a new job),
reads every frame of the shopper stored so far, runs the pipeline from summarise on (agent/pipeline.py) and
commits the result with the sequence of the newest frame it covered. Results therefore follow the frames in
order and never go back; a job that finds the newest frame covered already acknowledges at once. A job returns,
which is when arq removes it from the queue, only after its result is committed: a worker killed mid-frame
leaves the job in the queue, and arq gives it to another worker once the dead one's claim expires
(``ServiceConfig.claim_s`` + 10 s); its lock expires at the same time.

Failures are handled here, not by arq: arq retries a job only when it raises ``Retry`` (or is cancelled), and
its own timeout ends a job for good (the frame would be dropped). So a frame has its own timeout
(``job_timeout_s``); one that raised or timed out is retried ``frame_retries`` times with a growing delay, then
given up (counted; the shopper's next frame covers it). A frame that finds the catalog unreachable waits for it
without using up its retries. Redis going away is ridden out for ``redis_wait_s`` (the connection retries).
A worker started while the catalog does not answer waits for it before it takes any job: its heartbeat (and so
/readyz) says the catalog is not ready, and the frames stay queued."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
import time
from typing import Any

import httpx
import redis as redis_lib
from arq import Retry
from arq.connections import RedisSettings
from arq.worker import Worker, func
from redis.backoff import ExponentialBackoff

from agent.pipeline import build_graph
from agent.service import queue
from agent.service.catalog_cache import CachedSearches
from agent.service.chat import chat_turn
from agent.service.config import ServiceConfig
from agent.service.store import ServiceStore
from agent.settings import Settings
from agent.wiring import Runtime, build_runtime
from catalog.store import CatalogError

log = logging.getLogger(__name__)

CHAT_RESULT_KEEP_S = 300
MAX_TRIES = 100_000  # a job waiting for its shopper's lock is retried, not failed; real failures are few


def service_store(settings: Settings) -> ServiceStore:
    return ServiceStore(settings.data_dir / "service.sqlite")


def compute(ctx: dict[str, Any], shop: str, shopper: str) -> dict[str, Any] | None:
    """Under the shopper's lock: the result over every stored frame, committed; None when there is nothing to do
    (the shopper was erased, or their newest frame is covered already)."""
    runtime, store = ctx["runtime"], ctx["store"]
    started = time.perf_counter()
    owner = store.shopper(shop, shopper)
    if owner is None:
        return None
    frames = runtime.frames.frames(owner.session_id)
    before = store.result(shop, shopper)  # read once: under the shopper's lock only an erase can change it
    if not frames or (before is not None and before.processed_upto >= frames[-1].sequence):
        return None
    stages = {"read": time.perf_counter() - started}
    state = ctx["graph"].invoke({"session_id": owner.session_id, "frame_ids": [f.frame_id for f in frames],
                                 "timings": {}}, {"recursion_limit": 10})
    stages.update(state.get("timings", {}))
    upto = frames[-1].sequence
    mark = time.perf_counter()
    result = store.commit(shop, shopper, owner.session_id, upto, state["summary"], state["recommendations"],
                          state.get("unmet", []))
    if result is None:
        return None
    stages["commit"] = time.perf_counter() - mark
    mark = time.perf_counter()
    redis_sync = ctx["redis_sync"]
    covered = queue.record_covered(redis_sync, shop, shopper, upto, now=result.updated_at)
    if before is None or result.version != before.version:  # the recommendations or summary changed
        redis_sync.publish(queue.events_channel(shop, shopper),
                           json.dumps({"version": result.version, "processed_upto": upto}))
    stages["redis"] = time.perf_counter() - mark
    # The stages are what benchmarks/serve.py adds up to say where a worker's time goes.
    log.info("%s/%s: frames up to #%d (%d new) in %.2f s, version %d; stages: %s", shop, shopper, upto, covered,
             time.perf_counter() - started, result.version,
             " ".join(f"{name}={seconds:.3f}" for name, seconds in stages.items()))
    return {"upto": upto, "version": result.version, "covered": covered}


async def process_frame(ctx: dict[str, Any], shop: str, shopper: str, sequence: int) -> str:
    """The arq job of a shopper's frames (queued by frame ``sequence``; it covers every frame stored before it
    reads them). It decides nothing before it has dropped the pending marker: a frame posted meanwhile counted on
    this job to read it."""
    config: ServiceConfig = ctx["config"]
    redis = ctx["redis"]
    # Checked per job, not taken from the heartbeat: with the worker's search cache a run could otherwise finish
    # from remembered answers while the catalog is down, and frames are to wait for it (about 1 ms embedded).
    if not await catalog_reachable(ctx):
        log.warning("%s/%s #%d waits: the catalog is unreachable", shop, shopper, sequence)
        raise Retry(defer=config.catalog_retry_s)  # waiting is not failing: the frame keeps its retries
    try:
        async with queue.shopper_lock(redis, shop, shopper, config.claim_s, config.lock_retry_s):
            await queue.release_pending(redis, shop, shopper, ctx.get("job_id", ""))
            outcome = await asyncio.wait_for(asyncio.to_thread(compute, ctx, shop, shopper), config.job_timeout_s)
    except Retry:
        raise
    except Exception as exc:
        return await _failed(ctx, shop, shopper, sequence, exc)
    await redis.delete(queue.failures_key(ctx.get("job_id", "")))
    return "processed" if outcome else "covered"


async def _failed(ctx: dict[str, Any], shop: str, shopper: str, sequence: int, exc: Exception) -> str:
    """A try of a frame raised or timed out: retry it later (Retry), or give it up after ``frame_retries``."""
    config: ServiceConfig = ctx["config"]
    redis = ctx["redis"]
    why = f"timed out after {config.job_timeout_s:g} s" if isinstance(exc, TimeoutError) else \
        f"{type(exc).__name__}: {str(exc)[:300]}"
    if not await catalog_reachable(ctx):  # the catalog went away during the frame: wait for it
        log.warning("%s/%s #%d waits: the catalog is unreachable (%s)", shop, shopper, sequence, why)
        raise Retry(defer=config.catalog_retry_s) from exc
    key = queue.failures_key(ctx.get("job_id", ""))
    failures = await redis.incr(key)
    await redis.expire(key, 86_400)
    await redis.hincrby(queue.METRICS, "failed", 1)
    if failures <= config.frame_retries:
        delay = min(30.0, 2.0 ** failures)
        log.warning("%s/%s #%d: try %d failed (%s); again in %g s", shop, shopper, sequence, failures, why, delay)
        raise Retry(defer=delay) from exc
    log.error("%s/%s #%d given up after %d failed tries (%s)", shop, shopper, sequence, failures, why)
    await redis.hincrby(queue.METRICS, "given_up", 1)
    await redis.delete(key)
    return "given up"


CATALOG_CHECK_S = 3.0


def _catalog_answers(runtime: Runtime | None, settings: Settings) -> bool:
    if settings.chroma_url:  # the server's heartbeat: quick, and bounded (Chroma's own client waits unbounded)
        try:
            httpx.get(f"{settings.chroma_url.rstrip('/')}/api/v2/heartbeat", timeout=CATALOG_CHECK_S
                      ).raise_for_status()
            return True
        except httpx.HTTPError:
            return False
    if runtime is None:  # the embedded store is not open yet (the worker is still waiting for it)
        return False
    try:
        return runtime.store.count() > 0
    except CatalogError:  # the store's own errors (locked, damaged, unreadable) come as CatalogError
        return False


async def catalog_reachable(ctx: dict[str, Any]) -> bool:
    try:
        ok = await asyncio.wait_for(asyncio.to_thread(_catalog_answers, ctx.get("runtime"), ctx["settings"]),
                                    CATALOG_CHECK_S + 1)
    except TimeoutError:
        ok = False
    return ok


def _open_runtime(settings: Settings) -> Runtime:
    runtime = build_runtime(settings)
    try:
        runtime.store.load_filter_index()
    except BaseException:
        runtime.close()
        raise
    return runtime


async def runtime_when_catalog_answers(settings: Settings, retry_s: float, identity: dict[str, Any]) -> Runtime:
    """The worker's runtime, built once the catalog answers: a catalog server that is down (or an embedded store
    another process holds) is waited for, said once on stderr (and again when the reason changes) and in the
    worker's heartbeat (``identity``: its state and why)."""
    said = None
    while True:
        try:
            runtime = await asyncio.to_thread(_open_runtime, settings)
        except CatalogError as exc:
            reason = str(exc).splitlines()[0]
            if reason != said:
                print(f"interarec worker: catalog not ready, waiting (tried every {retry_s:g} s): {reason}",
                      file=sys.stderr, flush=True)
                said = reason
                identity.update(state=queue.WAITING_FOR_CATALOG, why=reason)
            await asyncio.sleep(retry_s)
            continue
        if said is not None:
            print("interarec worker: the catalog answers; starting", file=sys.stderr, flush=True)
            identity.pop("why", None)
        identity["state"] = "starting"
        return runtime


async def _beat(ctx: dict[str, Any]) -> None:
    """The worker's entry in Redis (read by /readyz and /metrics), with whether it reaches the catalog."""
    ctx["identity"]["catalog_ok"] = await catalog_reachable(ctx)
    await ctx["redis"].set(queue.worker_key(ctx["identity"]["name"]), json.dumps(ctx["identity"]),
                           ex=queue.WORKER_TTL_S)


async def _heartbeat(ctx: dict[str, Any]) -> None:
    while True:
        try:
            await _beat(ctx)
        except redis_lib.RedisError as exc:  # Redis restarting: the next beat tries again
            log.warning("heartbeat: Redis unreachable: %s", exc)
        await asyncio.sleep(queue.WORKER_TTL_S / 3)


def redis_retry(wait_s: float, *, sync: bool = False):
    """Connection errors are retried with backoff (0.1 s doubling, at most 2 s apart) for about ``wait_s``: a
    Redis restart is ridden out instead of ending the worker (arq's poll loop does not survive one)."""
    from redis.asyncio.retry import Retry as AsyncRetry
    from redis.retry import Retry as SyncRetry

    return (SyncRetry if sync else AsyncRetry)(ExponentialBackoff(cap=2.0, base=0.1), retries=int(wait_s / 2) + 5)


def make_worker(settings: Settings, config: ServiceConfig, *, burst: bool = False) -> Worker:
    """An arq worker (not started) that builds its runtime once, at startup."""

    async def startup(ctx: dict[str, Any]) -> None:
        # The heartbeat first: while the catalog is awaited, /readyz sees a live worker that cannot reach it.
        ctx.update(config=config, settings=settings)
        ctx["identity"] = {"name": queue.process_name(), "pid": os.getpid(), "state": "starting", "catalog_ok": False}
        ctx["heartbeat"] = asyncio.create_task(_heartbeat(ctx))
        runtime = await runtime_when_catalog_answers(settings, config.catalog_retry_s, ctx["identity"])
        warm_up = getattr(runtime.summariser, "warm_up", None)
        if warm_up is not None:  # the OCR models load now, not during the first shopper's frame
            await asyncio.to_thread(warm_up)
        runtime.store = CachedSearches(runtime.store)  # type: ignore[assignment]  # the store, searches remembered
        ctx.update(store=service_store(settings), graph=build_graph(runtime),
                   redis_sync=redis_lib.Redis.from_url(config.redis_url, decode_responses=True,
                                                       retry=redis_retry(config.redis_wait_s, sync=True),
                                                       retry_on_error=queue.RETRIED_ERRORS))
        ctx["identity"].update(catalog_products=runtime.store.count(), catalog=runtime.backends.catalog,
                               summariser=runtime.backends.summariser)
        ctx["runtime"] = runtime
        ctx["identity"]["state"] = "ready"  # jobs are taken from now on
        with contextlib.suppress(redis_lib.RedisError):  # said at once, not at the next beat
            await _beat(ctx)
        log.info("worker ready: %s", ctx["identity"])

    async def shutdown(ctx: dict[str, Any]) -> None:
        if "heartbeat" in ctx:
            ctx["heartbeat"].cancel()
            await ctx["redis"].delete(queue.worker_key(ctx["identity"]["name"]))
        for name in ("chat", "store", "runtime", "redis_sync"):
            if name in ctx:
                ctx[name].close()

    redis_settings = RedisSettings.from_dsn(config.redis_url)
    redis_settings.retry = redis_retry(config.redis_wait_s)
    redis_settings.retry_on_error = queue.RETRIED_ERRORS
    return Worker(
        # arq's timeout is a backstop (it would drop the job): the frame's own timeout in process_frame fires first
        functions=[func(process_frame, name="process_frame", timeout=config.claim_s, max_tries=MAX_TRIES),
                   # the API waits for a chat turn's answer, so it is kept a while (frames' results are not)
                   func(chat_turn, name="chat_turn", timeout=config.claim_s, max_tries=MAX_TRIES,
                        keep_result=CHAT_RESULT_KEEP_S)],
        queue_name=config.queue_name, redis_settings=redis_settings,
        on_startup=startup, on_shutdown=shutdown, max_jobs=1,  # the pipeline is CPU-bound: one frame at a time
        keep_result=0, poll_delay=0.05, burst=burst, job_timeout=config.claim_s, handle_signals=True,
    )
