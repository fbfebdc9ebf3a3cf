"""What the API and the workers share in Redis besides arq's own keys: a lock per shopper, a marker naming the
shopper's job that waits to run, the arrival times of frames not yet covered by a result, the result events, the
workers' heartbeats and the workers' counters."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import time
import uuid

import redis
from arq import Retry
from arq.constants import job_key_prefix

PREFIX = "interarec:"
METRICS = PREFIX + "metrics"  # hash: processed, failed (tries that raised or timed out), given_up
LATENCY = PREFIX + "latency"  # hash: bucket upper bound -> count, plus "sum" and "count"
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0)
WORKER_TTL_S = 15
# A worker's "state" in its heartbeat: "starting" (loading), this (its catalog does not answer yet), "ready"
WAITING_FOR_CATALOG = "waiting for the catalog"
RETRIED_ERRORS = [redis.ConnectionError, redis.TimeoutError]  # Redis restarting or unreachable

# Deletes the lock (or the pending marker) only if it still holds our token: a lock that expired and was taken by
# another worker stays.
RELEASE_LOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


def scope(shop: str, shopper: str) -> str:
    return f"{shop}/{shopper}"


def chat_thread_id(shop: str, shopper: str) -> str:
    """The chat checkpoint thread that belongs to a shopper of the service."""
    return f"service:{scope(shop, shopper)}"


def job_id(shop: str, shopper: str, sequence: int) -> str:
    """A new job's id: the shopper and the frame that queued it, and a part of its own (a frame posted again
    may need a second job while the first one runs: see PENDING)."""
    return f"frame:{shop}/{shopper}/{sequence}:{uuid.uuid4().hex[:12]}"


def pending_key(shop: str, shopper: str) -> str:
    """Names the shopper's job that has not started reading frames yet (see CLAIM_PENDING)."""
    return f"{PREFIX}pending:{scope(shop, shopper)}"


# At most one waiting job per shopper: a job reads every frame stored before it starts, so a frame posted while
# one waits needs none of its own. The API claims the marker for a new job unless it names a job arq still holds
# (its job key exists); a marker left by an enqueue that never happened (Redis lost it) is taken over. The job
# drops the marker (RELEASE_LOCK: only if it still names it) once it holds the shopper's lock and before it reads
# the frames, so a frame posted from then on queues a job of its own. 1: enqueue the job; 0: the waiting one
# covers the frame.
CLAIM_PENDING = """
local current = redis.call('get', KEYS[1])
if current and redis.call('exists', ARGV[2] .. current) == 1 then return 0 end
redis.call('set', KEYS[1], ARGV[1], 'EX', ARGV[3])
return 1
"""
PENDING_TTL_S = 86_400  # arq's own expiry of a job; the marker only has to outlive its job


async def claim_pending(redis, shop: str, shopper: str, job: str) -> bool:
    """True when ``job`` is now the shopper's waiting job and must be enqueued; False when one waits already."""
    return bool(await redis.eval(CLAIM_PENDING, 1, pending_key(shop, shopper), job, job_key_prefix, PENDING_TTL_S))


async def release_pending(redis, shop: str, shopper: str, job: str) -> None:
    await redis.eval(RELEASE_LOCK, 1, pending_key(shop, shopper), job)


def process_name() -> str:
    """This process as the workers' heartbeats and the lock tokens name it: host-pid."""
    return f"{socket.gethostname()}-{os.getpid()}"


def lock_key(shop: str, shopper: str) -> str:
    return f"{PREFIX}lock:{scope(shop, shopper)}"


@contextlib.asynccontextmanager
async def shopper_lock(redis, shop: str, shopper: str, claim_s: float, retry_s: float):
    """Hold the shopper's lock for one job, so frames and chat turns of a shopper never run at once. It expires
    with arq's claim on the job (``claim_s`` + 10 s, arq's in-progress key), so a worker killed mid-job frees
    both together. Busy: the job is retried after ``retry_s``."""
    key, token = lock_key(shop, shopper), f"{process_name()}:{uuid.uuid4().hex}"  # who holds it, for operators
    if not await redis.set(key, token, nx=True, px=int((claim_s + 10) * 1000)):
        raise Retry(defer=retry_s)
    try:
        yield
    except (asyncio.CancelledError, TimeoutError):
        # Timed out or stopping: the job's thread may still be working, so the lock is left to expire.
        raise
    except BaseException:
        await redis.eval(RELEASE_LOCK, 1, key, token)
        raise
    await redis.eval(RELEASE_LOCK, 1, key, token)


def failures_key(job: str) -> str:
    """How many times a job has failed (not counting waits for a lock or for the catalog)."""
    return f"{PREFIX}failures:{job}"


def arrivals_key(shop: str, shopper: str) -> str:
    return f"{PREFIX}arrived:{scope(shop, shopper)}"


def events_channel(shop: str, shopper: str) -> str:
    return f"{PREFIX}events:{scope(shop, shopper)}"


def worker_key(name: str) -> str:
    return f"{PREFIX}worker:{name}"


def bucket_of(seconds: float) -> str:
    return next((f"{b:g}" for b in LATENCY_BUCKETS if seconds <= b), "+Inf")


def record_covered(redis_sync, shop: str, shopper: str, upto: int, now: float | None = None) -> int:
    """A result covering frames up to ``upto`` was committed: observe each such frame's latency (arrival to
    this result) once, and forget their arrival times. Returns how many frames it covered."""
    now = time.time() if now is None else now
    key = arrivals_key(shop, shopper)
    arrived = {int(k): float(v) for k, v in redis_sync.hgetall(key).items()}
    done = {seq: at for seq, at in arrived.items() if seq <= upto}
    if not done:
        return 0
    pipe = redis_sync.pipeline(transaction=True)
    pipe.hdel(key, *[str(s) for s in done])
    for at in done.values():
        latency = max(0.0, now - at)
        pipe.hincrby(LATENCY, bucket_of(latency), 1)
        pipe.hincrbyfloat(LATENCY, "sum", latency)
        pipe.hincrby(LATENCY, "count", 1)
    pipe.hincrby(METRICS, "processed", len(done))
    pipe.execute()
    return len(done)


def live_workers(redis_sync) -> list[dict]:
    """The heartbeats of workers seen in the last WORKER_TTL_S seconds."""
    found = []
    for key in redis_sync.scan_iter(match=worker_key("*"), count=100):
        value = redis_sync.get(key)
        if value:
            found.append(json.loads(value))
    return found
