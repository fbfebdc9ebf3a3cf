"""Run an eval suite: build each dataset's cases, browse each case once in Chromium, let every method rank
products for every case, score, aggregate with bootstrap intervals, run the chat trajectories, and record how
the numbers were produced (revision, backends, models, prompt hashes, settings)."""

from __future__ import annotations

import logging
import random
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import prompts
from agent.settings import Settings
from agent.wiring import build_runtime, start_shop
from catalog.files import DEMO_IMAGES, DEMO_PRODUCTS, load_products
from catalog.models import Product
from evals import baselines
from evals.aggregate import Record, aggregate, length_bucket
from evals.cases import EvalCase, Recommender
from evals.datasets import amazon, synthetic
from evals.methods import Capture, InteraRecMethod, capture
from evals.metrics import attribute_scores, hit_rate, intra_list_diversity, mrr, ndcg, precision, violation_rate
from tools.recommend.candidates import SESSION_WEIGHT
from tools.sessions.models import STAN

log = logging.getLogger(__name__)
KS = (5, 10, 20)
SYNTHETIC_LOG = 400  # other synthetic shoppers whose views are the click log of the synthetic dataset
EVAL_PACE_S = 0.2  # seconds a shopper lingers after each step in evals
SESSION_WEIGHTS = (0.5, 1.0, 2.0, 4.0)  # the weight ablation of the session-based variant
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Suite:
    name: str
    synthetic: int  # synthetic shoppers on the demo shop
    amazon: dict[str, int]  # Amazon domain -> test sessions (leave-one-out cases)
    ablations: bool  # data volume and modality variants of InteraRec
    resamples: int  # bootstrap resamples per interval
    amazon_catalog: int | None = None  # subsample an Amazon catalog to this many items (cases' items kept)
    thresholds: dict[str, float] = field(default_factory=dict)  # "dataset/method/metric" -> minimum mean


SUITES = {
    # CI: a handful of cases per dataset, all methods, the chat scenarios; a few minutes on 2 cores.
    "quick": Suite("quick", synthetic=6, amazon={"electronic": 6}, ablations=False, resamples=500,
                   amazon_catalog=600, thresholds={
        "synthetic/interarec/hr@10": 0.5, "synthetic/interarec/attribute_f1": 0.5,
        "synthetic/interarec/violation_rate@10": -0.2, "trajectories/all/unordered_match": 1.0,
        "trajectories/all/constraints_held": 1.0}),
    "full": Suite("full", synthetic=50, amazon={"electronic": 30, "clothing": 30, "food": 30}, ablations=True,
                  resamples=2000, thresholds={
                      "synthetic/interarec/hr@10": 0.6, "synthetic/interarec/attribute_f1": 0.6,
                      "synthetic/interarec/violation_rate@10": -0.2, "trajectories/all/unordered_match": 1.0,
                      "trajectories/all/constraints_held": 1.0}),
}
# A threshold below zero bounds a lower-is-better metric from above: -0.2 means "at most 0.2".


def git_revision() -> dict[str, Any]:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    return {"commit": git("rev-parse", "HEAD") or "unknown", "dirty": bool(git("status", "--porcelain"))}


def _dataset(name: str, size: int, catalog_limit: int | None
             ) -> tuple[list[Product], Path | None, list[list[str]], list[EvalCase], dict]:
    if name == "synthetic":
        products = load_products(DEMO_PRODUCTS)
        cases = synthetic.generate_shoppers(products, n=size, seed=0)
        # The weblog baselines learn from other shoppers' clicks: the views of shoppers drawn with another seed.
        train = [list(c.viewed_ids) for c in synthetic.generate_shoppers(products, n=SYNTHETIC_LOG, seed=1)]
        return products, DEMO_IMAGES, train, cases, {"shoppers": len(cases), "log_sessions": len(train)}
    domain = name.removeprefix("amazon-")
    train, cases, stats = amazon.build_cases(domain, limit=size)
    products = amazon.catalog_products(domain)
    if catalog_limit and catalog_limit < len(products):
        # A smaller catalog embeds in seconds (the quick suite); it keeps every item the cases need, so the
        # numbers are easier than on the whole catalog and are reported as such.
        needed = {i for c in cases for i in (*c.viewed_ids, *c.targets)}
        others = sorted(p.id for p in products if p.id not in needed)
        keep = needed | set(random.Random(0).sample(others, max(0, catalog_limit - len(needed))))
        products = [p for p in products if p.id in keep]
        train = [kept for s in train if len(kept := [i for i in s if i in keep]) >= 2]
        stats["catalog_subsample"] = len(products)
    return products, None, train, cases, stats


def _methods(runtime, products: list[Product], captures: dict[str, Capture], ablations: bool) -> list[Recommender]:
    ids = [p.id for p in products]
    methods: list[Recommender] = [
        baselines.RandomRecommender(ids, seed=0), baselines.PopularityRecommender(ids),
        baselines.ItemKnnRecommender(ids), baselines.SessionKnnRecommender(ids),
        InteraRecMethod(runtime, captures, modality="text", name="text-only"),
        InteraRecMethod(runtime, captures),
    ]
    methods.append(InteraRecMethod(runtime, captures, name="interarec+session", session_model=STAN()))
    if ablations:
        methods += [InteraRecMethod(runtime, captures, frame_fraction=f, name=f"interarec@{int(f * 100)}%")
                    for f in (0.25, 0.5)]
        methods.append(InteraRecMethod(runtime, captures, modality="both", name="interarec+text"))
        methods += [InteraRecMethod(runtime, captures, name=f"interarec+session@w{w:g}", session_model=STAN(),
                                    session_weight=w) for w in SESSION_WEIGHTS if w != SESSION_WEIGHT]
    return methods


def _score(case: EvalCase, method: Recommender, ranked: list[str], seconds: float,
           products: dict[str, Product]) -> Record:
    values: dict[str, float] = {}
    for k in KS:
        values[f"hr@{k}"] = hit_rate(ranked, set(case.targets), k)
        values[f"ndcg@{k}"] = ndcg(ranked, set(case.targets), k)
        values[f"mrr@{k}"] = mrr(ranked, set(case.targets), k)
        values[f"precision@{k}"] = precision(ranked, set(case.targets), k)
    shown = [products[i] for i in ranked[:10] if i in products]
    values["diversity@10"] = intra_list_diversity(shown)
    values["list_length"] = float(len(ranked))
    if case.hidden is not None:
        values["violation_rate@10"] = violation_rate(shown, case.hidden)
        details = getattr(method, "last", None)
        if details is not None and details.summary is not None:
            scores = attribute_scores(details.summary, case.hidden)
            values.update({f"attribute_{m}": scores["micro"][m] for m in ("precision", "recall", "f1")})
    timings = dict(getattr(getattr(method, "last", None), "timings", {}) or {})
    return Record(case.dataset, method.name, case.case_id, case.length, values, ranked[:10],
                  {"recommend": seconds, **timings})


def run_dataset(name: str, size: int, settings: Settings, out: Path, ablations: bool,
                progress: Callable[[str], None], catalog_limit: int | None = None
                ) -> tuple[list[Record], dict[str, Any]]:
    products, images, train, cases, stats = _dataset(name, size, catalog_limit)
    store_name = name + (f"-{len(products)}" if "catalog_subsample" in stats else "")
    catalog_dir = settings.catalog_path if name == "synthetic" else settings.data_dir / "eval-catalogs" / store_name
    # The shoppers' own pace is in their scripts; the eval's is short so a suite fits its time.
    run_settings = settings.model_copy(update={"catalog_dir": catalog_dir, "frames_dir": out / "frames",
                                               "pace_s": EVAL_PACE_S})
    started = time.perf_counter()
    runtime = build_runtime(run_settings, products, images)
    setup = time.perf_counter() - started
    progress(f"{name}: {len(cases)} cases, catalog of {len(products)} ready in {setup:.0f}s")
    captures: dict[str, Capture] = {}
    records: list[Record] = []
    try:
        with start_shop(runtime) as shop:
            for i, case in enumerate(cases, start=1):
                captures[case.case_id] = capture(runtime, case, shop.url)
                progress(f"{name}: browsed {i}/{len(cases)} ({captures[case.case_id].seconds:.1f}s, "
                         f"{len(captures[case.case_id].frames)} unique screenshots)")
        by_id = {p.id: p for p in products}
        for method in _methods(runtime, products, captures, ablations):
            method.fit(train)
            for case in cases:
                tick = time.perf_counter()
                ranked = method.recommend(case, max(KS))
                records.append(_score(case, method, ranked, time.perf_counter() - tick, by_id))
            progress(f"{name}: scored {method.name}")
    finally:
        runtime.close()
    info = {"cases": len(cases), "catalog": len(products), "train_sessions": len(train), "stats": stats,
            "setup_seconds": round(setup, 1),
            "browse_seconds": [c.seconds for c in captures.values()],
            "frames": [len(c.frames) for c in captures.values()],
            "summariser": runtime.backends.summariser}
    return records, info


def run_suite(suite: Suite, settings: Settings, out: Path, progress: Callable[[str], None] = log.info,
              only: list[str] | None = None) -> dict[str, Any]:
    from evals.trajectories import run_scenarios

    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    datasets = {"synthetic": suite.synthetic} | {f"amazon-{d}": n for d, n in suite.amazon.items()}
    records: list[Record] = []
    infos: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    for name, size in datasets.items():
        if only and name not in only:
            continue
        try:
            got, infos[name] = run_dataset(name, size, settings, out, suite.ablations, progress,
                                           suite.amazon_catalog)
        except amazon.DataMissing as exc:  # a checkout without ../shared/data: say so, run the rest
            skipped[name] = str(exc)
            progress(f"{name}: skipped: {exc}")
            continue
        records += got
    trajectories = run_scenarios(settings, progress)
    doc = aggregate(records, infos, suite.resamples)
    doc["trajectories"] = trajectories
    doc["skipped_datasets"] = skipped
    doc.update({
        "suite": suite.name, "seconds": round(time.perf_counter() - started, 1),
        "revision": git_revision(), "prompts": {name: prompts.prompt_hash(name) for name in _prompt_names()},
        "settings": settings.model_dump(mode="json", exclude={"openai_api_key", "checkpoint_url"}),
        "backends": {"summariser": ", ".join(sorted({info["summariser"] for info in infos.values()})),
                     "chat_model": trajectories.get("chat_model", ""), "optimizer": "OR-Tools SCIP (Dinkelbach, MNL)",
                     "embedding": "all-MiniLM-L6-v2 int8 ONNX (offline)", "browser": str(settings.chromium_path)},
        "length_buckets": [length_bucket(n) for n in (2, 4, 6)],
    })
    doc["thresholds"] = check_thresholds(doc, suite.thresholds)
    doc["passed"] = all(t["pass"] for t in doc["thresholds"])
    return doc


def _prompt_names() -> list[str]:
    return sorted(p.stem for p in (Path(prompts.__file__).parent / "templates").glob("*.txt"))


def check_thresholds(doc: dict[str, Any], thresholds: dict[str, float]) -> list[dict[str, Any]]:
    results = []
    for key, minimum in thresholds.items():
        dataset, method, metric = key.split("/")
        if dataset == "trajectories":
            value = doc["trajectories"].get("summary", {}).get(metric)
        else:
            value = doc["metrics"].get(dataset, {}).get(method, {}).get(metric, {}).get("mean")
        if value is None:  # a dataset not run (--only) is not a failure of the ones that were
            results.append({"key": key, "minimum": minimum, "value": None, "pass": True, "skipped": True})
            continue
        ok = value <= -minimum if minimum < 0 else value >= minimum
        results.append({"key": key, "minimum": minimum, "value": round(value, 4), "pass": ok})
    return results
