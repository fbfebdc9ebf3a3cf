"""Live mode (agent/live.py, `interarec watch`): real Chromium browses the demo shop, watches first, then coffee
mugs; the recommendations follow, each distinct screenshot is read once, one update at a time."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from agent.live import LiveRecommender
from agent.settings import load_settings
from agent.wiring import build_runtime, start_shop
from catalog.files import load_products
from shop.pages import product_href, slugify
from tests.conftest import requires_chromium
from tools.capture.browse_script import parse_script
from tools.capture.session import browse_session

pytestmark = [requires_chromium, pytest.mark.browser]

FIRST, THEN = "Wrist Watches", "Coffee Mugs"


def shop_products():
    return [p for p in load_products() if p.category_path[-1] in (FIRST, THEN)]


def two_category_script(products, first_pages: int = 4, then_pages: int = 6) -> str:
    """A listing and product pages of FIRST, then more of THEN (so THEN ends up the stronger preference)."""
    lines = []
    for category, count in ((FIRST, first_pages), (THEN, then_pages)):
        members = sorted((p for p in products if p.category_path[-1] == category and p.price), key=lambda p: p.id)
        lines.append(f"goto /c/{slugify(category)}")
        lines += [f"goto {product_href(p.id)}" for p in members[:count]]
    return "\n".join(lines) + "\n"


def categories_of(recommendations, by_id) -> set[str]:
    return {by_id[r.product_id].category_path[-1] for r in recommendations}


@pytest.fixture(scope="module")
def watched(tmp_path_factory):
    products = shop_products()
    runtime = build_runtime(load_settings(data_dir=tmp_path_factory.mktemp("live")), products=products)
    reader = runtime.summariser
    real_read = reader.read_frame
    reads, in_flight, peak = [], [0], [0]
    lock = threading.Lock()

    def counted_read(frame, interrupted=None):
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        try:
            reading = real_read(frame, interrupted=interrupted)
            reads.append(frame.frame_id)  # a read that gave way to a newer screenshot is counted when it ends
            return reading
        finally:
            with lock:
                in_flight[0] -= 1

    reader.read_frame = counted_read
    updates = []
    live = LiveRecommender(runtime, updates.append)
    session_id = runtime.frames.new_session(source="test:live")
    persona = parse_script(two_category_script(products), name="two-categories")
    try:
        with start_shop(runtime) as shop:
            browse_session(runtime.browser_config, runtime.frames, session_id, shop.url, persona, pace_s=2.0,
                           on_frame=live.frame_arrived)
        assert live.drain(timeout_s=120)
        frames = runtime.frames.frames(session_id)
    finally:
        live.close()
        runtime.close()
    return {"updates": updates, "reads": reads, "peak": peak[0], "frames": frames, "errors": live.errors,
            "by_id": {p.id: p for p in products}, "runtime": runtime}


def test_each_distinct_screenshot_is_read_once_and_duplicates_never(watched):
    distinct = [f.frame_id for f in watched["frames"] if f.duplicate_of is None]
    assert sorted(watched["reads"]) == sorted(distinct)
    assert len(distinct) >= 8 and watched["errors"] == []
    covered = [frame for update in watched["updates"] for frame in update.frames]
    assert len(covered) == len(set(covered)) and set(covered) <= set(distinct)


def test_one_update_at_a_time(watched):
    assert watched["peak"] == 1


def test_the_recommendations_follow_the_shopper_from_watches_to_mugs(watched):
    updates, by_id = watched["updates"], watched["by_id"]
    shown = [categories_of(u.recommendations, by_id) for u in updates]
    first_watches = shown.index({FIRST})  # while the shopper looked at watches
    assert shown[-1] == {THEN}  # and after they moved on to mugs
    switched = next(u for u, c in zip(updates[first_watches:], shown[first_watches:]) if c == {THEN})
    assert "type" in switched.changed


def test_every_update_says_how_long_it_took_by_stage(watched):
    for update in watched["updates"]:
        assert update.latency_s > 0
        assert {"read", "summarise", "constrain", "retrieve", "optimise"} <= set(update.timings)
        assert sum(update.timings.values()) <= update.latency_s + 0.01


def test_frames_that_arrive_together_newest_first_then_the_backlog(watched, tmp_path):
    """The screenshots of the session handed over at once, as a fast scroll would: the first update reads the
    newest only; the older ones are read afterwards, one per update, while nothing new waits."""
    runtime = build_runtime(load_settings(data_dir=watched["runtime"].settings.data_dir), products=shop_products())
    distinct = [f for f in watched["frames"] if f.duplicate_of is None]
    updates = []
    live = LiveRecommender(runtime, updates.append, debounce_s=0.5)
    try:
        for frame in distinct:
            live.frame_arrived(frame)
        assert live.drain(timeout_s=60)
    finally:
        live.close()
        runtime.close()
    assert updates[0].frames == [distinct[-1].frame_id] and not updates[0].catch_up
    assert all(u.catch_up and len(u.frames) == 1 for u in updates[1:])
    assert updates[-1].summary.frames_read == len(distinct)  # in the end every screenshot is in the summary


def test_a_long_watch_keeps_the_latest_updates_whole_and_a_record_of_every_one(watched, monkeypatch):
    """Each update holds a summary of the whole session so far; keeping all of them would grow memory with the
    square of a watch's length."""
    import agent.live

    monkeypatch.setattr(agent.live, "KEPT_UPDATES", 3)
    runtime = build_runtime(load_settings(data_dir=watched["runtime"].settings.data_dir), products=shop_products())
    distinct = [f for f in watched["frames"] if f.duplicate_of is None]
    live = LiveRecommender(runtime, lambda update: None, debounce_s=0.0)
    try:
        for frame in distinct:  # one at a time, read from the OCR cache of the watch above
            live.frame_arrived(frame)
            assert live.drain(timeout_s=60)
    finally:
        live.close()
        runtime.close()
    assert len(live.history) > 3 and len(live.updates) == 3
    assert [u.number for u in live.updates] == [r.number for r in live.history[-3:]]
    assert [r.number for r in live.history] == list(range(1, len(live.history) + 1))
    assert all(r.latency_s > 0 and "read" in r.timings for r in live.history)


def test_a_catch_up_read_gives_way_to_a_new_screenshot_and_loses_nothing(watched, tmp_path):
    """Two screenshots at once (B newest, A to the backlog), then C while A is being read as a catch-up: the
    read of A stops, C is read next, then A; no line of text is recognised twice."""
    from tools.perception.ocr import OcrInterrupted, RapidOcrReader

    distinct = [f for f in watched["frames"] if f.duplicate_of is None]
    a, b, c = distinct[1], distinct[2], distinct[-1]  # a product page, a product page, the last mug page
    runtime = build_runtime(load_settings(data_dir=tmp_path), products=shop_products())  # a cold OCR cache
    reader, real_read, stopped = runtime.summariser, runtime.summariser.read_frame, []
    live = LiveRecommender(runtime, lambda update: None, debounce_s=0.5)

    def read_frame(frame, interrupted=None):
        if interrupted is None or stopped:
            return real_read(frame, interrupted=interrupted)
        asked = [0]

        def new_screenshot_after_five_lines() -> bool:
            asked[0] += 1
            if asked[0] == 6:
                live.frame_arrived(c)
            return interrupted()

        try:
            return real_read(frame, interrupted=new_screenshot_after_five_lines)
        except OcrInterrupted:
            stopped.append((frame.frame_id, asked[0]))
            raise

    reader.read_frame = read_frame
    assert live.wait_ready(timeout_s=60)  # the models load before the first screenshot, not during its read
    assert reader.ocr.loaded and reader.ocr.calls == 0
    try:
        live.frame_arrived(a)
        live.frame_arrived(b)
        assert live.drain(timeout_s=60)
    finally:
        live.close()
        runtime.close()
    assert stopped == [(a.frame_id, 6)]  # it stopped at the first line after C arrived
    assert (live.gave_way, live.screenshots_read) == (1, 3)
    assert [(u.frames, u.catch_up) for u in live.updates] == [
        ([b.frame_id], False), ([c.frame_id], False), ([a.frame_id], True)]
    assert live.updates[-1].summary.frames_read == 3
    fresh = RapidOcrReader()
    for frame in (a, b, c):
        fresh.read(Path(frame.path))
    assert reader.ocr.lines_recognised == fresh.lines_recognised


def test_watch_prints_one_json_line_per_update(tmp_path, capsys):
    from agent.cli.main import main

    script = tmp_path / "session.txt"
    script.write_text(two_category_script(load_products(), first_pages=2, then_pages=2), encoding="utf-8")
    assert main(["watch", "--script", str(script), "--json-lines", "--k", "3"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines and [line["update"] for line in lines] == list(range(1, len(lines) + 1))
    assert all(len(line["recommendations"]) == 3 and line["latency_s"] > 0 for line in lines)
