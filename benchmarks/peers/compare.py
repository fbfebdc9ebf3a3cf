"""Peer comparison on the Diginetica sample: our SKNN, V-SKNN and STAN against RecBole's GRU4Rec and SR-GNN, on
the same split (``tools.sessions.data.diginetica_split``) and scored by the same code (``tools.sessions.models.
evaluate``: HR@20, MRR@20), training times measured in the same run on the same machine.

    scripts/peers.sh                       # makes .venv-peers (torch CPU + RecBole) if needed, then runs this
    .venv-peers/bin/python -m benchmarks.peers.compare [--seeds 2020 2021 2022] [--epochs N] [--threads 1]

RecBole's models are trained by RecBole's own data pipeline and trainer on our train sessions
(``benchmarks.peers.recbole_runner``), then rank every item for each of our test prefixes; those rankings go
through ``evaluate`` exactly as our models' do. RecBole's own evaluator on the same cases is recorded beside.
Torch runs on one thread by default, as our models do (and two threads on two busy cores were ~15x slower).
Writes ``bench-results/session_peers.json`` (versions, settings, git revision).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from benchmarks.common import write_results
from tools.sessions.data import diginetica_split
from tools.sessions.models import evaluate, hit_at, make_model, reciprocal_rank

K = 20
OURS = ("sknn", "vsknn", "stan")
REFERENCE = ("popularity",)
LABELS = {"sknn": "SKNN (ours)", "vsknn": "V-SKNN (ours)", "stan": "STAN (ours)", "popularity": "Popularity",
          "GRU4Rec": "GRU4Rec (RecBole)", "SRGNN": "SR-GNN (RecBole)"}


class PrecomputedRanker:
    """A trained peer's full rankings, looked up by prefix, behind our models' ``recommend`` interface, so
    ``tools.sessions.models.evaluate`` scores it with the very code that scores ours."""

    name = "precomputed"

    def __init__(self, ranked: dict[tuple[str, ...], list[str]]) -> None:
        self.ranked = ranked

    def recommend(self, prefix: Sequence[str], k: int, exclude: Iterable[str] = ()) -> list[str]:
        drop = set(exclude)
        return [i for i in self.ranked[tuple(prefix)] if i not in drop][:max(k, 0)]


def per_case(ranker, cases) -> tuple[np.ndarray, np.ndarray]:
    """Per-case hit and reciprocal rank at K (for the paired bootstrap)."""
    lists = [ranker.recommend(prefix, K) for prefix, _ in cases]
    return (np.array([hit_at(r, t, K) for r, (_, t) in zip(lists, cases)]),
            np.array([reciprocal_rank(r, t, K) for r, (_, t) in zip(lists, cases)]))


def ratio_interval(ours: np.ndarray, theirs: np.ndarray, groups: np.ndarray | None = None, draws: int = 2000,
                   seed: int = 0) -> list[float] | None:
    """95% paired bootstrap interval of mean(ours) / mean(theirs). With ``groups`` (a test session per case),
    whole sessions are resampled, as a session's cases are not independent; else single cases."""
    rng = np.random.default_rng(seed)
    if groups is None:
        groups = np.arange(len(ours))
    labels, inverse = np.unique(groups, return_inverse=True)
    o_sum = np.bincount(inverse, weights=ours, minlength=len(labels))
    t_sum = np.bincount(inverse, weights=theirs, minlength=len(labels))
    picks = rng.integers(0, len(labels), size=(draws, len(labels)))
    num, den = o_sum[picks].sum(axis=1), t_sum[picks].sum(axis=1)  # same cases on both sides: the counts cancel
    ok = den > 0
    if not ok.any():
        return None
    lo, hi = np.percentile(num[ok] / den[ok], [2.5, 97.5])
    return [round(float(lo), 3), round(float(hi), 3)]


def case_sessions(dataset) -> np.ndarray | None:
    """The test session of each case (``next_item_cases`` gives a session's n - 1 cases together), or None when
    the cases are not laid out that way."""
    groups = np.repeat(np.arange(len(dataset.test)), [len(s.items) - 1 for s in dataset.test])
    return groups if len(groups) == len(dataset.test_cases) else None


def run_ours(dataset, names: Sequence[str]) -> dict[str, dict]:
    out = {}
    for name in names:
        model = make_model(name)
        start = time.perf_counter()
        model.fit(dataset.train)
        train_seconds = time.perf_counter() - start
        result = evaluate(model, dataset.test_cases, K)
        hits, rrs = per_case(model, dataset.test_cases)
        out[name] = {"label": LABELS[name], "hr@20": result["hr@20"], "mrr@20": result["mrr@20"], "n": result["n"],
                     "train_seconds": train_seconds, "eval_seconds": result["seconds"], "params": model.params(),
                     "_hits": hits, "_rr": rrs}
    return out


def run_peers(dataset, names: Sequence[str], seeds: Sequence[int], epochs: int | None, max_epochs: int,
              log=print) -> dict[str, dict]:
    from benchmarks.peers import recbole_runner as rb

    out = {}
    for name in names:
        runs = []
        for seed in seeds:
            log(f"  training {LABELS[name]} (seed {seed}) ...")
            run = rb.train_and_rank(name, dataset, seed=seed, epochs=epochs, max_epochs=max_epochs)
            ranker = PrecomputedRanker(run.ranked)
            result = evaluate(ranker, dataset.test_cases, K)
            hits, rrs = per_case(ranker, dataset.test_cases)
            runs.append({"seed": seed, "epochs": run.epochs, "hr@20": result["hr@20"], "mrr@20": result["mrr@20"],
                         "train_seconds": run.train_seconds, "eval_seconds": run.predict_seconds + result["seconds"],
                         "epoch_selection_seconds": run.selection.get("seconds", 0.0),
                         "recbole_evaluator": run.recbole_test, "epoch_selection": run.selection,
                         "parameters": run.parameters, "_hits": hits, "_rr": rrs})
            log(f"    epochs {run.epochs}, train {run.train_seconds:.1f} s, HR@20 {result['hr@20']:.4f}, "
                f"MRR@20 {result['mrr@20']:.4f} (RecBole's evaluator: {run.recbole_test})")
        mean = statistics.fmean
        out[name] = {"label": LABELS[name], "n": len(dataset.test_cases),
                     "hr@20": mean(r["hr@20"] for r in runs), "mrr@20": mean(r["mrr@20"] for r in runs),
                     "train_seconds": mean(r["train_seconds"] for r in runs),
                     "eval_seconds": mean(r["eval_seconds"] for r in runs),
                     "epoch_selection_seconds": mean(r["epoch_selection_seconds"] for r in runs),
                     "epochs": [r["epochs"] for r in runs], "seeds": list(seeds),
                     "hyperparameters": {**rb.TRAIN_CONFIG, **rb.MODEL_CONFIG[name],
                                         "MAX_ITEM_LIST_LENGTH": rb.max_prefix(dataset)},
                     "runs": runs,
                     "_hits": np.mean([r["_hits"] for r in runs], axis=0),
                     "_rr": np.mean([r["_rr"] for r in runs], axis=0)}
    return out


def ratios(ours: dict[str, dict], peers: dict[str, dict], groups: np.ndarray | None = None) -> dict:
    """Our best model by HR@20 against each peer: HR@20 and MRR@20 ratios (ours / theirs, with 95% paired
    bootstrap intervals over test sessions) and the training-time ratio (ours / theirs)."""
    best = max(ours, key=lambda n: (ours[n]["hr@20"], ours[n]["mrr@20"]))
    out = {"ours": best, "against": {}}
    for name, peer in peers.items():
        o = ours[best]
        out["against"][name] = {
            "hr@20_ratio": o["hr@20"] / peer["hr@20"] if peer["hr@20"] else None,
            "hr@20_ratio_95ci": ratio_interval(o["_hits"], peer["_hits"], groups),
            "mrr@20_ratio": o["mrr@20"] / peer["mrr@20"] if peer["mrr@20"] else None,
            "mrr@20_ratio_95ci": ratio_interval(o["_rr"], peer["_rr"], groups),
            "train_time_ratio": o["train_seconds"] / peer["train_seconds"] if peer["train_seconds"] else None,
        }
    return out


def _seconds(value: float) -> str:
    return f"{value:.4f}" if value < 0.1 else f"{value:.2f}"


def table(rows: dict[str, dict]) -> str:
    lines = [f"{'model':<20} {'HR@20':>7} {'MRR@20':>7} {'train s':>9} {'eval s':>8} {'tune s':>7}  epochs"]
    for row in rows.values():
        epochs = "/".join(map(str, row.get("epochs", []))) or "-"
        tune = _seconds(row["epoch_selection_seconds"]) if row.get("epoch_selection_seconds") else "-"
        lines.append(f"{row['label']:<20} {row['hr@20']:>7.4f} {row['mrr@20']:>7.4f} "
                     f"{_seconds(row['train_seconds']):>9} {_seconds(row['eval_seconds']):>8} {tune:>7}  {epochs}")
    return "\n".join(lines)


def ratio_lines(result: dict) -> str:
    best = result["ours"]
    lines = []
    for name, r in result["against"].items():
        hr = f"{r['hr@20_ratio']:.3f}" if r["hr@20_ratio"] is not None else "n/a"
        mrr = f"{r['mrr@20_ratio']:.3f}" if r["mrr@20_ratio"] is not None else "n/a"
        tt = f"{r['train_time_ratio']:.2g}" if r["train_time_ratio"] is not None else "n/a"
        lines.append(f"{LABELS[best]} / {LABELS[name]}: HR@20 x{hr} (95% CI {r['hr@20_ratio_95ci']}), "
                     f"MRR@20 x{mrr} (95% CI {r['mrr@20_ratio_95ci']}), training time x{tt}")
    lines.append("(95% intervals: paired bootstrap over test sessions, 2,000 draws)")
    return "\n".join(lines)


def _public(rows: dict[str, dict]) -> dict[str, dict]:
    def clean(d):
        if isinstance(d, dict):
            return {k: clean(v) for k, v in d.items() if not k.startswith("_")}
        if isinstance(d, list):
            return [clean(v) for v in d]
        if isinstance(d, float):
            return round(d, 6)
        return d
    return clean(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="the Diginetica item-views CSV (default: the shared sample)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[2020, 2021, 2022],
                        help="RecBole seeds (each trained afresh; the table shows their mean)")
    parser.add_argument("--epochs", type=int, help="fixed RecBole epochs (default: chosen on a validation split "
                                                   "of the train sessions, early stopping on MRR@20)")
    parser.add_argument("--max-epochs", type=int, default=100, help="upper bound for the epoch selection")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1, as our models use)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    load_before = os.getloadavg()
    dataset = diginetica_split(args.data)
    print(f"Diginetica sample: {len(dataset.train)} train sessions, {len(dataset.test_cases)} test cases "
          f"({len(dataset.test)} test sessions), {dataset.stats.get('train_items')} items")
    ours = run_ours(dataset, OURS + REFERENCE)
    try:
        from benchmarks.peers import recbole_runner as rb
    except ImportError as exc:
        print(f"RecBole is not importable here ({exc}); run it through scripts/peers.sh", file=sys.stderr)
        return 2
    import torch

    torch.set_num_threads(args.threads)
    peers = run_peers(dataset, rb.MODELS, args.seeds, args.epochs, args.max_epochs)
    rows = {**{n: ours[n] for n in OURS}, **peers, **{n: ours[n] for n in REFERENCE}}
    result = ratios({n: ours[n] for n in OURS}, peers, case_sessions(dataset))
    total = time.perf_counter() - started
    print()
    print(table(rows))
    print()
    print(ratio_lines(result))
    print(f"\n{len(dataset.test_cases)} test cases. RecBole rows: mean of seeds {', '.join(map(str, args.seeds))}; "
          f"train s = the final fit on all train sessions for the chosen epochs, tune s = the epoch selection run "
          f"before it. Wall clock, torch on {args.threads} thread(s), {os.cpu_count()} cores, load average "
          f"{load_before[0]:.1f} at the start; total {total:.0f} s")
    payload = {
        "dataset": {"name": dataset.name, **dataset.stats},
        "k": K,
        "metric_code": "tools.sessions.models.evaluate (RecBole models through PrecomputedRanker)",
        "models": _public(rows),
        "ratios": _public(result),
        "versions": {**rb.versions(), "python": platform.python_version()},
        "torch_threads": args.threads,
        "epoch_selection": "a RecBole run on the earliest 90% of the train sessions, validated (MRR@20, early "
                           "stopping after 5 epochs without gain) on the cases of the latest 10%; the best epoch "
                           "count is then trained afresh on all train sessions",
        "load_average": {"start": [round(x, 2) for x in load_before],
                         "end": [round(x, 2) for x in os.getloadavg()]},
        "total_seconds": round(total, 1),
        "command": "scripts/peers.sh " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    out = write_results("session_peers", payload, args.out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
