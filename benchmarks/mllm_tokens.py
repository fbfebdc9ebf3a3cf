"""MLLM prompt tokens per recommendation: the summary request with every unique screenshot at full size (the naive
pipeline), with today's screenshots-only request (each within ``vision_max_pixels``, at most 12), and with the
text layer (each page visit's own visible text once, plus its last screenshot downscaled, at low detail), on
sessions the real browser captures from the demo shop.

    python -m benchmarks.mllm_tokens [--persona NAME ...] [--out bench-results/mllm_tokens.json]

Each shopper browses the demo shop and gets its recommendation (``browse_and_recommend``, with the offline reader:
no model endpoint is used); then each mode's summary request for the session's frames is built
(``MllmSummariser.messages``: nothing is sent) and its prompt tokens estimated by ``agent/mllm/tokens.py`` (text at
4 characters a token, images by OpenAI's tile rule). The structured-output schema (``response_format``, json_schema
mode) is the same in every mode and counted apart. The built-in personas hop between pages; "pages" reads three
product pages from the top down, scrolling four times each (how ``browse-and-recommend --url`` browses).

No model runs here, so whether a model fills the same summary fields from the text-layer request is checked by
proxy: every value the offline reader read from the same session (types, brands, prices, titles, queries,
promotions, specifications) is looked for in the page text the text-layer request carries.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import openai

from agent.mllm.summariser import (
    DEFAULT_TEXT_LAYER_MAX_PIXELS,
    TEXT_LAYER_IMAGE_DETAIL,
    MllmSummariser,
    summary_schema,
)
from agent.mllm.tokens import PromptTokens, request_tokens, text_tokens
from agent.mllm.wire import structured_output
from agent.pipeline import browse_and_recommend
from agent.settings import load_settings
from agent.wiring import Runtime, build_runtime, start_demo_shop
from benchmarks.common import write_results
from catalog.files import DEMO_PRODUCTS, load_products
from shop.pages import product_href
from tools.capture.personas import PERSONAS, Persona, pages_persona
from tools.perception.page.visits import visits
from tools.schemas import Frame

READER_PAGES = 3  # product pages the "pages" shopper reads
READER_SCROLLS = 4
TARGET = 0.20  # of the naive pipeline's text and image tokens (issue 18)
UNUSED_ENDPOINT = "http://127.0.0.1:9/v1"  # the summarisers here only build requests; nothing listens there
_MARKS = re.compile(r"\{\d+px\}")


def _compact(text: str) -> str:
    return re.sub(r"[\W_]+", "", _MARKS.sub("", text).casefold())


def reader_persona(shop_url: str) -> Persona:
    """Three wrist watches of the demo catalog, each read from the top down."""
    watches = sorted((p for p in load_products(DEMO_PRODUCTS)
                      if p.category_path and p.category_path[-1] == "Wrist Watches" and p.price),
                     key=lambda p: p.id)[:READER_PAGES]
    persona = pages_persona([shop_url + product_href(p.id) for p in watches], scrolls=READER_SCROLLS)
    return persona.model_copy(update={"name": "pages"})


def summarisers(runtime: Runtime) -> dict[str, MllmSummariser]:
    client = openai.OpenAI(base_url=UNUSED_ENDPOINT, api_key="unused", max_retries=0)
    pixels = runtime.settings.vision_max_pixels
    return {
        "naive": MllmSummariser(client, "bench", max_pixels=10**9, max_frames=10**6),  # every unique frame, full
        "screenshots": MllmSummariser(client, "bench", max_pixels=pixels),  # today's request without text layers
        "text_layer": MllmSummariser(client, "bench", max_pixels=pixels, text_layers=runtime.frames.text_layer),
    }


def estimate(summariser: MllmSummariser, frames: list[Frame]) -> tuple[PromptTokens, list[dict]]:
    messages = summariser.messages(frames)
    body = {"messages": messages, **structured_output("json_schema", summary_schema())}
    return request_tokens(body), messages


def sent_text(messages: list[dict]) -> str:
    """The page text of a request: its text parts after the prompt."""
    parts = messages[0]["content"][1:] if messages else []
    return "\n".join(p["text"] for p in parts if p.get("type") == "text")


def summary_values(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, value) of every value the offline reader read, as text to look for."""
    values: list[tuple[str, str]] = []
    for name in ("types", "styles", "colours"):
        values += [(f"product_characteristics.{name}", e["value"])
                   for e in summary["product_characteristics"][name]]
    for name in ("brand_preferences", "specifications", "promotions", "search_queries"):
        values += [(name, e["value"]) for e in summary[name]]
    price_range = summary["price_range"]
    values += [(f"price_range.{end}", f"{price_range[end]:g}") for end in ("lowest", "highest")
               if price_range[end] is not None]
    for product in summary["products_seen"]:
        values += [(f"products_seen.{key}", f"{product[key]:g}" if isinstance(product[key], float) else product[key])
                   for key in ("title", "brand", "price", "list_price") if product.get(key) is not None]
    return values


def coverage(summary: dict[str, Any], text: str) -> dict[str, Any]:
    """Whether the page text carries every value the offline reader read, value by value and field by field (a
    field counts as carried when all its values are in the text)."""
    haystack = _compact(text)
    values = summary_values(summary)
    missing = [f"{field}: {value}" for field, value in values if _compact(value) not in haystack]
    fields = sorted({field for field, _ in values})
    carried = [f for f in fields if not any(m.startswith(f + ":") for m in missing)]
    return {"values": len(values), "found": len(values) - len(missing), "missing": missing,
            "fields_filled": fields, "fields_carried": carried}


def breakdown(messages: list[dict], schema_text: str) -> dict[str, Any]:
    """Where a text-layer request's tokens go: the prompt's own words, the schema it quotes, the shared rows, each
    visit's text (its header, page text and markup line) and image, and screenshots sent without page text."""
    if not messages:
        return {}
    parts = messages[0]["content"]
    prompt = parts[0]["text"]
    quoted = text_tokens(schema_text) if schema_text in prompt else 0
    result: dict[str, Any] = {"prompt_words": text_tokens(prompt) - quoted, "prompt_schema": quoted,
                              "shared_rows": 0, "visits": []}
    for part in parts[1:]:
        if part["type"] == "image_url":
            tokens = request_tokens({"messages": [{"role": "user", "content": [part]}]}).image
            if result["visits"]:
                result["visits"][-1]["image"] = tokens
        elif part["text"].startswith("Shared rows:"):
            result["shared_rows"] = text_tokens(part["text"])
        else:
            kind = "visit" if part["text"].startswith("Page visit") else "screenshot"
            result["visits"].append({"kind": kind, "text": text_tokens(part["text"]), "image": 0})
    return result


def measure_session(runtime: Runtime, persona: Persona, shop_url: str) -> dict[str, Any]:
    state = browse_and_recommend(runtime, persona, shop_url, source=f"bench:mllm-tokens:{persona.name}")
    wanted = set(state["frame_ids"])
    frames = [f for f in runtime.frames.frames(state["session_id"]) if f.frame_id in wanted]
    unique = [f for f in frames if f.duplicate_of is None]
    modes, messages = {}, {}
    for name, summariser in summarisers(runtime).items():
        tokens, messages[name] = estimate(summariser, frames)
        modes[name] = tokens.as_dict()
    naive, text_layer = modes["naive"], modes["text_layer"]
    prompt = messages["text_layer"][0]["content"][0]["text"] if messages["text_layer"] else ""
    schema = prompt.rstrip("\n").rsplit("\n", 1)[-1]  # the templates end with the schema
    text_layer["prompt"] = text_tokens(prompt)  # the template and the schema it quotes: the same for any session
    text_layer["prompt_schema"] = text_tokens(schema)
    text_layer["page_text"] = text_layer["text"] - text_layer["prompt"]
    parts = breakdown(messages["text_layer"], schema)
    return {
        "session": persona.name, "session_id": state["session_id"], "frames": len(frames), "unique": len(unique),
        "visits": len(visits(unique)),
        "with_text_layer": sum(runtime.frames.text_layer(f) is not None for f in unique),
        "tokens": modes,
        "ratio": round(text_layer["text_and_image"] / naive["text_and_image"], 3),
        "ratio_with_schema": round(text_layer["total"] / naive["total"], 3),
        "screenshots_ratio": round(modes["screenshots"]["text_and_image"] / naive["text_and_image"], 3),
        "summary_values_in_page_text": coverage(state["summary"], sent_text(messages["text_layer"])),
        "text_layer_breakdown": parts,
        "recommended_ids": [r["product_id"] for r in state["recommendations"]],
    }


def _table(results: list[dict]) -> str:
    head = (f"{'session':<16}{'unique':>7}{'visits':>7}  {'naive text+image':>18}  {'screenshots':>11}  "
            f"{'text layer: prompt+page text+image':>34}  {'ratio':>6}  {'w/ schema':>9}  {'values in text':>14}")
    lines = [head, "-" * len(head)]
    for r in results:
        t = r["tokens"]
        n, s, x = t["naive"], t["screenshots"], t["text_layer"]
        cov = r["summary_values_in_page_text"]
        lines.append(
            f"{r['session']:<16}{r['unique']:>7}{r['visits']:>7}  "
            f"{n['text']:>6,}+{n['image']:>6,}={n['text_and_image']:>6,}  {s['text_and_image']:>11,}  "
            f"{x['prompt']:>11,}+{x['page_text']:>6,}+{x['image']:>5,}={x['text_and_image']:>6,}  "
            f"{r['ratio']:>6.1%}  {r['ratio_with_schema']:>9.1%}  {cov['found']:>7}/{cov['values']:<6}")
    return "\n".join(lines)


def measure(persona_names: list[str] | None = None) -> dict[str, Any]:
    names = persona_names or [*PERSONAS, "pages"]
    with tempfile.TemporaryDirectory(prefix="interarec-bench-") as tmp:
        settings = load_settings(data_dir=Path(tmp), catalog_dir=Path(tmp) / "catalog")
        # offline whatever the environment says: the summary is the offline reader's, and nothing is sent
        settings = settings.model_copy(update={"openai_base_url": None, "vision_model": None, "chat_model": None})
        runtime = build_runtime(settings)
        try:
            with start_demo_shop() as shop:
                results = [measure_session(runtime, reader_persona(shop.url) if name == "pages" else PERSONAS[name],
                                           shop.url) for name in names]
        finally:
            runtime.close()
    totals = {mode: sum(r["tokens"][mode]["text_and_image"] for r in results) for mode in results[0]["tokens"]}
    return {
        "settings": {
            "viewport": f"{settings.viewport_width}x{settings.viewport_height}",
            "vision_max_pixels": settings.vision_max_pixels, "max_frames": 12,
            "text_layer_max_pixels": DEFAULT_TEXT_LAYER_MAX_PIXELS, "text_layer_image_detail": TEXT_LAYER_IMAGE_DETAIL,
            "structured_output_mode": "json_schema", "target_ratio": TARGET,
            "estimator": "agent/mllm/tokens.py: text ceil(chars/4); images 85 + 170 per 512-px tile after fitting "
                         "2048 px and a shortest side of 768 px, 85 at low detail",
        },
        "sessions": results,
        "overall_ratio": round(totals["text_layer"] / totals["naive"], 3),
        "totals_text_and_image": totals,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persona", action="append", choices=[*PERSONAS, "pages"],
                        help="a shopper to run (repeatable; default: every built-in persona and 'pages')")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    started = time.perf_counter()
    payload = measure(args.persona)
    print(_table(payload["sessions"]))
    print(f"all sessions: text layer / naive = {payload['overall_ratio']:.1%} of text+image tokens "
          f"(target {TARGET:.0%}); {time.perf_counter() - started:.0f} s")
    print("\nwhere the text-layer request's tokens go (prompt words + quoted schema + shared rows; then per visit "
          "text/image):")
    for r in payload["sessions"]:
        b = r["text_layer_breakdown"]
        visits_text = " ".join(f"{v['text']}/{v['image']}" for v in b["visits"])
        print(f"  {r['session']:<16}{b['prompt_words']:>5} + {b['prompt_schema']:>4} + {b['shared_rows']:>3};  "
              f"{visits_text}")
    print("\nsummary fields the offline reader filled, and those whose every value the text-layer request carries:")
    for r in payload["sessions"]:
        cov = r["summary_values_in_page_text"]
        print(f"  {r['session']:<16}{len(cov['fields_carried'])}/{len(cov['fields_filled'])} fields "
              f"({', '.join(cov['fields_filled'])})")
    for r in payload["sessions"]:
        if r["summary_values_in_page_text"]["missing"]:
            print(f"{r['session']}: not in the page text: {'; '.join(r['summary_values_in_page_text']['missing'])}")
    print(f"wrote {write_results('mllm_tokens', payload, args.out)}")


if __name__ == "__main__":
    main()
