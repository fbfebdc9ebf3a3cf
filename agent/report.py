"""One self-contained HTML file per browse-and-recommend run: the screenshots, the summary with the screenshots
each value came from, the recommendations and what the optimiser was asked to do.

Images are inlined as JPEG data: URLs and there is no script, so the file can be archived or mailed and opened
anywhere. All text is escaped: titles, URLs and summary values come from OCR of arbitrary web pages.
"""

from __future__ import annotations

import base64
import html
import io
import re
import time
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from PIL import Image

from catalog.models import Product
from tools.atomic import write_atomically
from tools.recommend.explain import money
from tools.schemas import Frame

SHOT_WIDTH = 720  # one copy per screenshot, shown small until opened: about 60 KB for a 1280x800 shop page
SHOT_QUALITY = 70
PHOTO_SIZE = 160
_CITATION = re.compile(r"\(screenshots ([^)]*)\)")  # as written by tools.recommend.explain._cite
_NUMBER = re.compile(r"#(\d+)")

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:1.5em auto;max-width:1200px;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{margin-top:1.8em;border-bottom:1px solid #ddd}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
.timeline{list-style:none;padding:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(250px,1fr));gap:12px}
.shot{border:1px solid #ddd;padding:6px;overflow-wrap:anywhere}.shot:target{outline:3px solid #e8a33d}
.shot:has(details[open]){grid-column:1/-1}
.shot summary{list-style:none;cursor:zoom-in}.shot img{width:100%;display:block}
.shot details[open] img{width:auto;max-width:100%;cursor:zoom-out}
.src,.meta{color:#666;font-size:.9em}ul.values{margin:0;padding-left:1.2em}
.rec{display:flex;gap:14px;border:1px solid #ddd;padding:10px;margin:10px 0}.rec img{width:120px;height:auto}
.rank{font-size:1.6em;font-weight:bold;color:#888}
"""


def _rgb(image: Image.Image) -> Image.Image:
    """Transparent PNGs would turn black as JPEG; lay them on white."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


def _jpeg_url(image: Image.Image, quality: int) -> str:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _image_url(path: Path | None, box: tuple[int, int], quality: int) -> str | None:
    """A downscaled JPEG data: URL, or None when the file is missing or does not decode."""
    if path is None:
        return None
    try:
        with Image.open(path) as image:
            image.draft("RGB", box)  # JPEG photos decode at reduced size: much faster
            small = _rgb(image)
        small.thumbnail(box)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    return _jpeg_url(small, quality)


@cache
def _placeholder() -> str:
    return _jpeg_url(Image.new("RGB", (PHOTO_SIZE, PHOTO_SIZE), (221, 221, 221)), 60)


def _e(value: object) -> str:
    return html.escape(str(value))


def _anchors(frames: list[Frame]) -> dict[str, int]:
    """frame id -> number of the kept frame in the timeline (a duplicate points at the frame it repeats)."""
    numbers = {f.frame_id: f.sequence for f in frames if f.duplicate_of is None}
    for f in frames:
        if f.duplicate_of in numbers:
            numbers[f.frame_id] = numbers[f.duplicate_of]
    return numbers


def _links(frame_ids: Iterable[str], anchors: dict[str, int]) -> str:
    linked = sorted({anchors[f] for f in frame_ids if f in anchors})
    missing = sorted({f for f in frame_ids if f not in anchors})  # cited but not in this report's frames
    parts = [f'<a href="#shot-{n}">#{n}</a>' for n in linked] + [_e(f) for f in missing]
    return f' <span class="src">(screenshots {", ".join(parts)})</span>' if parts else ""


def _link_citations(text: str, session_id: str, anchors: dict[str, int]) -> str:
    """Escape a reason and turn its "(screenshots #3, #5)" numbers into links to the timeline."""

    def number(match: re.Match) -> str:
        target = anchors.get(f"{session_id}:{match.group(1)}")
        return match.group(0) if target is None else f'<a href="#shot-{target}">#{target}</a>'

    return _CITATION.sub(lambda m: "(screenshots " + _NUMBER.sub(number, m.group(1)) + ")", _e(text))


def _table(rows: Iterable[tuple[str, str]]) -> str:
    """Rows of (escaped header, ready-made HTML cell)."""
    return "<table>" + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows) + "</table>"


def _header(state: dict[str, Any], frames: list[Frame], kept: list[Frame], backends: dict[str, str]) -> str:
    captured = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(frames[0].captured_at)) if frames else "-"
    timings = state.get("timings", {})
    rows = [("session", _e(state.get("session_id", "-"))), ("captured", _e(captured)),
            ("report written", _e(time.strftime("%Y-%m-%d %H:%M:%S"))),
            ("screenshots", f"{len(kept)} kept, {len(frames) - len(kept)} left out as duplicates")]
    rows += [(_e(role), _e(name)) for role, name in backends.items()]
    if timings:
        rows.append(("timings", ", ".join(f"{_e(stage)} {seconds:.2f} s" for stage, seconds in timings.items())
                     + f" (total {sum(timings.values()):.2f} s)"))
    return f"<h1>InteraRec report</h1>{_table(rows)}"


def _timeline(frames: list[Frame], kept: list[Frame]) -> str:
    start = frames[0].captured_at if frames else 0.0
    items = []
    for f in kept:
        url = _image_url(Path(f.path), (SHOT_WIDTH, SHOT_WIDTH * 4), SHOT_QUALITY)
        picture = (f'<details><summary><img src="{url}" alt="screenshot #{f.sequence}"></summary></details>'
                   if url else '<p class="meta">(screenshot file missing or unreadable)</p>')
        items.append(
            f'<li class="shot" id="shot-{f.sequence}">{picture}<div><b>#{f.sequence}</b> '
            f'<span class="meta">+{f.captured_at - start:.1f} s &middot; {_e(f.reason or "-")}</span></div>'
            f'<div>{_e(f.title)}</div><div class="meta">{_e(f.url)}</div></li>')
    return f'<h2>Screenshots</h2><ol class="timeline">{"".join(items)}</ol>'


def _summary(summary: dict[str, Any], anchors: dict[str, int]) -> str:
    def values(entries: list[tuple[str, list[str]]]) -> str:
        if not entries:
            return '<span class="meta">none</span>'
        return '<ul class="values">' + "".join(f"<li>{_e(v)}{_links(ids, anchors)}</li>" for v, ids in entries) \
            + "</ul>"

    def evidence(items: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
        return [(e["value"] + (f" (x{e['count']})" if e["count"] > 1 else ""), e["frame_ids"]) for e in items]

    chars, prices = summary["product_characteristics"], summary["price_range"]
    band = [] if prices["lowest"] is None else [(
        f"{money(prices['lowest'], prices['currency'])} - {money(prices['highest'], prices['currency'])}",
        prices["frame_ids"])]
    def seen_product(p: dict[str, Any]) -> str:
        price = None if p.get("price") is None else money(p["price"], prices["currency"])
        return " · ".join(str(x) for x in (p["title"], p.get("brand"), price) if x)

    seen = [(seen_product(p), [p["frame_id"]]) for p in summary["products_seen"]]
    rows = [("types", evidence(chars["types"])), ("styles", evidence(chars["styles"])),
            ("colours", evidence(chars["colours"])), ("price range", band),
            ("brands", evidence(summary["brand_preferences"])),
            ("specifications", evidence(summary["specifications"])), ("reviews", evidence(summary["reviews"])),
            ("comparisons", evidence(summary["comparisons"])), ("promotions", evidence(summary["promotions"])),
            ("search queries", evidence(summary["search_queries"])), ("products seen", seen)]
    return (f'<h2>Behaviour summary</h2><p class="meta">by {_e(summary["summariser"])}, from '
            f'{summary["frames_read"]} screenshots</p>' + _table((k, values(v)) for k, v in rows))


def _recommendations(state: dict[str, Any], products: dict[str, Product], image_dir: Path | None,
                     anchors: dict[str, int]) -> str:
    session_id = state.get("session_id", "")
    cards = []
    for rec in state.get("recommendations", []):
        product = products.get(rec["product_id"])
        photo = None
        if product is not None and product.image and image_dir is not None:
            photo = _image_url(image_dir / product.image, (PHOTO_SIZE, PHOTO_SIZE), 80)
        price = "-" if rec["price"] is None else money(rec["price"], rec["currency"])
        reasons = "".join(f"<li>{_link_citations(r, session_id, anchors)}</li>" for r in rec["reasons"])
        cards.append(
            f'<div class="rec"><span class="rank">{rec["rank"]}</span>'
            f'<img src="{photo or _placeholder()}" alt="{"photo" if photo else "no photo"}">'
            f'<div><b class="title">{_e(rec["title"])}</b><div class="meta">{_e(rec["brand"] or "-")} &middot; '
            f'{_e(price)} &middot; choice probability {rec["score"]:.1%} &middot; {_e(rec["product_id"])}</div>'
            f'<ul>{reasons}</ul></div></div>')
    return "<h2>Recommendations</h2>" + ("".join(cards) or '<p class="meta">none</p>')


def _constraints(state: dict[str, Any], anchors: dict[str, int]) -> str:
    constraints = dict(state.get("constraints", {}))
    provenance = constraints.pop("provenance", {})
    rows = [(_e(name), _e(", ".join(map(str, value)) if isinstance(value, list) else value)
             + _links(provenance.get(name, []), anchors))
            for name, value in constraints.items() if value not in (None, [], "")]
    optimizer = state.get("optimizer", {})
    solved = [(_e(k), _e(optimizer[k])) for k in ("status", "mode", "objective_value", "solve_seconds",
                                                   "candidates") if k in optimizer]
    if (optimizer.get("relaxation") or {}).get("message"):
        solved.append(("relaxation", _e(optimizer["relaxation"]["message"])))
    unmet = "".join(f"<li>{_e(note)}</li>" for note in state.get("unmet", []))
    return ("<h2>Constraints</h2>" + _table(rows) + "<h2>Optimiser</h2>" + _table(solved)
            + (f"<h3>Unmet</h3><ul>{unmet}</ul>" if unmet else ""))


def write_report(path: Path, state: dict[str, Any], frames: list[Frame], products: dict[str, Product],
                 image_dir: Path | None, backends: dict[str, str]) -> Path:
    """Write the report for one run (``state`` as returned by the pipeline) atomically; returns ``path``."""
    frames = sorted(frames, key=lambda f: f.sequence)
    kept = [f for f in frames if f.duplicate_of is None]
    anchors = _anchors(frames)
    body = [_header(state, frames, kept, backends), _timeline(frames, kept)]
    if "summary" in state:
        body.append(_summary(state["summary"], anchors))
    body += [_recommendations(state, products, image_dir, anchors), _constraints(state, anchors)]
    # the policy makes the no-network, no-script promise hold even if escaping were ever missed somewhere
    document = ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
                '<meta http-equiv="Content-Security-Policy" '
                "content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">"
                f'<title>InteraRec report {_e(state.get("session_id", ""))}</title><style>{_CSS}</style></head>'
                f'<body>{"".join(body)}</body></html>\n')
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, document.encode("utf-8"))  # readers see the old report or the whole new one
    return path
