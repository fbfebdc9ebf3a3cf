"""Capture benchmark: screenshots per second and duplicate ratio while scrolling a listing and while idle
on a product page, the fastest rate the browser allows, and memory over a long run.

    python -m benchmarks.capture [--seconds 20] [--soak 300] [--out bench-results/capture.json]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from agent.settings import load_settings
from agent.wiring import browser_config, start_demo_shop
from benchmarks.common import tree_rss_mib, write_results
from tools.capture.browser import ShopperBrowser
from tools.capture.frames import FrameStore
from tools.capture.personas import PERSONAS
from tools.capture.shopper import run_persona


def _scenario(name: str, shop_url: str, frames: FrameStore, rate_hz: float, seconds: float, action) -> dict:  # noqa: ANN001
    config = browser_config(load_settings(capture_rate_hz=rate_hz))
    session_id = frames.new_session(f"bench:{name}")
    with ShopperBrowser(config, frames, session_id) as browser:
        action(browser, shop_url, seconds)
        stats = browser.stats
    frames.end_session(session_id)
    rows = frames.frames(session_id)
    span = rows[-1].captured_at - rows[0].captured_at if len(rows) > 1 else seconds
    return {"scenario": name, "rate_hz": rate_hz, "seconds": seconds, "captured": stats.captured,
            "kept": stats.kept, "duplicates": stats.duplicates, "blank": stats.blank,
            "frames_per_second": round(len(rows) / span, 2) if span else 0.0,
            "duplicate_ratio": round(stats.duplicates / max(1, stats.kept + stats.duplicates), 3)}


def _scroll_listing(browser: ShopperBrowser, shop_url: str, seconds: float) -> None:
    browser.goto(f"{shop_url}/c/wrist-watches")
    browser.capture("navigation")
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        browser.page.mouse.wheel(0, 250)  # a reader scrolling steadily
        browser.idle(0.5, end)


def _idle_product(browser: ShopperBrowser, shop_url: str, seconds: float) -> None:
    browser.goto(f"{shop_url}/c/wrist-watches")
    browser.page.locator("main [data-testid=product-link]").first.click()
    browser.page.wait_for_load_state("load")
    browser.capture("navigation")
    browser.idle(seconds)


def _soak(shop_url: str, frames: FrameStore, seconds: float) -> dict:
    """Loop the personas for ``seconds``, sampling the memory of this process tree every 10 s."""
    config = browser_config(load_settings())
    session_id = frames.new_session("bench:soak")
    samples: list[tuple[float, float]] = []
    started = time.monotonic()
    with ShopperBrowser(config, frames, session_id) as browser:
        personas = list(PERSONAS.values())
        turn = 0
        while (elapsed := time.monotonic() - started) < seconds:
            run_persona(browser, shop_url, personas[turn % len(personas)], pace_s=0.5, deadline=started + seconds)
            turn += 1
            if not samples or elapsed - samples[-1][0] >= 10:
                samples.append((round(elapsed, 1), round(tree_rss_mib(), 1), round(tree_rss_mib(os.getpid(), 0), 1)))
        samples.append((round(time.monotonic() - started, 1), round(tree_rss_mib(), 1),
                        round(tree_rss_mib(os.getpid(), 0), 1)))
        stats = browser.stats
    frames.end_session(session_id)
    warm = [mib for t, mib, _ in samples if t >= 60] or [samples[-1][1]]  # after start-up and the first pages
    second_half = [mib for t, mib, _ in samples if t >= seconds / 2] or [samples[-1][1]]
    return {"seconds": seconds, "captured": stats.captured, "kept": stats.kept, "duplicates": stats.duplicates,
            "rss_mib_first": samples[0][1], "rss_mib_after_60s": warm[0], "rss_mib_end": samples[-1][1],
            "rss_mib_max": max(mib for _, mib, _ in samples),
            "rss_growth_after_60s_mib": round(samples[-1][1] - warm[0], 1),
            "rss_mib_second_half_min_max": [min(second_half), max(second_half)],
            "python_rss_mib_end": samples[-1][2],
            "samples_seconds_tree_mib_python_mib": samples}


def measure(seconds: float = 20.0, soak_seconds: float = 0.0) -> dict:
    """The three rate scenarios of ``seconds`` each, and a memory run of ``soak_seconds`` (0 skips it)."""
    with tempfile.TemporaryDirectory() as tmp, start_demo_shop() as shop:
        frames = FrameStore(Path(tmp) / "frames")
        scenarios = [
            _scenario("scroll listing", shop.url, frames, 2.0, seconds, _scroll_listing),
            _scenario("idle product page", shop.url, frames, 2.0, seconds, _idle_product),
            _scenario("idle, fastest rate", shop.url, frames, 30.0, seconds, _idle_product),
        ]
        soak = _soak(shop.url, frames, soak_seconds) if soak_seconds > 0 else None
        frames.close()
    rows = [{"stage": "capture", "measure": f"{s['scenario']} at {s['rate_hz']:g} Hz", "median": s["frames_per_second"],
             "p95": None, "unit": "frames/s kept"} for s in scenarios]
    return {"settings": {"viewport": "1280x800", "near_duplicate_bits": 8, "seconds": seconds},
            "scenarios": scenarios, "soak": soak, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each rate scenario")
    parser.add_argument("--soak", type=float, default=300.0, help="length of the memory run (0 skips it)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    result = measure(args.seconds, args.soak)
    print(f"{'scenario':<22}{'rate':>6}{'captured':>10}{'kept':>6}{'dups':>6}{'fps':>7}{'dup ratio':>11}")
    for row in result["scenarios"]:
        print(f"{row['scenario']:<22}{row['rate_hz']:>6g}{row['captured']:>10}{row['kept']:>6}"
              f"{row['duplicates']:>6}{row['frames_per_second']:>7}{row['duplicate_ratio']:>11}")
    soak = result["soak"]
    if soak:
        low, high = soak["rss_mib_second_half_min_max"]
        print(f"soak {soak['seconds']:g}s: {soak['captured']} screenshots; RSS of this process and Chromium "
              f"{soak['rss_mib_after_60s']} MiB at 60 s, {soak['rss_mib_end']} MiB at the end, "
              f"{low}-{high} MiB over the second half (max {soak['rss_mib_max']})")
    print(f"wrote {write_results('capture', result, args.out)}")


if __name__ == "__main__":
    main()
