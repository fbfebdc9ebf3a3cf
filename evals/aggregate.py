"""From per-case scores to the tables of the report: means with bootstrap intervals per dataset, method and
metric; catalog coverage; the ablations (data volume, modality, session length); latency per stage."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from evals.metrics import coverage
from evals.stats import percentile, summarise
from tools.recommend.candidates import SESSION_WEIGHT

MAIN_METHODS = ("random", "popularity", "item-knn", "sknn", "text-only", "interarec", "interarec+session")
VOLUME_METHODS = {"interarec@25%": 0.25, "interarec@50%": 0.5, "interarec": 1.0}
MODALITY_METHODS = {"text-only": "text", "interarec": "screens", "interarec+text": "both"}
ABLATION_METRICS = ("hr@10", "ndcg@10", "mrr@10")


@dataclass
class Record:
    dataset: str
    method: str
    case_id: str
    length: int
    values: dict[str, float]
    top10: list[str]
    seconds: dict[str, float] = field(default_factory=dict)


def length_bucket(length: int) -> str:
    """Session length buckets of the paper's ablation, in items viewed plus the held-out one."""
    return "2-3" if length <= 3 else "4-5" if length <= 5 else "6+"


def _summaries(records: list[Record], resamples: int) -> dict[str, dict[str, float]]:
    by_metric: dict[str, list[float]] = defaultdict(list)
    for record in records:
        for metric, value in record.values.items():
            by_metric[metric].append(value)
    return {metric: summarise(values, n_resamples=resamples) for metric, values in sorted(by_metric.items())}


def aggregate(records: list[Record], infos: dict[str, Any], resamples: int) -> dict[str, Any]:
    groups: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for record in records:
        groups[(record.dataset, record.method)].append(record)
    metrics: dict[str, dict[str, Any]] = defaultdict(dict)
    cover: dict[str, dict[str, float]] = defaultdict(dict)
    for (dataset, method), group in groups.items():
        metrics[dataset][method] = _summaries(group, resamples)
        cover[dataset][method] = round(coverage([r.top10 for r in group], infos[dataset]["catalog"]), 4)

    volume, modality, lengths, weights = defaultdict(dict), defaultdict(dict), defaultdict(dict), defaultdict(dict)
    for dataset, methods in metrics.items():
        for method, values in methods.items():
            if method.startswith("interarec+session"):
                weight = method.partition("@w")[2] or str(SESSION_WEIGHT)
                weights[dataset][weight] = {m: values[m] for m in ABLATION_METRICS}
        for method, fraction in VOLUME_METHODS.items():
            if method in methods:
                volume[dataset][str(fraction)] = {m: methods[method][m] for m in ABLATION_METRICS}
        for method, name in MODALITY_METHODS.items():
            if method in methods:
                modality[dataset][name] = {m: methods[method][m] for m in ABLATION_METRICS}
    buckets: dict[tuple[str, str, str], list[Record]] = defaultdict(list)
    for record in records:
        if record.method in MAIN_METHODS:
            buckets[(record.dataset, length_bucket(record.length), record.method)].append(record)
    for (dataset, bucket, method), group in sorted(buckets.items()):
        lengths[dataset].setdefault(bucket, {})[method] = summarise([r.values["hr@10"] for r in group],
                                                                    n_resamples=resamples)

    stage_seconds: dict[str, list[float]] = defaultdict(list)
    for record in records:
        if record.method == "interarec":
            for stage, seconds in record.seconds.items():
                stage_seconds[stage].append(seconds)
    for info in infos.values():
        stage_seconds["browse"] += info.get("browse_seconds", [])
    latency = {stage: {"p50": round(percentile(v, 50), 4), "p95": round(percentile(v, 95), 4), "n": len(v)}
               for stage, v in sorted(stage_seconds.items()) if v}
    return {"datasets": infos, "metrics": dict(metrics), "coverage": dict(cover),
            "ablations": {"data_volume": dict(volume), "modality": dict(modality), "session_length": dict(lengths),
                          "session_weight": dict(weights)},
            "latency": latency, "mllm": {"calls": 0, "tokens": 0, "note": "offline screen reader: no MLLM calls"}}
