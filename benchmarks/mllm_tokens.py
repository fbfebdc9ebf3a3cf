"""MLLM prompt tokens per recommendation: the summary request with every unique screenshot at full size (the naive
pipeline), with today's screenshots-only request (each within ``vision_max_pixels``, at most 12), and with the
text layer (each page visit's own visible text once, plus its topmost screenshot downscaled, at low detail, where
the text falls short: a thin page, a product page whose text gives no title or price), and the same with every
product page's photo (``product_photos``), on sessions the real browser captures from the demo shop.

    python -m benchmarks.mllm_tokens [--persona NAME ...] [--real-pages N] [--out bench-results/mllm_tokens.json]

Each shopper browses the demo shop and gets its recommendation (``browse_and_recommend``, with the offline reader:
no model endpoint is used); then each mode's summary request for the session's frames is built
(``MllmSummariser.messages``: nothing is sent) and its prompt tokens estimated by ``agent/mllm/tokens.py`` (text at
4 characters a token, images by OpenAI's tile rule). The structured-output schema (``response_format``, json_schema
mode) is the same in every mode and counted apart. The built-in personas hop between pages; "pages" reads three
product pages from the top down, scrolling four times each (how ``browse-and-recommend --url`` browses).

Real material (``--real-pages N``, default 6; 0 for the demo shop alone): N saved product pages of each half of
the frozen split of ``../shared/data/product-pages-zyte`` (the rule of ``evals/reader/zyte_split.json``, recomputed
here: page ids sorted by the sha256 of the id, the first 70 development, the others test), the first N of each
half in split order, three pages a session. Each page is written to disk as UTF-8 and browsed by address as
``interarec browse-and-recommend --url FILE`` browses it: served read-only on 127.0.0.1, every other request
aborted by the browser (the saved pages' images, scripts and styles are not there, and nothing reaches the
network), the top of the page then scrolling down; the same token counts follow. Nothing is tuned on the test
half.

No model runs here, so whether a model fills the same summary fields from the text-layer request is checked by
proxy: every value the offline reader read from the same session (types, brands, prices, titles, queries,
promotions, specifications) is looked for in the page text the text-layer request carries.
"""

from __future__ import annotations

import argparse
import codecs
import gzip
import hashlib
import json
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
from catalog.shared_data import shared_data_root
from shop.pages import product_href
from tools.capture.browser import origin_of
from tools.capture.local_pages import LocalPages
from tools.capture.personas import PERSONAS, Persona, pages_persona
from tools.perception.page.visits import visits
from tools.schemas import Frame

READER_PAGES = 3  # product pages the "pages" shopper reads
READER_SCROLLS = 4
REAL_PAGES = 6  # saved real pages of each half of the split, by default
REAL_PAGES_PER_SESSION = 3
REAL_SCROLLS = 12  # as browse-and-recommend --url scrolls a page
_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.IGNORECASE)
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


def zyte_split(root: Path) -> dict[str, list[str]]:
    """The frozen split's halves: page ids sorted by sha256 of the id, the first half development."""
    ids = sorted(json.loads((root / "ground-truth.json").read_text(encoding="utf-8")),
                 key=lambda i: hashlib.sha256(i.encode("utf-8")).hexdigest())
    half = len(ids) // 2
    return {"dev": ids[:half], "test": ids[half:]}


def saved_page(root: Path, page_id: str, folder: Path) -> Path:
    """The saved page as a UTF-8 file with a byte-order mark (a saved page has lost the HTTP header that named its
    charset: its own ``<meta charset>`` in its first 64 KiB, else UTF-8)."""
    raw = gzip.decompress((root / "html" / f"{page_id}.html.gz").read_bytes())
    match = _CHARSET.search(raw[:65_536])
    charset = "utf-8"
    if match:
        try:
            charset = codecs.lookup(match.group(1).decode("ascii")).name
        except LookupError:
            pass
    path = folder / f"{page_id[:12]}.html"
    path.write_text("\ufeff" + raw.decode(charset, errors="replace"), encoding="utf-8")
    return path


def summarisers(runtime: Runtime) -> dict[str, MllmSummariser]:
    client = openai.OpenAI(base_url=UNUSED_ENDPOINT, api_key="unused", max_retries=0)
    pixels = runtime.settings.vision_max_pixels
    return {
        "naive": MllmSummariser(client, "bench", max_pixels=10**9, max_frames=10**6),  # every unique frame, full
        "screenshots": MllmSummariser(client, "bench", max_pixels=pixels),  # today's request without text layers
        "text_layer": MllmSummariser(client, "bench", max_pixels=pixels, text_layers=runtime.frames.text_layer),
        # every product page's photo too, as before a product page's text was taken to be enough
        "text_layer_photos": MllmSummariser(client, "bench", max_pixels=pixels, text_layers=runtime.frames.text_layer,
                                            product_photos=True),
    }


def estimate(summariser: MllmSummariser, frames: list[Frame],
             mode: str = "json_schema") -> tuple[PromptTokens, list[dict]]:
    """A summary request's tokens in a structured-output mode (in json_schema and tools modes the schema is in the
    request's arguments, not in the prompt; in json_object mode the prompt quotes it)."""
    messages = summariser.messages(frames, mode=mode)
    body = {"messages": messages, **structured_output(mode, summary_schema())}
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


def breakdown(messages: list[dict]) -> dict[str, Any]:
    """Where a text-layer request's tokens go: the prompt, the shared rows, each visit's text (its header, page
    text and markup line) and image, and screenshots sent without page text."""
    if not messages:
        return {}
    parts = messages[0]["content"]
    result: dict[str, Any] = {"prompt": text_tokens(parts[0]["text"]), "shared_rows": 0, "visits": []}
    for part in parts[1:]:
        if part["type"] == "image_url":
            tokens = request_tokens({"messages": [{"role": "user", "content": [part]}]}).image
            if result["visits"]:
                result["visits"][-1]["image"] = tokens
        elif part["text"].startswith("Shared rows:"):
            result["shared_rows"] = text_tokens(part["text"])
        else:
            kind = "visit" if part["text"].startswith("Visit ") else "screenshot"
            result["visits"].append({"kind": kind, "text": text_tokens(part["text"]), "image": 0})
    return result


def measure_session(runtime: Runtime, persona: Persona, start_url: str) -> dict[str, Any]:
    state = browse_and_recommend(runtime, persona, start_url, source=f"bench:mllm-tokens:{persona.name}")
    wanted = set(state["frame_ids"])
    frames = [f for f in runtime.frames.frames(state["session_id"]) if f.frame_id in wanted]
    unique = [f for f in frames if f.duplicate_of is None]
    modes, messages, quoted = {}, {}, {}
    for name, summariser in summarisers(runtime).items():
        tokens, messages[name] = estimate(summariser, frames)
        modes[name] = tokens.as_dict()
        quoted[name] = estimate(summariser, frames, "json_object")[0].as_dict()
    naive, text_layer = modes["naive"], modes["text_layer"]
    parts = breakdown(messages["text_layer"])
    text_layer["prompt"] = parts.get("prompt", 0)  # the template: the same for any session of its length
    text_layer["page_text"] = text_layer["text"] - text_layer["prompt"]
    return {
        "session": persona.name, "session_id": state["session_id"], "frames": len(frames), "unique": len(unique),
        "visits": len(visits(unique)),
        "with_text_layer": sum(runtime.frames.text_layer(f) is not None for f in unique),
        "tokens": modes,
        "tokens_json_object_mode": quoted,
        "ratio": round(text_layer["text_and_image"] / naive["text_and_image"], 3),
        "ratio_with_photos": round(modes["text_layer_photos"]["text_and_image"] / naive["text_and_image"], 3),
        "ratio_with_schema": round(text_layer["total"] / naive["total"], 3),
        "ratio_json_object_mode": round(quoted["text_layer"]["total"] / quoted["naive"]["total"], 3),
        "screenshots_ratio": round(modes["screenshots"]["text_and_image"] / naive["text_and_image"], 3),
        "summary_values_in_page_text": coverage(state["summary"], sent_text(messages["text_layer"])),
        "text_layer_breakdown": parts,
        "recommended_ids": [r["product_id"] for r in state["recommendations"]],
    }


def _table(results: list[dict]) -> str:
    head = (f"{'session':<16}{'unique':>7}{'visits':>7}  {'naive text+image':>18}  {'screenshots':>11}  "
            f"{'text layer: prompt+page text+image':>34}  {'ratio':>6}  {'w/ schema':>9}  {'json_object':>11}  "
            f"{'values in text':>14}")
    lines = [head, "-" * len(head)]
    for r in results:
        t = r["tokens"]
        n, s, x = t["naive"], t["screenshots"], t["text_layer"]
        cov = r["summary_values_in_page_text"]
        lines.append(
            f"{r['session']:<16}{r['unique']:>7}{r['visits']:>7}  "
            f"{n['text']:>6,}+{n['image']:>6,}={n['text_and_image']:>6,}  {s['text_and_image']:>11,}  "
            f"{x['prompt']:>11,}+{x['page_text']:>6,}+{x['image']:>5,}={x['text_and_image']:>6,}  "
            f"{r['ratio']:>6.1%}  {r['ratio_with_schema']:>9.1%}  {r['ratio_json_object_mode']:>11.1%}  "
            f"{cov['found']:>7}/{cov['values']:<6}")
    return "\n".join(lines)


def _totals(results: list[dict]) -> dict[str, Any]:
    if not results:
        return {}
    totals = {mode: sum(r["tokens"][mode]["text_and_image"] for r in results) for mode in results[0]["tokens"]}
    with_schema = {mode: sum(r["tokens"][mode]["total"] for r in results) for mode in results[0]["tokens"]}
    return {"ratio": round(totals["text_layer"] / totals["naive"], 3),
            "ratio_with_photos": round(totals["text_layer_photos"] / totals["naive"], 3),
            "ratio_with_schema": round(with_schema["text_layer"] / with_schema["naive"], 3),
            "text_and_image": totals, "sessions": len(results),
            "values_in_page_text": [sum(r["summary_values_in_page_text"][k] for r in results)
                                    for k in ("found", "values")]}


def real_sessions(runtime: Runtime, per_half: int, folder: Path) -> dict[str, list[dict]]:
    """Sessions over saved real product pages, per half of the frozen split (see the module's docstring)."""
    shared = shared_data_root()
    root = shared / "product-pages-zyte" if shared else None
    if per_half <= 0 or root is None or not root.is_dir():
        return {}
    results: dict[str, list[dict]] = {}
    for half, ids in zyte_split(root).items():
        files = [saved_page(root, page_id, folder) for page_id in ids[:per_half]]
        results[half] = []
        with LocalPages(files) as local:
            urls = [local.url_of(file) for file in files]
            if origin_of(urls[0]) not in runtime.browser_config.allowed_origins:
                runtime.browser_config.allowed_origins.append(origin_of(urls[0]))
            for start in range(0, len(urls), REAL_PAGES_PER_SESSION):
                chunk = urls[start:start + REAL_PAGES_PER_SESSION]
                persona = pages_persona(chunk, scrolls=REAL_SCROLLS).model_copy(
                    update={"name": f"real-{half}-{start // REAL_PAGES_PER_SESSION + 1}"})
                results[half].append(measure_session(runtime, persona, chunk[0]))
    return results


def measure(persona_names: list[str] | None = None, real_pages: int = REAL_PAGES) -> dict[str, Any]:
    names = [*PERSONAS, "pages"] if persona_names is None else persona_names
    with tempfile.TemporaryDirectory(prefix="interarec-bench-") as tmp:
        settings = load_settings(data_dir=Path(tmp), catalog_dir=Path(tmp) / "catalog")
        # offline whatever the environment says: the summary is the offline reader's, and nothing is sent
        settings = settings.model_copy(update={"openai_base_url": None, "vision_model": None, "chat_model": None})
        runtime = build_runtime(settings)
        try:
            results = []
            if names:
                with start_demo_shop() as shop:
                    results = [measure_session(runtime, reader_persona(shop.url) if name == "pages"
                                               else PERSONAS[name], shop.url) for name in names]
            pages = Path(tmp) / "saved-pages"
            pages.mkdir()
            real = real_sessions(runtime, real_pages, pages)
        finally:
            runtime.close()
    all_real = [r for half in real.values() for r in half]
    return {
        "settings": {
            "viewport": f"{settings.viewport_width}x{settings.viewport_height}",
            "vision_max_pixels": settings.vision_max_pixels, "max_frames": 12,
            "text_layer_max_pixels": DEFAULT_TEXT_LAYER_MAX_PIXELS, "text_layer_image_detail": TEXT_LAYER_IMAGE_DETAIL,
            "structured_output_mode": "json_schema (json_object mode, the schema quoted, beside it)",
            "target_ratio": TARGET, "real_pages_per_half": real_pages if real else 0,
            "real_pages_per_session": REAL_PAGES_PER_SESSION, "real_scrolls": REAL_SCROLLS,
            "estimator": "agent/mllm/tokens.py: text ceil(chars/4); images 85 + 170 per 512-px tile after fitting "
                         "2048 px and a shortest side of 768 px, 85 at low detail",
        },
        "sessions": results,
        "real_sessions": real,
        "overall_ratio": _totals(results).get("ratio"),
        "demo": _totals(results),
        "real": {half: _totals(sessions) for half, sessions in real.items()} | (
            {"all": _totals(all_real)} if all_real else {}),
    }


def rows(payload: dict[str, Any]) -> list[dict]:
    """The figures as ``interarec bench`` rows."""
    found = [("demo shop", payload["demo"])] + [(f"real pages ({half})", totals)
                                                for half, totals in payload["real"].items()]
    return [{"stage": "mllm tokens", "measure": f"text layer / naive, text+image: {name} ({t['sessions']} sessions)",
             "median": t["ratio"], "p95": None, "unit": "ratio"} for name, t in found if t]


def _report(title: str, sessions: list[dict], totals: dict[str, Any]) -> None:
    print(f"\n{title}")
    print(_table(sessions))
    print(f"all: text layer / naive = {totals['ratio']:.1%} of text+image tokens ({totals['ratio_with_schema']:.1%} "
          f"with the structured-output schema; target {TARGET:.0%}; {totals['ratio_with_photos']:.1%} with every "
          f"product page's photo); reader's values in the page text "
          f"{totals['values_in_page_text'][0]}/{totals['values_in_page_text'][1]}")
    print("where the text-layer request's tokens go (prompt + shared rows; then per visit text/image):")
    for r in sessions:
        b = r["text_layer_breakdown"]
        visits_text = " ".join(f"{v['text']}/{v['image']}" for v in b.get("visits", []))
        print(f"  {r['session']:<16}{b.get('prompt', 0):>5} + {b.get('shared_rows', 0):>4};  {visits_text}")
    for r in sessions:
        cov = r["summary_values_in_page_text"]
        print(f"  {r['session']:<16}{len(cov['fields_carried'])}/{len(cov['fields_filled'])} fields carried "
              f"({', '.join(cov['fields_filled'])})")
        if cov["missing"]:
            print(f"    not in the page text: {'; '.join(cov['missing'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persona", action="append", choices=[*PERSONAS, "pages"],
                        help="a shopper to run (repeatable; default: every built-in persona and 'pages')")
    parser.add_argument("--no-demo", action="store_true", help="only the real pages")
    parser.add_argument("--real-pages", type=int, default=REAL_PAGES, metavar="N",
                        help=f"saved real pages of each half of the split (default {REAL_PAGES}; 0: none)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    started = time.perf_counter()
    payload = measure([] if args.no_demo else args.persona, args.real_pages)
    if payload["sessions"]:
        _report("demo shop", payload["sessions"], payload["demo"])
    for half, sessions in payload["real_sessions"].items():
        _report(f"saved real product pages, {half} half of the split", sessions, payload["real"][half])
    summary = "; ".join(f"{row['measure']}: {row['median']:.1%}" for row in rows(payload))
    print(f"\n{summary} (target {TARGET:.0%}); {time.perf_counter() - started:.0f} s")
    print(f"wrote {write_results('mllm_tokens', payload, args.out)}")


if __name__ == "__main__":
    main()
