"""The service benchmark's machinery on the real parts, small: its own redis-server, API process and one worker
process; 2 shoppers post for a few seconds; every queued frame gets a latency, none is lost, and the queue and
the worker's memory are sampled. (Frames here are plain images with a text layer of their own, so no browser is
needed; the benchmark itself replays frames the real browser captured.)"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmarks.serve import Stack, measure_run, rows
from benchmarks.serve_frames import Captured, salted
from tools.lines import ScreenLine, TextLayer

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"  # where benchmarks.serve looks
pytestmark = pytest.mark.skipif(not Path(REDIS_SERVER).exists(), reason="Debian's redis-server is not installed")


def frame(number: int) -> Captured:
    out = io.BytesIO()
    Image.new("RGB", (640, 400), (250, 250, 250)).save(out, format="PNG")
    words = [f"Leather strap watch model {number}", f"Price {49 + number}.00", "Add to cart"]
    layer = TextLayer(lines=[ScreenLine(text=text, x0=20, y0=40 + 30 * i, x1=400, y1=60 + 30 * i,
                                        source="text-layer", font_size=24 if i == 0 else 16)
                             for i, text in enumerate(words)])
    return Captured(out.getvalue(), layer.dumps(), f"http://127.0.0.1:9/p/{number}", f"Watch {number}", "demo")


def test_salting_changes_the_bytes_and_keeps_the_picture():
    png = frame(1).png
    one, two = salted(png, 1), salted(png, 2)
    assert len({png, one, two}) == 3
    before = np.asarray(Image.open(io.BytesIO(png)).convert("L"))
    after = np.asarray(Image.open(io.BytesIO(one)).convert("L"))
    changed = int((before != after).sum())
    assert 0 < changed <= before.size / 50  # a few pixels in every small block, no more


def test_two_shoppers_a_few_seconds_no_frame_lost(tmp_path):
    stack = Stack(tmp_path, pin=False)
    try:
        stack.start()
        stack.add_worker()
        result = measure_run(stack, {"demo": [frame(n) for n in range(6)]}, "smoke", shoppers=2, seconds=4,
                             text_layer=True, drain_s=120)
    finally:
        stack.stop()
    assert result["statuses"] == {"202": result["queued_frames"] + result["duplicates"]}
    assert result["queued_frames"] >= 4  # 2 shoppers, a frame every 2 s for 4 s
    assert result["frames_lost"] == 0
    assert result["latency_s"]["n"] == result["queued_frames"] and result["latency_s"]["p50"] > 0
    assert result["throughput_frames_per_s"] > 0
    assert result["samples"] and result["worker_rss_mib_max"][0] > 100  # a worker holds models and the catalog
    assert result["workers_log"]["pipeline_runs"] >= 1
    table = rows({"runs": [result]})
    assert any(r["measure"] == "frames lost" and r["median"] == 0 for r in table)
