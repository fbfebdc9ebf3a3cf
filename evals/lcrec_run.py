"""The real-shopper experiment on an LC-Rec folder (`interarec eval --dataset lcrec:PATH`): leave-last-out per
user, full ranking over the dataset's items with the user's history excluded, every method on the same users,
means with bootstrap intervals and paired bootstrap differences. The protocol: docs/real-shoppers.md.

InteraRec's part: each item is a product page of the demo shop's engine; every distinct page the sampled users
need is opened once in Chromium (one frame per page, with its text layer) into a page store kept beside the
run's catalog store, both named by the dataset's content hash, so a second run neither re-embeds nor
re-captures. A user's capture is the frames of their last N history pages, in order.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from agent.settings import Settings
from agent.wiring import build_runtime, offline_reader, start_shop
from catalog.models import Product
from evals import baselines
from evals.aggregate import Record
from evals.cases import EvalCase, Recommender
from evals.content import CombinedRecommender, ContentRecommender
from evals.datasets import lcrec
from evals.methods import Capture, InteraRecMethod
from evals.run import EVAL_PACE_S, KS, git_revision
from evals.stats import paired_bootstrap_diff, summarise
from tools.capture.personas import Persona, Step
from tools.capture.session import browse_session
from tools.recommend.candidates import (
    LEXICAL_WEIGHT,
    SEEN_BRAND_WEIGHT,
    SEEN_POOL,
    SESSION_POOL,
    SESSION_WEIGHT,
    TYPE_WEIGHT,
)
from tools.recommend.constraints import DOMINANT_TYPE_SHARE
from tools.schemas import Frame
from tools.sessions.models import SKNN, STAN, VSKNN

PAGE_SOURCE = "lcrec-pages"
# The frames-per-page ablation: each page opened, then scrolled twice by a viewport, into a page store of its own;
# a user's capture is then each page's top frame, top + first scroll, or all (a page too short to scroll gives
# duplicates of its top frame, dropped).
FRAMES_PER_PAGE = {"top": 1, "scroll": 2, "all": None}
SCROLLS = 2
PAGES_PER_BROWSE = 60  # pages opened per browser session while filling the page cache
PAIRED = ("hr@10", "ndcg@10", "mrr@10")
METRICS = tuple(f"{m}@{k}" for k in (10, 20) for m in ("hr", "ndcg", "mrr"))
TRAINED = ("popularity", "item-knn", "sknn", "v-sknn", "stan", "content", "content+item-knn")


@dataclass(frozen=True)
class LcrecSuite:
    name: str
    users: int | None  # sampled users (None: all)
    resamples: int
    interarec: bool = True
    pages: int = 5  # history pages InteraRec browses
    thresholds: dict[str, float] = field(default_factory=dict)  # "method/metric" -> minimum mean
    # the dataset (sha256 of its two files) the floors were set on: another folder's figures are reported, and
    # measured against no floor of this one
    thresholds_dataset: str | None = None


LCREC_SUITES = {
    # quick: 30 test users for the test command. Bounds: the lower 95% bounds of the full run (500 test users,
    # seed 0, at 0b5b5f9; interarec+session at fc9755a, docs/real-shoppers.md); the sample fails when its own
    # upper bound falls below one.
    "quick": LcrecSuite("quick", users=30, resamples=1000, thresholds={
        "item-knn/hr@10": 0.086, "content/hr@10": 0.082, "content+item-knn/hr@10": 0.104,
        "interarec/hr@10": 0.064, "interarec+session/hr@10": 0.092},
        thresholds_dataset="07522cb28f6f9f6304ad9263c4cbf6cdf153ac6650cdbfce3861e2eac0553c8a"),  # Scientific
    "full": LcrecSuite("full", users=500, resamples=2000),
    "baselines": LcrecSuite("baselines", users=3000, resamples=2000, interarec=False),
}


def floors_for(suite: LcrecSuite, digest: str) -> tuple[dict[str, float], str | None]:
    """The suite's floors for the dataset of this sha256, and a note when it has none for it: floors set on one
    folder's full run say nothing of another folder (the command runs there all the same)."""
    if suite.thresholds_dataset in (None, digest) or not suite.thresholds:
        return dict(suite.thresholds), None
    return {}, ("no floors for this dataset: the quick floors were set on sessions-amazon-scientific-2018 "
                f"(sha256 {suite.thresholds_dataset[:12]}); figures reported, nothing checked")


def _page_path(url: str) -> str:
    return urlsplit(url).path


def page_frames(runtime, pids: list[str], shop_url: str, progress: Callable[[str], None],
                scrolls: int = 0) -> dict[str, list[Frame]]:
    """Product id -> its page's frames, opening in Chromium only the pages the page store does not hold yet
    (with ``scrolls``: each page then scrolled that many viewports, kept apart from the one-frame pages)."""
    store = runtime.frames
    source = f"{PAGE_SOURCE}+scroll{scrolls}" if scrolls else PAGE_SOURCE
    by_path: dict[str, list[Frame]] = {}
    for session in store.sessions():
        if session.source.startswith(f"{source}:") and session.status == "complete":
            frames = store.frames(session.session_id)
            originals = {f.frame_id: f for f in frames}
            for frame in frames:
                frame = originals.get(frame.duplicate_of or "", frame)
                by_path.setdefault(_page_path(frame.url), []).append(frame)
    wanted = {pid: f"/p/{pid}" for pid in pids}
    missing = [pid for pid, path in wanted.items() if path not in by_path]
    for start in range(0, len(missing), PAGES_PER_BROWSE):
        chunk = missing[start:start + PAGES_PER_BROWSE]
        persona = Persona(name="lcrec-pages", description="Opens each item's product page once.",
                          steps=[step for pid in chunk for step in [Step(action="goto", text=wanted[pid])] + [
                              Step(action="scroll", amount=runtime.browser_config.height)] * scrolls])
        session_id = store.new_session(f"{source}:{len(chunk)}")
        browse_session(runtime.browser_config, store, session_id, shop_url, persona, pace_s=0.0)  # one frame a page
        frames = store.frames(session_id)
        originals = {f.frame_id: f for f in frames}
        for frame in frames:
            frame = originals.get(frame.duplicate_of or "", frame)
            by_path.setdefault(_page_path(frame.url), []).append(frame)
        progress(f"pages: captured {min(start + PAGES_PER_BROWSE, len(missing))}/{len(missing)} new "
                 f"({len(wanted) - len(missing)} cached)")
    out = {}
    for pid, path in wanted.items():
        seen: set[str] = set()
        out[pid] = [f for f in by_path.get(path, []) if not (f.frame_id in seen or seen.add(f.frame_id))]
    return out


def _baselines(products: list[Product]) -> list[Recommender]:
    ids = [p.id for p in products]
    return [
        baselines.PopularityRecommender(ids),
        baselines.ItemKnnRecommender(ids),
        baselines.SessionModelRecommender(SKNN(), ids, name="sknn"),
        baselines.SessionModelRecommender(VSKNN(), ids, name="v-sknn"),
        baselines.SessionModelRecommender(STAN(), ids, name="stan"),
        ContentRecommender(products),
        CombinedRecommender(ContentRecommender(products), baselines.ItemKnnRecommender(ids)),
    ]


def _values(ranked: list[str], case: EvalCase) -> dict[str, float]:
    from evals.metrics import hit_rate, mrr, ndcg

    targets = set(case.targets)
    values = {}
    for k in KS:
        values[f"hr@{k}"] = hit_rate(ranked, targets, k)
        values[f"ndcg@{k}"] = ndcg(ranked, targets, k)
        values[f"mrr@{k}"] = mrr(ranked, targets, k)
    return values


def _score_all(method: Recommender, cases: list[EvalCase], progress: Callable[[str], None]) -> list[Record]:
    records = []
    step = max(1, len(cases) // 10)
    for n, case in enumerate(cases, start=1):
        tick = time.perf_counter()
        ranked = method.recommend(case, max(KS))
        records.append(Record(case.dataset, method.name, case.case_id, case.length, _values(ranked, case),
                              ranked[:10], {"recommend": time.perf_counter() - tick,
                                            **dict(getattr(getattr(method, "last", None), "timings", {}) or {})}))
        if n % step == 0 or n == len(cases):
            progress(f"{method.name}: {n}/{len(cases)} users [{'#' * (10 * n // len(cases)):<10}]")
    return records


def _interarec(data: lcrec.LcrecData, products: list[Product], cases: list[EvalCase], settings: Settings,
               progress: Callable[[str], None],
               frames_per_page: str | None = None,
               modalities: bool = False) -> tuple[Any, list[Recommender], dict[str, Any]]:
    tag = f"lcrec-{data.name}-{data.digest[:16]}"
    run_settings = settings.model_copy(update={"catalog_dir": settings.data_dir / "eval-catalogs" / tag,
                                               "frames_dir": settings.data_dir / "eval-pages" / tag,
                                               "pace_s": EVAL_PACE_S, "retention_days": None})
    started = time.perf_counter()
    runtime = build_runtime(run_settings, products, None)
    progress(f"catalog of {len(products)} ready in {time.perf_counter() - started:.0f}s")
    pids = list(dict.fromkeys(step.text.removeprefix("/p/") for c in cases for step in c.persona.steps))
    started = time.perf_counter()
    with start_shop(runtime) as shop:
        pages = page_frames(runtime, pids, shop.url, progress, scrolls=SCROLLS if frames_per_page else 0)
    keep = FRAMES_PER_PAGE[frames_per_page] if frames_per_page else None
    captures = {c.case_id: Capture(c.case_id, [f for s in c.persona.steps
                                               for f in pages[s.text.removeprefix("/p/")][:keep]], 0.0) for c in cases}
    info = {"pages": len(pids), "pages_without_frame": sum(not pages[p] for p in pids),
            "page_seconds": round(time.perf_counter() - started, 1), "summariser": runtime.backends.summariser,
            "catalog_dir": str(run_settings.catalog_dir), "page_store": str(run_settings.frames_dir),
            "frames_per_page": frames_per_page or "top (one-frame page store)",
            "frames_used": sum(len(c.frames) for c in captures.values()),
            "retrieval": {"query": "seen titles (embeddings + BM25)", "pool": SEEN_POOL,
                          "lexical_weight": LEXICAL_WEIGHT, "seen_brand_weight": SEEN_BRAND_WEIGHT,
                          "type_weight": TYPE_WEIGHT, "category_policy": "auto",
                          "dominant_type_share": DOMINANT_TYPE_SHARE},
            "session": {"model": "v-sknn", "weight": SESSION_WEIGHT, "added_candidates": SESSION_POOL}}
    # The query from every title seen (newest weighted most), the browsed type a score term unless it dominates the
    # browsing (the product's default, "auto": docs/real-shoppers.md); interarec-hard / interarec-soft keep the
    # type always a filter / never one, for the policy comparison.
    seen = {"query": "seen", "category_policy": "auto"}
    methods: list[Recommender] = [InteraRecMethod(runtime, captures, **seen),
                                  InteraRecMethod(runtime, captures, name="interarec-hard", query="seen",
                                                  category_policy="hard"),
                                  InteraRecMethod(runtime, captures, name="interarec-soft", query="seen",
                                                  category_policy="soft"),
                                  InteraRecMethod(runtime, captures, name="interarec+session", session_model=VSKNN(),
                                                  **seen)]
    if modalities:  # the modality ablation: OCR of the screenshots (text layer ignored), weblog titles only
        ocr = offline_reader(run_settings, sorted({p.brand for p in products if p.brand}),
                             sorted({c for p in products for c in p.category_path}), None)
        methods += [InteraRecMethod(runtime, captures, name="interarec-ocr", reader=ocr, **seen),
                    InteraRecMethod(runtime, captures, name="interarec-metadata", modality="text", **seen)]
    return runtime, methods, info


def paired(records: list[Record], a: str, b: str, resamples: int) -> dict[str, dict[str, float]]:
    """a - b on the same users, per metric: mean and 95% paired-bootstrap interval."""
    by = {m: {r.case_id: r.values for r in records if r.method == m} for m in (a, b)}
    users = sorted(by[a].keys() & by[b].keys())
    out = {}
    for metric in PAIRED:
        mean, low, high = paired_bootstrap_diff([by[a][u][metric] for u in users], [by[b][u][metric] for u in users],
                                                n_resamples=resamples)
        out[metric] = {"mean": mean, "ci_low": low, "ci_high": high, "n": len(users),
                       "significant": bool(low > 0 or high < 0)}
    return out


def run_lcrec(suite: LcrecSuite, data: lcrec.LcrecData, settings: Settings, split: str = "test",
              users: int | None = None, seed: int = 0, pages: int | None = None,
              progress: Callable[[str], None] = print, frames_per_page: str | None = None,
              modalities: bool = False) -> dict[str, Any]:
    started = time.perf_counter()
    revision = git_revision()  # the code the run starts with (commits during a long run are not in it)
    products, item_stats = lcrec.products(data)
    titles = {p.id: p.title for p in products}
    n_users = users if users is not None else suite.users
    sample = lcrec.sample_users(data, split, n_users, seed)
    n_pages = suite.pages if pages is None else pages
    cases = lcrec.cases(data, split, sample, titles, n_pages)
    train = lcrec.train_sequences(data, split)
    progress(f"{data.name}: {len(products)} items, {len(data.sequences)} users, {len(cases)} sampled ({split})")
    methods = _baselines(products)
    runtime, info = None, {}
    records: list[Record] = []
    try:
        if suite.interarec:
            runtime, extra, info = _interarec(data, products, cases, settings, progress, frames_per_page, modalities)
            methods += extra
        for method in methods:
            method.fit(train)
            records += _score_all(method, cases, progress)
    finally:
        if runtime is not None:
            runtime.close()
    names = list(dict.fromkeys(r.method for r in records))
    metrics = {m: {k: summarise([r.values[k] for r in records if r.method == m], n_resamples=suite.resamples)
                   for k in METRICS} for m in names}
    best = max((m for m in names if m in TRAINED), key=lambda m: (metrics[m]["hr@10"]["mean"], m))
    comparisons = {f"{m} - {best}": paired(records, m, best, suite.resamples) for m in names if m != best}
    doc = {
        "suite": f"lcrec-{suite.name}", "dataset": {
            "name": data.name, "folder": str(data.folder), "sha256": data.digest, "items": item_stats,
            "users": len(data.sequences), "interactions": sum(len(s) for s in data.sequences.values())},
        "protocol": {"split": split, "seed": seed, "users_sampled": len(cases), "pages": n_pages,
                     "train_sequences": len(train), "ranking": "full catalog, the user's history excluded",
                     "resamples": suite.resamples, "confidence": 0.95},
        "users": sample, "metrics": metrics, "best_trained_baseline": best, "paired": comparisons,
        "interarec": info, "revision": revision, "seconds": round(time.perf_counter() - started, 1),
        "per_user": {m: {r.case_id: r.values["hr@10"] for r in records if r.method == m} for m in names},
    }
    results = []
    floors, doc["thresholds_note"] = floors_for(suite, data.digest)
    for key, minimum in floors.items():
        # A sample of ~30 users is noisy: it fails when even its interval's upper bound is below the minimum
        # (the full run's lower bound), i.e. when it is significantly worse than the full run.
        method, metric = key.split("/")
        stat = metrics.get(method, {}).get(metric, {})
        value, upper = stat.get("mean"), stat.get("ci_high")
        results.append({"key": key, "minimum": minimum, "value": value, "upper": upper,
                        "pass": upper is not None and upper >= minimum})
    doc["thresholds"] = results
    doc["passed"] = all(r["pass"] for r in results)
    return doc
