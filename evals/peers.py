"""Trained sequential peers (RecBole's GRU4Rec and SASRec) on the real-shopper split, scored by our metric code.

    python -m evals.peers export --dataset lcrec:PATH --split valid|test --out DIR
    bash scripts/peers.sh lcrec DIR --model gru4rec|sasrec [--epochs N]      # trains in .venv-peers
    python -m evals.peers score --dataset lcrec:PATH --split ... --rankings DIR/rankings-*.json \
        --users N --seed S --out DIR [--against EVAL_DIR/metrics.json]

``export`` writes DIR/peers-input.json from the loader's split (``evals.datasets.lcrec``): the training
sequences (every user's history of the split) and every user of the split with their history; for the
``valid`` split also the valid targets, which the trainer uses for early stopping. The test targets are never
written. ``score`` reads the rankings back, samples the users exactly as ``interarec eval --dataset`` does
(``lcrec.sample_users``, same seed) and scores them with ``evals.metrics``; intervals and paired differences
come from ``evals.stats``. The peers side never imports evals: the JSON files are the whole interface.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from evals.datasets import lcrec
from evals.metrics import hit_rate, mrr, ndcg
from evals.run import git_revision
from evals.stats import json_finite, paired_bootstrap_diff, summarise

INPUT = "peers-input.json"
INPUT_FORMAT = "interarec-peers-lcrec-input/1"
RANKINGS_FORMAT = "interarec-peers-lcrec-rankings/1"
METRICS = tuple(f"{m}@{k}" for k in (10, 20) for m in ("hr", "ndcg", "mrr"))
PAIRED = ("hr@10", "ndcg@10", "mrr@10")


class PeersError(ValueError):
    """Input the commands cannot use; the message says why in one line."""


def export_doc(data: lcrec.LcrecData, split: str) -> dict[str, Any]:
    parts = lcrec.split(data, split)
    products, _ = lcrec.products(data)
    doc: dict[str, Any] = {
        "format": INPUT_FORMAT, "dataset": data.name, "sha256": data.digest, "split": split,
        "items": [p.id for p in products],  # the full ranking's item set, in item-file order
        "train": lcrec.train_sequences(data, split),
        "users": [{"user": u, "history": history} for u, (history, _) in parts.items()],
        "revision": git_revision(),
    }
    if split == "valid":  # early stopping may look at the valid targets; the test targets are never exported
        doc["valid_targets"] = {u: target for u, (_, target) in parts.items()}
    return doc


def export(data: lcrec.LcrecData, split: str, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / INPUT
    path.write_text(json.dumps(export_doc(data, split)) + "\n", encoding="utf-8")
    return path


def _values(ranked: list[str], target: str) -> dict[str, float]:
    targets = {target}
    out = {}
    for k in (10, 20):
        out[f"hr@{k}"] = hit_rate(ranked, targets, k)
        out[f"ndcg@{k}"] = ndcg(ranked, targets, k)
        out[f"mrr@{k}"] = mrr(ranked, targets, k)
    return out


def read_rankings(path: Path, data: lcrec.LcrecData, split: str) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PeersError(f"{path}: cannot read rankings ({str(exc).splitlines()[0]})") from None
    if not isinstance(doc, dict) or doc.get("format") != RANKINGS_FORMAT:
        raise PeersError(f"{path}: not a rankings file of format {RANKINGS_FORMAT}")
    if doc.get("sha256") != data.digest or doc.get("split") != split:
        raise PeersError(f"{path}: made for dataset {str(doc.get('sha256'))[:12]} split {doc.get('split')}, "
                         f"not {data.digest[:12]} split {split}")
    if not isinstance(doc.get("rankings"), dict) or not doc.get("model"):
        raise PeersError(f"{path}: no model name or no rankings object")
    return doc


def score_rankings(data: lcrec.LcrecData, split: str, docs: list[dict[str, Any]], users: int | None, seed: int,
                   resamples: int = 2000) -> dict[str, Any]:
    """Every rankings file scored on the same sampled users. A user missing from a file, or a ranking that
    holds an item of the user's history, is an error: the protocol excludes the history."""
    parts = lcrec.split(data, split)
    sample = lcrec.sample_users(data, split, users, seed)
    per_user: dict[str, dict[str, dict[str, float]]] = {}
    for doc in docs:
        name = doc["model"].lower()
        if name in per_user:
            raise PeersError(f"two rankings files for model {name}")
        values = {}
        for user in sample:
            history, target = parts[user]
            ranked = doc["rankings"].get(user)
            if not isinstance(ranked, list):
                raise PeersError(f"{name}: no ranking for user {user!r}")
            seen = set(history).intersection(ranked)
            if seen:
                raise PeersError(f"{name}: user {user!r}'s ranking holds history item {sorted(seen)[0]!r}")
            values[user] = _values([str(i) for i in ranked], target)
        per_user[name] = values
    metrics = {m: {k: summarise([v[k] for v in vals.values()], n_resamples=resamples) for k in METRICS}
               for m, vals in per_user.items()}
    names = list(per_user)
    pairs = {}
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            pairs[f"{b} - {a}"] = _paired({u: per_user[b][u] for u in sample}, {u: per_user[a][u] for u in sample},
                                          PAIRED, resamples)
    return {"protocol": {"split": split, "seed": seed, "users_sampled": len(sample), "resamples": resamples,
                         "confidence": 0.95, "ranking": "full catalog, the user's history excluded"},
            "dataset": {"name": data.name, "sha256": data.digest}, "users": sample, "metrics": metrics,
            "paired": pairs, "per_user": per_user,
            "runs": {d["model"].lower(): {k: d.get(k) for k in ("settings", "versions", "training")} for d in docs}}


def _paired(a: dict[str, dict[str, float]], b: dict[str, dict[str, float]], metrics: tuple[str, ...],
            resamples: int) -> dict[str, dict[str, Any]]:
    users = sorted(a.keys() & b.keys())
    out = {}
    for metric in metrics:
        mean, low, high = paired_bootstrap_diff([a[u][metric] for u in users], [b[u][metric] for u in users],
                                                n_resamples=resamples)
        out[metric] = {"mean": mean, "ci_low": low, "ci_high": high, "n": len(users),
                       "significant": bool(low > 0 or high < 0)}
    return out


def against_eval(doc: dict[str, Any], metrics_path: Path, data: lcrec.LcrecData, method: str) -> dict[str, Any]:
    """Paired differences against a method of an ``interarec eval --dataset`` run on the same sample, from its
    per-user values (metrics.json keeps HR@10 per user). The run must have used the same split, seed and users."""
    try:
        run = json.loads(metrics_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PeersError(f"{metrics_path}: cannot read ({str(exc).splitlines()[0]})") from None
    protocol = run.get("protocol", {})
    if (run.get("dataset", {}).get("sha256") != data.digest or protocol.get("split") != doc["protocol"]["split"]
            or run.get("users") != doc["users"]):
        raise PeersError(f"{metrics_path}: another dataset, split or user sample than this scoring")
    theirs = run.get("per_user", {}).get(method)
    if not theirs:
        raise PeersError(f"{metrics_path}: no per-user values for method {method!r}")
    # metrics.json keys users by case id, "<dataset name>-<user>"
    base = {u: {"hr@10": float(theirs[f"{data.name}-{u}"])} for u in doc["users"]}
    return {f"{m} - {method}": _paired(vals, base, ("hr@10",), doc["protocol"]["resamples"])
            for m, vals in doc["per_user"].items()}


def table(doc: dict[str, Any]) -> list[str]:
    def cell(s: dict[str, float], interval: bool = True) -> str:
        if not interval:
            return f"{s['mean']:.3f}"
        return f"{s['mean']:.3f} [{s['ci_low']:.3f}, {s['ci_high']:.3f}]"

    lines = ["| method | HR@10 | NDCG@10 | MRR@10 | MRR@20 | HR@20 |", "|---|---|---|---|---|---|"]
    for name, m in doc["metrics"].items():
        lines.append(f"| {name} | {cell(m['hr@10'])} | {cell(m['ndcg@10'])} | {cell(m['mrr@10'])} | "
                     f"{cell(m['mrr@20'], False)} | {cell(m['hr@20'], False)} |")
    for key, diffs in doc["paired"].items():
        shown = ", ".join(f"{k} {d['mean']:+.3f} [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}]"
                          f"{'*' if d['significant'] else ''}" for k, d in diffs.items())
        lines.append(f"paired {key}: {shown}")
    return lines


def _load(dataset: str) -> lcrec.LcrecData:
    kind, _, path = dataset.partition(":")
    if kind != "lcrec" or not path:
        raise PeersError(f"unknown --dataset {dataset!r}; use lcrec:PATH")
    return lcrec.load(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.peers", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name in ("export", "score"):
        p = sub.add_parser(name)
        p.add_argument("--dataset", required=True, metavar="lcrec:PATH")
        p.add_argument("--split", choices=lcrec.SPLITS, default="test")
        p.add_argument("--out", required=True, type=Path)
    score = sub.choices["score"]
    score.add_argument("--rankings", nargs="+", required=True, type=Path)
    score.add_argument("--users", type=int, help="users to sample (default: all)")
    score.add_argument("--seed", type=int, default=0)
    score.add_argument("--resamples", type=int, default=2000)
    score.add_argument("--against", type=Path, help="metrics.json of `interarec eval --dataset` on the same sample")
    score.add_argument("--against-method", default="item-knn")
    args = parser.parse_args(argv)
    try:
        if args.out.exists() and not args.out.is_dir():
            raise PeersError(f"--out {args.out} exists and is not a directory")
        data = _load(args.dataset)
        if args.cmd == "export":
            path = export(data, args.split, args.out)
            print(f"wrote {path}", file=sys.stderr)
            return 0
        if args.users is not None and args.users < 1:
            raise PeersError(f"--users must be at least 1, got {args.users}")
        docs = [read_rankings(p, data, args.split) for p in args.rankings]
        doc = score_rankings(data, args.split, docs, args.users, args.seed, args.resamples)
        if args.against:
            doc["paired"].update(against_eval(doc, args.against, data, args.against_method))
        doc["revision"] = git_revision()
    except (lcrec.LcrecError, PeersError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"peers-scores-{args.split}.json"
    path.write_text(json.dumps(json_finite(doc), indent=1) + "\n", encoding="utf-8")
    print("\n".join(table(doc)))
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
