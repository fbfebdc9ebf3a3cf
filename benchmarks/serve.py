"""The recommendation service under load: simulated shoppers post frames to `interarec serve` on 127.0.0.1, one
every 2 s each, while 1 then 2 `interarec worker` processes turn them into recommendations.

    python -m benchmarks.serve [--shoppers 50] [--seconds 40] [--ocr-shoppers 2] [--ocr-seconds 20] [--out FILE]

Everything is started here and stopped at the end: a redis-server (append-only file on, temp dir, free port),
the API (`interarec serve`, its own process) and the workers (`interarec worker`, started one at a time, each
with OMP_NUM_THREADS=1 and, with --pin, bound to a core of its own). The frames are captured beforehand by the
real browser (benchmarks/serve_frames.py): a demo-shop session and saved real product pages; half the shoppers
replay the one, half the other, each from its own starting frame, every post salted (new pixels: no cache or
duplicate check makes it free). A run posts the frames with their text layer, or without (OCR-only).

Latency of a frame: from just before its POST to the commit of the first result covering it (the result's
``updated_at`` as GET /recommendations returns it, read as soon as the frame leaves the API's arrivals hash).
Throughput: frames covered per second from the first post to the last result; under overload (the OCR-only runs)
that is what the workers can do. Frames lost: accepted (202) but never covered, or failed with 5xx.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import httpx
import redis
import redis.asyncio as aioredis

from agent.service.config import QUEUE_NAME
from agent.service.queue import arrivals_key, live_workers
from benchmarks.common import print_rows, tree_rss_mib, write_results
from benchmarks.serve_frames import Captured, capture_demo, capture_real, salted
from benchmarks.serve_report import cpu_seconds, quantiles, rows, worker_log
from tools.lines import TextLayer

SHOP, KEY = "bench", "bench-key-0123456789abcdef"
POST_EVERY_S = 2.0
TARGET_P95_S, TARGET_SCALING = 2.0, 1.7


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait(check, what: str, process: subprocess.Popen, timeout_s: float = 180) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout_s
    while not check():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start (exit {process.poll()})")
        time.sleep(0.2)


class Stack:
    """Redis, the API and the workers as real processes over one temp dir."""

    def __init__(self, root: Path, pin: bool) -> None:
        self.root, self.pin = root, pin
        self.redis_url = f"redis://127.0.0.1:{free_port()}/0"
        self.api_url = f"http://127.0.0.1:{free_port()}"
        self.env = {**os.environ, "INTERAREC_DATA_DIR": str(root / "data"), "INTERAREC_REDIS_URL": self.redis_url,
                    "INTERAREC_SERVICE_KEYS": f"{SHOP}={KEY}", "PYTHONUNBUFFERED": "1"}
        self.processes: list[subprocess.Popen] = []
        self.workers: list[tuple[subprocess.Popen, Path]] = []

    def _spawn(self, argv: list[str], log: Path, **extra) -> subprocess.Popen:
        with open(log, "ab") as out:
            process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, **extra)
        self.processes.append(process)
        return process

    def start(self) -> None:
        port = self.redis_url.rsplit(":", 1)[1].split("/")[0]
        server = shutil.which("redis-server") or "/usr/bin/redis-server"
        process = self._spawn([server, "--port", port, "--bind", "127.0.0.1", "--dir", str(self.root),
                               "--appendonly", "yes", "--appendfsync", "everysec", "--save", ""],
                              self.root / "redis.log")
        client = redis.Redis.from_url(self.redis_url, socket_connect_timeout=0.5)

        def pong() -> bool:
            with contextlib.suppress(redis.RedisError):
                return bool(client.ping())
            return False

        _wait(pong, "redis-server", process, 20)
        api_port = self.api_url.rsplit(":", 1)[1]
        self.api = self._spawn([sys.executable, "-m", "agent.cli", "serve", "--port", api_port],
                               self.root / "api.log", env=self.env)

        def healthy() -> bool:
            with contextlib.suppress(httpx.HTTPError):
                return httpx.get(self.api_url + "/healthz", timeout=1).status_code == 200
            return False

        _wait(healthy, "the API", self.api, 60)

    def add_worker(self) -> float:
        """One more worker; returns its start-up seconds (runtime, catalog, OCR warm-up)."""
        number = len(self.workers)
        env = {**self.env, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        if self.pin:  # one core each: one onnxruntime thread per session (OCR and embedder), not one per core
            env["INTERAREC_ONNX_THREADS"] = "1"
        cpus = sorted(os.sched_getaffinity(0))
        core = cpus[number % len(cpus)]
        extra = {"preexec_fn": (lambda: os.sched_setaffinity(0, {core}))} if self.pin else {}
        log = self.root / f"worker-{number}.log"
        started = time.monotonic()
        process = self._spawn([sys.executable, "-m", "agent.cli", "worker", "-v"], log, env=env, **extra)
        client = redis.Redis.from_url(self.redis_url, decode_responses=True)
        _wait(lambda: any(w["pid"] == process.pid and w.get("state") == "ready" for w in live_workers(client)),
              f"worker {number}", process, 600)
        self.workers.append((process, log))
        return round(time.monotonic() - started, 1)

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


class Run:
    """One load run: what each shopper posted and when each frame was covered."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.posted: dict[tuple[str, int], float] = {}  # (shopper, sequence) -> time before the POST
        self.outstanding: dict[str, set[int]] = {}
        self.latency: dict[tuple[str, int], float] = {}
        self.covered_at: list[float] = []
        self.statuses: dict[str, int] = {}
        self.duplicates = 0
        self.failed = 0
        self.material: dict[str, str] = {}
        self.start = self.posting_s = 0.0


async def _shopper(http: httpx.AsyncClient, run: Run, shopper: str, frames: list[bytes], sources: list[Captured],
                   text_layer: bool, start: float, until: float) -> None:
    at = start
    for png, frame in zip(frames, sources):
        await asyncio.sleep(max(0.0, at - time.time()))
        if time.time() >= until:
            return
        data = {"url": frame.url, "title": frame.title, "timestamp": str(time.time())}
        if text_layer and frame.text_layer:
            data["text_layer"] = frame.text_layer
        posted = time.time()
        try:
            answer = await http.post(f"/v1/shoppers/{shopper}/frames", data=data,
                                     files={"image": ("frame.png", png, "image/png")})
        except httpx.HTTPError:
            run.failed += 1
            answer = None
        if answer is not None:
            run.statuses[str(answer.status_code)] = run.statuses.get(str(answer.status_code), 0) + 1
            if answer.status_code >= 500:
                run.failed += 1
            elif answer.status_code == 202:
                body = answer.json()
                if body["queued"]:
                    run.posted[(shopper, body["sequence"])] = posted
                    run.outstanding.setdefault(shopper, set()).add(body["sequence"])
                else:
                    run.duplicates += 1
        at += POST_EVERY_S


async def _watch(http: httpx.AsyncClient, run: Run, stop: asyncio.Event, redis_url: str) -> None:
    """Every 0.1 s, which frames left the arrivals hash (their result is committed); then the result itself."""
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        while not (stop.is_set() and not any(run.outstanding.values())):
            shoppers = [s for s, seqs in run.outstanding.items() if seqs]
            if shoppers:
                pipe = client.pipeline(transaction=False)
                for shopper in shoppers:
                    pipe.hkeys(arrivals_key(SHOP, shopper))
                waiting = await pipe.execute()
                for shopper, keys in zip(shoppers, waiting):
                    left = {int(k) for k in keys}
                    if all(seq in left for seq in run.outstanding[shopper]):
                        continue
                    body = (await http.get(f"/v1/shoppers/{shopper}/recommendations")).json()
                    for seq in sorted(run.outstanding[shopper]):
                        if seq <= body.get("processed_upto", -1):
                            run.latency[(shopper, seq)] = body["updated_at"] - run.posted[(shopper, seq)]
                            run.covered_at.append(body["updated_at"])
                            run.outstanding[shopper].discard(seq)
            await asyncio.sleep(0.1)
    finally:
        await client.aclose()


async def _sample(stack: Stack, samples: list[dict], stop: asyncio.Event, start: float) -> None:
    client = aioredis.Redis.from_url(stack.redis_url)
    try:
        while not stop.is_set():
            samples.append({"t": round(time.time() - start, 1), "queue": await client.zcard(QUEUE_NAME),
                            "worker_rss_mib": [round(tree_rss_mib(p.pid, 0), 1) for p, _ in stack.workers],
                            "api_rss_mib": round(tree_rss_mib(stack.api.pid, 0), 1)})
            await asyncio.sleep(1.0)
    finally:
        await client.aclose()


async def _load(stack: Stack, run: Run, pool: dict[str, list[Captured]], shoppers: int, seconds: float,
                text_layer: bool, drain_s: float) -> list[dict]:
    materials = [m for m in ("demo", "real") if pool.get(m)]
    per_shopper = int(seconds // POST_EVERY_S) + 1
    plans = []
    for number in range(shoppers):
        material = materials[number % len(materials)]
        frames = pool[material]
        offset = (number // len(materials)) * 3 % len(frames)
        sources = [frames[(offset + k) % len(frames)] for k in range(per_shopper)]
        shopper = f"{run.name}-{number:03d}"
        run.material[shopper] = material
        salt_base = zlib.crc32(shopper.encode()) << 8
        plans.append((shopper, [salted(f.png, salt_base + k) for k, f in enumerate(sources)], sources))
    samples: list[dict] = []
    limits = httpx.Limits(max_connections=shoppers + 10)
    async with httpx.AsyncClient(base_url=stack.api_url, headers={"X-API-Key": KEY}, timeout=60,
                                 limits=limits) as http:
        start = time.time() + 1.0
        stop_posting, stop_sampling = asyncio.Event(), asyncio.Event()
        sampler = asyncio.create_task(_sample(stack, samples, stop_sampling, start))
        watcher = asyncio.create_task(_watch(http, run, stop_posting, stack.redis_url))
        # shoppers start spread over one posting interval, as independent visitors would
        await asyncio.gather(*[_shopper(http, run, shopper, frames, sources, text_layer,
                                        start + POST_EVERY_S * number / shoppers, start + seconds)
                               for number, (shopper, frames, sources) in enumerate(plans)])
        run.posting_s = time.time() - start
        stop_posting.set()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(watcher), drain_s)
        watcher.cancel()
        stop_sampling.set()
        await sampler
        run.start = start
    return samples


def measure_run(stack: Stack, pool: dict[str, list[Captured]], name: str, shoppers: int, seconds: float,
                text_layer: bool, drain_s: float = 600.0) -> dict:
    run = Run(name)
    offsets = [log.stat().st_size for _, log in stack.workers]
    load_before = os.getloadavg()
    pids = [stack.api.pid] + [p.pid for p, _ in stack.workers]
    cpu_before = [cpu_seconds(pid) for pid in pids]
    samples = asyncio.run(_load(stack, run, pool, shoppers, seconds, text_layer, drain_s))
    cpu = [round(cpu_seconds(pid) - before, 1) for pid, before in zip(pids, cpu_before)]
    uncovered = sum(len(seqs) for seqs in run.outstanding.values())  # after draining for up to drain_s
    window = (max(run.covered_at) - run.start) if run.covered_at else None
    by_material = {m: quantiles([v for (s, _), v in run.latency.items() if run.material[s] == m])
                   for m in ("demo", "real")}
    rss = [max(s["worker_rss_mib"][i] for s in samples) for i in range(len(stack.workers))] if samples else []
    return {
        "run": name, "workers": len(stack.workers), "text_layer": text_layer, "shoppers": shoppers,
        "seconds": seconds, "posting_s": round(run.posting_s, 1), "offered_frames_per_s": shoppers / POST_EVERY_S,
        "queued_frames": len(run.posted), "duplicates": run.duplicates, "statuses": run.statuses,
        "frames_lost": uncovered + run.failed, "failed_posts": run.failed, "uncovered_after_drain": uncovered,
        "drain_limit_s": drain_s, "latency_s": quantiles(list(run.latency.values())),
        "latency_s_by_material": by_material,
        "throughput_frames_per_s": round(len(run.latency) / window, 2) if window else None,
        "workers_log": worker_log([log for _, log in stack.workers], offsets),
        "queue_depth": {"median": statistics.median(s["queue"] for s in samples) if samples else None,
                        "max": max((s["queue"] for s in samples), default=None)},
        "cpu_s": {"api": cpu[0], "workers": cpu[1:]},
        "api_cpu_ms_per_post": round(1000 * cpu[0] / max(1, sum(run.statuses.values())), 1),
        "worker_rss_mib_max": rss, "api_rss_mib_max": max((s["api_rss_mib"] for s in samples), default=None),
        "loadavg_before": [round(v, 2) for v in load_before], "loadavg_after": [round(v, 2) for v in os.getloadavg()],
        "samples": samples,
    }


def measure(shoppers: int = 50, seconds: float = 40.0, ocr_shoppers: int = 2, ocr_seconds: float = 20.0,
            demo_rounds: int = 1, real_pages: int = 6, max_workers: int = 2, pin: bool = True) -> dict:
    with tempfile.TemporaryDirectory(prefix="interarec-bench-serve-") as tmp:
        root = Path(tmp)
        started = time.monotonic()
        pool = {"demo": capture_demo(root / "capture", demo_rounds), "real": capture_real(root / "capture", real_pages)}
        capture_s = round(time.monotonic() - started, 1)
        stack = Stack(root, pin)
        runs, startup = [], []
        try:
            stack.start()
            for count in range(1, max_workers + 1):
                startup.append(stack.add_worker())
                runs.append(measure_run(stack, pool, f"t{count}", shoppers, seconds, True))
                runs.append(measure_run(stack, pool, f"o{count}", ocr_shoppers, ocr_seconds, False))
        finally:
            stack.stop()
    ocr = {r["workers"]: r["throughput_frames_per_s"] for r in runs if not r["text_layer"]}
    text_p95 = {r["workers"]: (r["latency_s"] or {}).get("p95") for r in runs if r["text_layer"]}
    scaling = round(ocr[2] / ocr[1], 2) if ocr.get(1) and ocr.get(2) else None
    result = {
        "settings": {"shoppers": shoppers, "seconds": seconds, "ocr_shoppers": ocr_shoppers,
                     "ocr_seconds": ocr_seconds, "post_every_s": POST_EVERY_S, "pinned_to_cores": pin,
                     "worker_env": {"OMP_NUM_THREADS": "1", **({"INTERAREC_ONNX_THREADS": "1"} if pin else {})}},
        "frames_captured": {m: len(f) for m, f in pool.items()}, "capture_s": capture_s,
        "with_text_layer": {m: sum(f.text_layer is not None for f in fs) for m, fs in pool.items()},
        # a page whose text layer holds no line (say, all pictures) is read by OCR even in a text-layer run
        "empty_text_layer": {m: sum(f.text_layer is not None and not TextLayer.loads(f.text_layer).lines for f in fs)
                             for m, fs in pool.items()},
        "worker_startup_s": startup,
        "uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
        "targets": {"text_layer_p95_s": TARGET_P95_S, "text_layer_p95_by_workers": text_p95,
                    "ocr_scaling_2_over_1": scaling, "ocr_scaling_target": TARGET_SCALING,
                    "frames_lost": sum(r["frames_lost"] for r in runs)},
        "runs": runs,
    }
    result["rows"] = rows(result)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shoppers", type=int, default=50, help="shoppers in the text-layer runs")
    parser.add_argument("--seconds", type=float, default=40.0, help="posting time of the text-layer runs")
    parser.add_argument("--ocr-shoppers", type=int, default=2, help="shoppers in the OCR-only runs (overload)")
    parser.add_argument("--ocr-seconds", type=float, default=20.0)
    parser.add_argument("--real-pages", type=int, default=6, help="saved real pages captured (0: demo shop only)")
    parser.add_argument("--workers", type=int, default=2, help="measure with 1 .. this many workers")
    parser.add_argument("--no-pin", action="store_true", help="do not bind each worker to a core of its own")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    result = measure(args.shoppers, args.seconds, args.ocr_shoppers, args.ocr_seconds, real_pages=args.real_pages,
                     max_workers=args.workers, pin=not args.no_pin)
    print_rows(result["rows"])
    print(f"targets: {result['targets']}; {result['uptime']}")
    print(f"wrote {write_results('serve', result, args.out)}")


if __name__ == "__main__":
    main()
