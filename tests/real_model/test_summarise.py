"""A captured session summarised by the real model (`interarec summarize SESSION --json` with the endpoint as the
vision model): a valid summary by the MLLM itself (no fallback), whose evidence cites only the session's own
screenshots, and whose values are on the pages the screenshots show: what the frames do not show stays empty."""

from __future__ import annotations

import json
import re
from pathlib import Path

from agent.mllm.cache import cited_frame_ids
from tests.real_model.conftest import run_cli
from tools.capture.frames import FrameStore
from tools.schemas import BehaviorSummary


def _page_text(data_dir: Path, session_id: str) -> tuple[set[str], str]:
    """The session's frame ids and all the text its pages showed (lower case, numbers without separators)."""
    store = FrameStore(data_dir / "frames")
    try:
        frames = store.frames(session_id)
        layers = [store.text_layer(f) for f in frames]
    finally:
        store.close()
    text = " ".join(line.text for layer in layers if layer for line in layer.lines).lower()
    return {f.frame_id for f in frames}, re.sub(r"(?<=\d),(?=\d)", "", text)


def _number_shown(value: float, text: str) -> bool:
    whole = f"{value:.0f}" if float(value).is_integer() else f"{value:g}"
    return re.search(rf"(?<![\d.]){re.escape(whole)}(?![\d])", text) is not None


def test_a_captured_session_is_summarised_by_the_real_model_with_its_provenance(endpoint, captured, data_dir, use):
    use(endpoint.env())
    code, out = run_cli(["summarize", captured["session_id"], "--json"])
    assert code == 0, out
    summary = json.loads(out)["summary"]
    BehaviorSummary.model_validate(summary)  # the schema every summariser answers in
    assert summary["summariser"].startswith(f"MLLM {endpoint.model} "), summary["summariser"]
    assert "fallback" not in summary["summariser"]

    frame_ids, text = _page_text(data_dir, captured["session_id"])
    assert summary["frames_read"] >= 1
    assert cited_frame_ids(summary) <= frame_ids  # provenance: only the session's own screenshots are cited

    # Nothing invented: every brand, price and product title the summary holds is on a page the frames show.
    invented = [b["value"] for b in summary["brand_preferences"] if b["value"].lower() not in text]
    prices = summary["price_range"]
    invented += [f"price {p}" for p in (prices["lowest"], prices["highest"]) if p is not None and
                 not _number_shown(p, text)]
    for product in summary["products_seen"]:
        if product["title"].lower() not in text:
            invented.append(f"title {product['title']!r}")
        if product.get("price") is not None and not _number_shown(product["price"], text):
            invented.append(f"price {product['price']} of {product['title']!r}")
    assert not invented, f"values no frame shows: {invented}"
