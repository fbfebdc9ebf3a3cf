"""The service's Prometheus metrics. What the API sees (frames in, duplicates, refusals) is counted in the API
process; what the workers do is counted in Redis by every worker (agent/service/queue.py) and read back here at
each scrape, so one /metrics shows the whole service however many workers run."""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from agent.service import queue

log = logging.getLogger(__name__)


class WorkerCollector:
    """Reads the workers' counters, the latency histogram and the queue depth from Redis."""

    def __init__(self, redis_sync, queue_name: str) -> None:
        self.redis, self.queue_name = redis_sync, queue_name

    def collect(self):
        try:
            counts = self.redis.hgetall(queue.METRICS)
            latency = self.redis.hgetall(queue.LATENCY)
            depth = self.redis.zcard(self.queue_name)
            workers = len(queue.live_workers(self.redis))
        except Exception as exc:  # Redis down: the API's own metrics still answer; readyz says what is wrong
            log.warning("metrics: Redis unreachable: %s", exc)
            return
        processed = CounterMetricFamily("interarec_frames_processed", "Frames covered by a committed result")
        processed.add_metric([], float(counts.get("processed", 0)))
        yield processed
        failed = CounterMetricFamily("interarec_frame_failures", "Tries of a frame that raised or timed out "
                                     "(retried up to frame_retries times)")
        failed.add_metric([], float(counts.get("failed", 0)))
        yield failed
        given_up = CounterMetricFamily("interarec_frames_given_up", "Frames whose every try failed (the "
                                       "shopper's next frame covers them)")
        given_up.add_metric([], float(counts.get("given_up", 0)))
        yield given_up
        gauge = GaugeMetricFamily("interarec_queue_depth", "Frame jobs in the queue (waiting or deferred)")
        gauge.add_metric([], float(depth))
        yield gauge
        alive = GaugeMetricFamily("interarec_workers", "Workers with a heartbeat in the last 15 s")
        alive.add_metric([], float(workers))
        yield alive
        buckets, running = [], 0
        for bound in (*[f"{b:g}" for b in queue.LATENCY_BUCKETS], "+Inf"):
            running += int(latency.get(bound, 0))
            buckets.append((bound, float(running)))
        histogram = HistogramMetricFamily("interarec_frame_latency_seconds",
                                          "From a frame's arrival to the committed result that covers it")
        histogram.add_metric([], buckets, sum_value=float(latency.get("sum", 0)))
        yield histogram


class ApiMetrics:
    def __init__(self, redis_sync, queue_name: str) -> None:
        self.registry = CollectorRegistry()
        self.frames_in = Counter("interarec_frames_received", "Frames accepted by POST /frames", ["shop"],
                                 registry=self.registry)
        self.duplicates = Counter("interarec_frames_duplicate", "Accepted frames that duplicate an earlier one "
                                  "of the shopper, so not processed again", ["shop"], registry=self.registry)
        self.coalesced = Counter("interarec_frames_joined_waiting_job", "Frames queued no job of their own: "
                                 "their shopper's waiting job reads them too", ["shop"], registry=self.registry)
        self.refused = Counter("interarec_requests_refused", "Requests refused, by reason", ["reason"],
                               registry=self.registry)
        self.registry.register(WorkerCollector(redis_sync, queue_name))
