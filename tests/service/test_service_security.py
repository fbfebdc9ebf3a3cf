"""Limits and security of the API on a real uvicorn and a real Redis (no worker needed: nothing here is processed).
Every refusal must leave nothing stored."""

from __future__ import annotations

import io
import json

import httpx
import redis

from agent.service.config import QUEUE_NAME
from tests.service.conftest import ApiServer, client
from tests.service.frames import huge_png, png_of
from tools.lines import ScreenLine, TextLayer


def post(http: httpx.Client, shopper: str, image: bytes, content_type: str = "image/png", **form) -> httpx.Response:
    data = {"url": "https://shop.example/p/1", **form}
    return http.post(f"/v1/shoppers/{shopper}/frames", data=data, files={"image": ("f", image, content_type)})


def stored_blobs() -> list[str]:
    from agent.settings import load_settings

    root = load_settings().frames_path / "blobs"
    return [p.name for p in root.rglob("*") if p.is_file()] if root.exists() else []


def noise_png(seed: int, size: int = 64) -> bytes:
    """A picture of its own (solid colours all share one perceptual hash, so they would count as duplicates)."""
    import random

    from PIL import Image

    rng = random.Random(seed)
    image = Image.frombytes("L", (size, size), bytes(rng.randrange(256) for _ in range(size * size)))
    out = io.BytesIO()
    image.resize((size * 4, size * 4)).save(out, format="PNG")
    return out.getvalue()


def line(text: str, y: float, tag: str = "span") -> ScreenLine:
    return ScreenLine(text=text, x0=10, y0=y, x1=300, y1=y + 20, source="text-layer", font_size=16, tag=tag)


def test_a_key_of_one_shop_never_reaches_another_shops_shoppers(service_env, redis_server):
    with ApiServer() as api:
        a, b = client(api, "shop-a"), client(api, "shop-b")
        assert post(a, "ann", png_of(64, 48, "red")).status_code == 202
        # shop-b names the same shopper id: it is a different shopper of its own shop, never shop-a's.
        assert b.get("/v1/shoppers/ann/recommendations").status_code == 404
        assert b.delete("/v1/shoppers/ann").status_code == 404
        assert b.get("/v1/shoppers/ann/events").status_code == 404
        assert a.get("/v1/shoppers/ann/recommendations").json()["frames"] == 1  # shop-b's DELETE changed nothing
        posted = post(b, "ann", png_of(64, 48, "red"))  # the same picture: not a duplicate of shop-a's frame
        assert posted.status_code == 202 and posted.json()["duplicate_of"] is None
        assert b.get("/v1/shoppers/ann/recommendations").json()["frames"] == 1
        assert a.get("/v1/shoppers/ann/recommendations").json()["frames"] == 1
        for headers in ({}, {"X-API-Key": "not-a-key-of-anyone-at-all"}):
            anon = httpx.Client(base_url=api.url, headers=headers)
            assert anon.get("/v1/shoppers/ann/recommendations").status_code == 401
            assert anon.delete("/v1/shoppers/ann").status_code == 401
            assert post(anon, "ann", png_of(8, 8)).status_code == 401
        assert a.delete("/v1/shoppers/ann").status_code == 200
        assert b.get("/v1/shoppers/ann/recommendations").json()["frames"] == 1  # shop-a's erase left shop-b's


def test_bad_images_get_a_clear_4xx_and_nothing_is_stored(service_env, redis_server):
    whole = png_of(320, 200)
    jpeg = io.BytesIO()
    from PIL import Image

    Image.new("RGB", (16, 16)).save(jpeg, format="GIF")
    cases = {
        "text": (b"hello, this is not a picture", "image/png", 415),
        "declared-text": (whole, "text/plain", 415),
        "gif": (jpeg.getvalue(), "image/png", 415),
        "truncated": (whole[: len(whole) // 2], "image/png", 422),
        "huge": (huge_png(), "image/png", 413),
    }
    before = stored_blobs()
    with ApiServer() as api:
        http = client(api)
        for name, (data, content_type, status) in cases.items():
            answer = post(http, f"bad-{name}", data, content_type)
            assert answer.status_code == status, (name, answer.text)
            assert answer.json()["detail"]  # says why
            assert http.get(f"/v1/shoppers/bad-{name}/recommendations").status_code == 404
        assert stored_blobs() == before
        assert redis.Redis.from_url(redis_server.url).zcard(QUEUE_NAME) == 0


def test_an_oversize_body_is_refused_with_413(service_env, redis_server):
    before = stored_blobs()
    with ApiServer(max_body_bytes=200_000) as api:
        http = client(api)
        answer = post(http, "big", png_of(8, 8), text_layer="x" * 300_000)
        assert answer.status_code == 413
        assert http.get("/v1/shoppers/big/recommendations").status_code == 404
        assert stored_blobs() == before


def test_a_key_past_its_rate_limit_gets_429_with_retry_after(service_env, redis_server):
    with ApiServer(rate_per_minute=5) as api:
        a, b = client(api, "shop-a"), client(api, "shop-b")
        codes = [a.get("/v1/shoppers/nobody/recommendations").status_code for _ in range(5)]
        assert codes == [404] * 5
        refused = a.get("/v1/shoppers/nobody/recommendations")
        assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 61
        assert b.get("/v1/shoppers/nobody/recommendations").status_code == 404  # another key has its own budget


def test_a_full_queue_pushes_back_with_429_and_stores_nothing(service_env, redis_server):
    db = redis.Redis.from_url(redis_server.url)
    with ApiServer(max_queue=2) as api:  # no worker runs: the queue only fills
        http = client(api)
        assert [post(http, "q", noise_png(seed)).status_code for seed in (1, 2)] == [202, 202]
        assert db.zcard(QUEUE_NAME) == 1  # q's second frame waits with q's first job
        assert post(http, "r", noise_png(3)).status_code == 202
        refused = post(http, "s", noise_png(4))
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        assert http.get("/v1/shoppers/q/recommendations").json()["frames"] == 2
        assert http.get("/v1/shoppers/s/recommendations").status_code == 404
        assert db.zcard(QUEUE_NAME) == 2


def test_a_pending_marker_whose_job_is_gone_does_not_hold_frames_back(service_env, redis_server):
    """A marker left without its job (the enqueue after it never happened) must not stop the shopper's frames
    from being queued: the next frame queues a job."""
    db = redis.Redis.from_url(redis_server.url, decode_responses=True)
    with ApiServer() as api:  # no worker runs
        http = client(api)
        db.set("interarec:pending:shop-a/lost", "frame:shop-a/lost/0:gone")
        assert post(http, "lost", noise_png(5)).json()["queued"] is True
        jobs = db.zrange(QUEUE_NAME, 0, -1)
        assert len(jobs) == 1 and jobs[0].startswith("frame:shop-a/lost/0:") and jobs[0] != "frame:shop-a/lost/0:gone"
        assert db.get("interarec:pending:shop-a/lost") == jobs[0]
        assert post(http, "lost", noise_png(6)).json()["queued"] is True  # covered by the waiting job
        assert db.zcard(QUEUE_NAME) == 1
        assert http.delete("/v1/shoppers/lost").status_code == 200
        assert not db.exists("interarec:pending:shop-a/lost")


def test_form_fields_and_personal_details_are_dropped_from_posted_text_layers(service_env, redis_server):
    from agent.settings import load_settings
    from tools.capture.frames import FrameStore

    layer = TextLayer(lines=[line("Analog watch for men", 10, "h1"), line("4111 1111 1111 1111", 60, "input"),
                             line("hunter2-secret", 100, "input"), line("my street 12", 140, "textarea"),
                             line("jane.doe@example.com", 180), line("Rs. 1,299", 220)])
    with ApiServer() as api:
        http = client(api)
        assert post(http, "mask", png_of(400, 300), text_layer=layer.dumps()).status_code == 202
        assert post(http, "junk", png_of(40, 30), text_layer=json.dumps({"no": "lines"})).status_code == 422
    store = FrameStore(load_settings().frames_path)
    try:
        session = next(s for s in store.sessions() if s.source.endswith("shop-a/mask"))
        kept = [ln.text for ln in store.text_layer(store.frames(session.session_id)[0]).lines]
    finally:
        store.close()
    assert kept == ["Analog watch for men", "Rs. 1,299"]
