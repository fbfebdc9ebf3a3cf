"""`interarec worker`: one arq worker that turns queued frames into recommendations.

Each queued frame is a job. A job takes its shopper's lock in Redis (so no two workers work on one shopper),
reads every frame of the shopper stored so far, runs the pipeline from summarise on (agent/pipeline.py) and
commits the result with the sequence of the newest frame it covered. Results therefore follow the frames in
order and never go back; a job whose frame an earlier job already covered acknowledges at once. A job returns,
which is when arq removes it from the queue, only after its result is committed: a worker killed mid-frame
leaves the job in the queue, and arq gives it to another worker once the dead one's claim expires
(job timeout + 10 s); its lock expires at the same time."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
from typing import Any

import redis as redis_lib
from arq.connections import RedisSettings
from arq.worker import Worker, func

from agent.pipeline import build_graph
from agent.service import queue
from agent.service.chat import chat_turn
from agent.service.config import ServiceConfig
from agent.service.store import ServiceStore
from agent.settings import Settings
from agent.wiring import build_runtime

log = logging.getLogger(__name__)

CHAT_RESULT_KEEP_S = 300
MAX_TRIES = 100_000  # a job waiting for its shopper's lock is retried, not failed; real failures are few


def service_store(settings: Settings) -> ServiceStore:
    return ServiceStore(settings.data_dir / "service.sqlite")


def compute(ctx: dict[str, Any], shop: str, shopper: str) -> dict[str, Any] | None:
    """Under the shopper's lock: the result over every stored frame, committed; None when there is nothing to do
    (the shopper was erased, or their newest frame is covered already)."""
    runtime, store = ctx["runtime"], ctx["store"]
    owner = store.shopper(shop, shopper)
    if owner is None:
        return None
    frames = runtime.frames.frames(owner.session_id)
    if not frames or store.processed_upto(shop, shopper) >= frames[-1].sequence:
        return None
    started = time.perf_counter()
    state = ctx["graph"].invoke({"session_id": owner.session_id, "frame_ids": [f.frame_id for f in frames],
                                 "timings": {}}, {"recursion_limit": 10})
    upto = frames[-1].sequence
    before = store.result(shop, shopper)
    result = store.commit(shop, shopper, owner.session_id, upto, state["summary"], state["recommendations"],
                          state.get("unmet", []))
    if result is None:
        return None
    redis_sync = ctx["redis_sync"]
    covered = queue.record_covered(redis_sync, shop, shopper, upto, now=result.updated_at)
    if before is None or result.version != before.version:  # the recommendations or summary changed
        redis_sync.publish(queue.events_channel(shop, shopper),
                           json.dumps({"version": result.version, "processed_upto": upto}))
    log.info("%s/%s: frames up to #%d (%d new) in %.2f s, version %d", shop, shopper, upto, covered,
             time.perf_counter() - started, result.version)
    return {"upto": upto, "version": result.version, "covered": covered}


async def process_frame(ctx: dict[str, Any], shop: str, shopper: str, sequence: int) -> str:
    """The arq job of one frame."""
    store: ServiceStore = ctx["store"]
    if store.shopper(shop, shopper) is None:
        return "erased"
    if store.processed_upto(shop, shopper) >= sequence:
        return "covered"
    config: ServiceConfig = ctx["config"]
    redis = ctx["redis"]
    async with queue.shopper_lock(redis, shop, shopper, config.job_timeout_s, config.lock_retry_s):
        try:
            outcome = await asyncio.to_thread(compute, ctx, shop, shopper)
        except Exception:
            await redis.hincrby(queue.METRICS, "failed", 1)
            raise
    return "processed" if outcome else "covered"


async def _heartbeat(ctx: dict[str, Any]) -> None:
    redis, body = ctx["redis"], json.dumps(ctx["identity"])
    while True:
        await redis.set(queue.worker_key(ctx["identity"]["name"]), body, ex=queue.WORKER_TTL_S)
        await asyncio.sleep(queue.WORKER_TTL_S / 3)


def make_worker(settings: Settings, config: ServiceConfig, *, burst: bool = False) -> Worker:
    """An arq worker (not started) that builds its runtime once, at startup."""

    async def startup(ctx: dict[str, Any]) -> None:
        runtime = await asyncio.to_thread(build_runtime, settings)
        await asyncio.to_thread(runtime.store.load_filter_index)
        warm_up = getattr(runtime.summariser, "warm_up", None)
        if warm_up is not None:  # the OCR models load now, not during the first shopper's frame
            await asyncio.to_thread(warm_up)
        ctx.update(runtime=runtime, store=service_store(settings), graph=build_graph(runtime), config=config,
                   settings=settings,
                   redis_sync=redis_lib.Redis.from_url(config.redis_url, decode_responses=True))
        ctx["identity"] = {"name": f"{socket.gethostname()}-{os.getpid()}", "pid": os.getpid(),
                           "catalog_products": runtime.store.count(), "catalog": runtime.backends.catalog,
                           "summariser": runtime.backends.summariser}
        ctx["heartbeat"] = asyncio.create_task(_heartbeat(ctx))
        log.info("worker ready: %s", ctx["identity"])

    async def shutdown(ctx: dict[str, Any]) -> None:
        if "heartbeat" in ctx:
            ctx["heartbeat"].cancel()
            await ctx["redis"].delete(queue.worker_key(ctx["identity"]["name"]))
        for name in ("chat", "store", "runtime", "redis_sync"):
            if name in ctx:
                ctx[name].close()

    return Worker(
        functions=[func(process_frame, name="process_frame", timeout=config.job_timeout_s, max_tries=MAX_TRIES),
                   # the API waits for a chat turn's answer, so it is kept a while (frames' results are not)
                   func(chat_turn, name="chat_turn", timeout=config.job_timeout_s, max_tries=MAX_TRIES,
                        keep_result=CHAT_RESULT_KEEP_S)],
        queue_name=config.queue_name, redis_settings=RedisSettings.from_dsn(config.redis_url),
        on_startup=startup, on_shutdown=shutdown, max_jobs=1,  # the pipeline is CPU-bound: one frame at a time
        keep_result=0, poll_delay=0.05, burst=burst, job_timeout=config.job_timeout_s, handle_signals=True,
    )
