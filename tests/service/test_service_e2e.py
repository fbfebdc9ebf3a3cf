"""The service end to end on the real parts: frames captured by Chromium from the demo shop are posted to the
API on uvicorn, queued in a real Redis, processed by a real `interarec worker` process; the recommendations
come back ranked and explained, in order, and erasing a shopper erases what was stored."""

from __future__ import annotations

import json
import signal
import threading
import time

import httpx
import pytest
import redis

from catalog.files import load_products
from tests.conftest import requires_chromium
from tests.service.conftest import client

pytestmark = [requires_chromium, pytest.mark.browser]


def post(http: httpx.Client, shopper: str, frame, *, text_layer: bool = True) -> httpx.Response:
    data = {"url": frame.url, "title": frame.title, "timestamp": str(time.time())}
    if text_layer and frame.text_layer:
        data["text_layer"] = frame.text_layer
    return http.post(f"/v1/shoppers/{shopper}/frames", data=data, files={"image": ("f.png", frame.png, "image/png")})


def wait_for(http: httpx.Client, shopper: str, sequence: int, timeout_s: float = 60) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = http.get(f"/v1/shoppers/{shopper}/recommendations").json()
        if body.get("processed_upto", -1) >= sequence:
            return body
        time.sleep(0.1)
    pytest.fail(f"frame {sequence} of {shopper} was not processed in {timeout_s} s: {body}")


def test_posted_frames_become_ranked_explained_recommendations_in_order(api, worker, watch_pages, redis_server):
    http = client(api)
    events: list[dict] = []
    ready = threading.Event()

    def listen() -> None:  # the SSE stream, read as a browser's EventSource would
        with httpx.Client(base_url=api.url, headers=http.headers, timeout=60) as sse, \
                sse.stream("GET", "/v1/shoppers/ann/events") as stream:
            ready.set()
            for line in stream.iter_lines():
                if line.startswith("data:"):
                    events.append(json.loads(line[5:]))
                    if events[-1].get("processed_upto", -1) >= len(watch_pages) - 1:
                        return

    first = post(http, "ann", watch_pages[0])
    assert first.status_code == 202, first.text
    assert first.json() == {"frame_id": "ann/0", "sequence": 0, "queued": True, "duplicate_of": None}
    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert ready.wait(10)
    answers = [post(http, "ann", frame).json() for frame in watch_pages[1:]]
    assert [a["sequence"] for a in answers] == list(range(1, len(watch_pages)))

    body = wait_for(http, "ann", len(watch_pages) - 1)
    listener.join(timeout=30)
    recs = body["recommendations"]
    assert body["status"] == "current" and len(recs) >= 3
    assert [r["rank"] for r in recs] == list(range(1, len(recs) + 1))
    by_id = {p.id: p for p in load_products()}
    assert all(by_id[r["product_id"]].category_path[-1] == "Wrist Watches" for r in recs)
    assert all(r["reasons"] for r in recs)  # every product comes with why
    assert body["summary"]["product_characteristics"]["types"]
    # The results followed the frames in order: versions and covered frames only ever grew.
    assert events and [e["version"] for e in events] == sorted({e["version"] for e in events})
    covered = [e["processed_upto"] for e in events]
    assert covered == sorted(covered) and covered[-1] == len(watch_pages) - 1

    again = post(http, "ann", watch_pages[-1])  # the same screenshot again: acknowledged, not queued
    assert again.status_code == 202 and again.json()["queued"] is False
    assert again.json()["duplicate_of"] == f"ann/{len(watch_pages) - 1}"
    metrics = http.get("/metrics").text
    assert f'interarec_frames_received_total{{shop="shop-a"}} {len(watch_pages) + 1}.0' in metrics
    assert 'interarec_frames_duplicate_total{shop="shop-a"} 1.0' in metrics
    assert f"interarec_frames_processed_total {len(watch_pages)}.0" in metrics
    assert f"interarec_frame_latency_seconds_count {len(watch_pages)}.0" in metrics
    ready_body = http.get("/readyz").json()
    assert ready_body["ready"] and ready_body["checks"]["workers"]["alive"] == 1

    # Erasing the shopper: every frame, text layer and result goes, and says so.
    erased = http.delete("/v1/shoppers/ann")
    assert erased.status_code == 200, erased.text
    deleted = erased.json()["deleted"]
    assert deleted["frames"] == len(watch_pages) + 1 and deleted["image_files"] == len(watch_pages)
    assert deleted["text_layers"] == len(watch_pages) and deleted["summary_and_recommendations"] is True
    assert http.get("/v1/shoppers/ann/recommendations").status_code == 404
    blobs = api_blobs(api)
    assert not blobs, blobs
    assert not redis.Redis.from_url(redis_server.url).keys("interarec:arrived:*")


def test_frames_posted_while_a_shoppers_job_waits_share_that_job(api, worker, watch_pages, redis_server):
    """The queue holds at most one waiting job per shopper: frames posted while it waits add none, and it
    covers them all when it runs; a frame posted after it ran gets a job of its own."""
    from agent.service.config import QUEUE_NAME

    http = client(api)
    db = redis.Redis.from_url(redis_server.url, decode_responses=True)
    early, later = watch_pages[:-1], watch_pages[-1]
    last = len(early) - 1
    worker.process.send_signal(signal.SIGSTOP)  # the jobs wait in the queue
    try:
        answers = [post(http, "cy", frame) for frame in early]
        assert [a.status_code for a in answers] == [202] * len(early)
        assert [a.json()["sequence"] for a in answers] == list(range(len(early)))
        assert all(a.json()["queued"] for a in answers)  # every frame will be read
        jobs = [j for j in db.zrange(QUEUE_NAME, 0, -1) if j.startswith("frame:shop-a/cy/")]
        assert len(jobs) == 1 and jobs[0].startswith("frame:shop-a/cy/0:")
        assert post(http, "dee", early[0]).status_code == 202  # another shopper has a job of their own
        assert len([j for j in db.zrange(QUEUE_NAME, 0, -1) if j.startswith("frame:shop-a/")]) == 2
    finally:
        worker.process.send_signal(signal.SIGCONT)
    body = wait_for(http, "cy", last)
    assert body["processed_upto"] == last and body["status"] == "current" and body["recommendations"]
    assert not db.exists("interarec:arrived:shop-a/cy")  # every frame's latency observed: all covered
    assert not db.exists("interarec:pending:shop-a/cy")  # the job dropped its marker when it started
    metrics = http.get("/metrics").text
    assert f'interarec_frames_joined_waiting_job_total{{shop="shop-a"}} {last}.0' in metrics
    wait_for(http, "dee", 0)
    # After the job: a new frame queues a job of its own and is processed.
    answer = post(http, "cy", later).json()
    assert answer["sequence"] == last + 1 and answer["queued"] and answer["duplicate_of"] is None
    assert wait_for(http, "cy", last + 1)["status"] == "current"
    for shopper in ("cy", "dee"):
        assert http.delete(f"/v1/shoppers/{shopper}").status_code == 200


def api_blobs(api) -> list[str]:
    from agent.settings import load_settings

    return [p.name for p in (load_settings().frames_path / "blobs").rglob("*") if p.is_file()]


def test_a_chat_turn_uses_the_shoppers_own_state_and_thread(api, worker, watch_pages):
    http, other = client(api), client(api, "shop-b")
    assert http.post("/v1/shoppers/bo/messages", json={"text": "hello"}).status_code == 404  # no frames yet
    for frame in watch_pages:
        assert post(http, "bo", frame).status_code == 202
    wait_for(http, "bo", len(watch_pages) - 1)
    first = http.post("/v1/shoppers/bo/messages", json={"text": "recommend"})
    assert first.status_code == 200, first.text
    turn = first.json()
    assert turn["turn"] == 1 and turn["answer"] and turn["recommendations"]
    by_id = {p.id: p for p in load_products()}
    assert all(by_id[r["product_id"]].category_path[-1] == "Wrist Watches" for r in turn["recommendations"])
    second = http.post("/v1/shoppers/bo/messages", json={"text": "cheaper please"}).json()
    assert second["turn"] == 2  # the same thread remembered the first turn
    budget = max(r["price"] for r in turn["recommendations"])
    assert second["recommendations"] and all(r["price"] <= budget for r in second["recommendations"])
    assert other.post("/v1/shoppers/bo/messages", json={"text": "hello"}).status_code == 404  # shop-b's own "bo"
    assert http.post("/v1/shoppers/bo/messages", json={"text": ""}).status_code == 422

    erased = http.delete("/v1/shoppers/bo").json()["deleted"]
    assert erased["chat_checkpoint"] == "service:shop-a/bo"
    assert post(http, "bo", watch_pages[0]).status_code == 202
    again = http.post("/v1/shoppers/bo/messages", json={"text": "hello"}).json()
    assert again["turn"] == 1  # the erased thread is gone: a new conversation
    http.delete("/v1/shoppers/bo")
