"""Uncertainty for eval numbers: percentile-bootstrap confidence intervals over cases (seeded, so a rerun
prints the same interval), paired differences between two methods, and latency percentiles."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def _array(values: Sequence[float]) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if not np.isfinite(array).all():
        raise ValueError("values must be finite")  # a NaN would silently poison every resampled mean
    return array


def bootstrap_ci(
    values: Sequence[float], n_resamples: int = 1000, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float, float]:
    """(mean, low, high): the sample mean and the percentile-bootstrap interval, i.e. the (1-c)/2 and (1+c)/2
    quantiles of the means of ``n_resamples`` resamples (with replacement, same size) drawn by
    ``numpy.random.default_rng(seed)``. Empty input gives (nan, nan, nan); one value v gives (v, v, v)."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
    array = _array(values)
    if array.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(array.mean())
    if array.size == 1:
        return mean, mean, mean
    rng = np.random.default_rng(seed)
    means = array[rng.integers(0, array.size, size=(n_resamples, array.size))].mean(axis=1)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return mean, float(low), float(high)


def paired_bootstrap_diff(
    a: Sequence[float], b: Sequence[float], n_resamples: int = 1000, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float, float]:
    """(mean, low, high) of a - b over the same cases, case i of ``a`` paired with case i of ``b``: resampling the
    per-case differences keeps the pairing, so case difficulty shared by both methods cancels. An interval that
    excludes 0 says the methods differ at that confidence."""
    if len(a) != len(b):
        raise ValueError(f"paired values need equal lengths, got {len(a)} and {len(b)}")
    return bootstrap_ci(_array(a) - _array(b), n_resamples, confidence, seed)


def summarise(
    values: Sequence[float], n_resamples: int = 1000, confidence: float = 0.95, seed: int = 0
) -> dict[str, float | int]:
    """{mean, ci_low, ci_high, n} for one metric over cases (see ``bootstrap_ci``)."""
    mean, low, high = bootstrap_ci(values, n_resamples, confidence, seed)
    return {"mean": mean, "ci_low": low, "ci_high": high, "n": len(values)}


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile, q in [0, 100] (p50 = 50, p95 = 95), interpolating linearly between closest ranks
    (numpy's default); nan for no values."""
    if not 0 <= q <= 100:
        raise ValueError(f"q must be in [0, 100], got {q}")
    array = _array(values)
    return float(np.percentile(array, q)) if array.size else math.nan


def json_finite(value: object) -> object:
    """NaN is not JSON; an undefined interval is written as null (nested dicts and lists too)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_finite(v) for v in value]
    return value
