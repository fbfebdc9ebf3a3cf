"""Next-item models over item-id sessions: the session-kNN family (SKNN, V-SKNN, STAN) and popularity, on numpy
arrays with an item -> sessions inverted index (no scipy), plus JSON persistence and HR@K / MRR@K evaluation.

All kNN models answer a prefix the same way (Ludewig & Jannach's session-rec implementations):
1. candidates = the training sessions holding any prefix item; with ``sample_size`` > 0 only the most recent
   ``sample_size`` of them (sessions are indexed in time order, so these are the highest indices);
2. each candidate gets a model-specific similarity; the ``k`` most similar with similarity > 0 are the neighbours
   (ties: the more recent session first);
3. every distinct item of a neighbour gets the neighbour's (model-weighted) similarity, summed over neighbours.
Prefix items the model never saw are ignored; items of the prefix itself may be recommended (Diginetica users
re-view items; pass ``exclude`` to drop them). Only items with a positive score are ranked, by score, then by
item id (string order), so rankings are deterministic; nothing is padded with popular items.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np

from tools.sessions.data import Case, Session

FORMAT, FORMAT_VERSION = "interarec-session-model", 1


class SessionModelError(ValueError):
    """Bad model parameters, an untrained model, or a model file that cannot be loaded."""


class SessionModel(Protocol):
    name: str

    def fit(self, train_sessions: Iterable[Session | Sequence[str]]) -> SessionModel: ...
    def score(self, prefix: Sequence[str], candidates: Iterable[str] | None = None) -> dict[str, float]: ...
    def recommend(self, prefix: Sequence[str], k: int, exclude: Iterable[str] = ()) -> list[str]: ...
    def save(self, path: Path | str) -> Path: ...


def _positive(name: str, value: Any, allow_none: bool = False, integer: bool = False, zero: bool = False) -> Any:
    if value is None and allow_none:
        return None
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or (integer and value != int(value)) or value < 0 or (value == 0 and not zero):
        kind = "an integer" if integer else "a number"
        raise SessionModelError(f"{name} must be {kind} {'>= 0' if zero else '> 0'}, got {value!r}")
    return int(value) if integer else float(value)


class _Model:
    name: ClassVar[str] = ""

    def __init__(self) -> None:
        self.sessions: list[Session] | None = None
        self.items: list[str] = []
        self.index: dict[str, int] = {}

    def params(self) -> dict[str, Any]:
        return {}

    def fit(self, train_sessions: Iterable[Session | Sequence[str]]) -> _Model:
        """Plain item lists are sessions in time order (their position is their time)."""
        sessions = [s if isinstance(s, Session) else Session(str(n), tuple(s), float(n))
                    for n, s in enumerate(train_sessions)]
        sessions = [Session(str(s.session_id), tuple(map(str, s.items)), float(s.time)) for s in sessions if s.items]
        self.sessions = sorted(sessions, key=lambda s: s.time)  # stable: index order is recency order
        self.items = sorted({i for s in self.sessions for i in s.items})
        self.index = {item: n for n, item in enumerate(self.items)}
        self._build()
        return self

    def _build(self) -> None:
        raise NotImplementedError

    def _dense(self, prefix: np.ndarray) -> np.ndarray:
        """Scores of every known item (a fresh array) for a prefix of known item indices."""
        raise NotImplementedError

    def _scores(self, prefix: Sequence[str]) -> np.ndarray:
        if self.sessions is None:
            raise SessionModelError(f"the {self.name} model is not trained")
        known = np.array([self.index[i] for i in prefix if i in self.index], dtype=np.int64)
        return self._dense(known)

    def score(self, prefix: Sequence[str], candidates: Iterable[str] | None = None) -> dict[str, float]:
        """Positive scores by item id; with ``candidates``, exactly those ids (0 when unscored or unknown)."""
        scores = self._scores(prefix)
        if candidates is None:
            return {self.items[i]: float(scores[i]) for i in np.flatnonzero(scores > 0)}
        return {c: float(scores[self.index[c]]) if c in self.index else 0.0 for c in candidates}

    def recommend(self, prefix: Sequence[str], k: int, exclude: Iterable[str] = ()) -> list[str]:
        scores = self._scores(prefix)
        scores[[self.index[e] for e in exclude if e in self.index]] = 0.0
        scored = np.flatnonzero(scores > 0)
        top = scored[np.lexsort((scored, -scores[scored]))][:max(k, 0)]
        return [self.items[i] for i in top]

    def save(self, path: Path | str) -> Path:
        """The parameters and the training sessions as JSON (a kNN model is its data; the index is rebuilt on
        load). Written to a temporary file first so a crash never leaves half a model."""
        if self.sessions is None:
            raise SessionModelError(f"the {self.name} model is not trained")
        path = Path(path)
        payload = {"format": FORMAT, "version": FORMAT_VERSION, "model": self.name, "params": self.params(),
                   "stats": {"sessions": len(self.sessions), "items": len(self.items)},
                   "sessions": [[s.session_id, s.time, list(s.items)] for s in self.sessions]}
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(payload, separators=(",", ":")), encoding="utf-8")
        os.replace(tmp, path)
        return path


class Popularity(_Model):
    """Every item scored by its number of training views, whatever the prefix (a reference point)."""

    name = "popularity"

    def _build(self) -> None:
        views = [self.index[i] for s in self.sessions or () for i in s.items]
        self._counts = np.bincount(np.array(views, dtype=np.int64), minlength=len(self.items)).astype(float)

    def _dense(self, prefix: np.ndarray) -> np.ndarray:
        return self._counts.copy()


class _KNN(_Model):
    def __init__(self, k: int = 100, sample_size: int = 500) -> None:
        super().__init__()
        self.k = _positive("k", k, integer=True)
        self.sample_size = _positive("sample_size", sample_size, integer=True, zero=True)  # 0: every candidate

    def params(self) -> dict[str, Any]:
        return {"k": self.k, "sample_size": self.sample_size}

    def _build(self) -> None:
        sessions = self.sessions or []
        items, positions, lengths = [], [], []
        for s in sessions:
            last = {self.index[i]: p for p, i in enumerate(s.items, start=1)}  # distinct item -> its last position
            items.extend(last)
            positions.extend(last.values())
            lengths.append(len(last))
        self._item = np.array(items, dtype=np.int64)
        self._pos = np.array(positions, dtype=float)
        self._len = np.array(lengths, dtype=np.int64)
        self._ptr = np.concatenate(([0], np.cumsum(self._len))).astype(np.int64)
        self._time = np.array([s.time for s in sessions], dtype=float)
        self._now = float(self._time.max()) if len(sessions) else 0.0
        # Inverted index in CSR form: a stable sort keeps each item's sessions in ascending (time) order.
        order = np.argsort(self._item, kind="stable")
        self._sessions_of = np.repeat(np.arange(len(sessions)), self._len)[order]
        self._item_ptr = np.concatenate(([0], np.cumsum(np.bincount(self._item, minlength=len(self.items)))))
        # idf(i) = log(N / sessions holding i); used by V-SKNN's optional weighting
        self._idf = np.log(max(len(sessions), 1) / np.maximum(np.diff(self._item_ptr), 1))

    def _weights(self, positions: np.ndarray, length: int) -> np.ndarray:
        """Weight of each distinct prefix item, from the 1-based position of its last view."""
        return np.ones_like(positions)

    def _similarity(self, dot: np.ndarray, cand: np.ndarray, weights: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _contributions(self, sims: np.ndarray, items: np.ndarray, pos: np.ndarray, step: np.ndarray,
                       seg: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """What each (neighbour, item) pair adds to the item's score; ``step`` is how far from the prefix's end
        the item was last viewed (1 = the last item, inf = not in the prefix)."""
        return sims[seg]

    def _dense(self, prefix: np.ndarray) -> np.ndarray:
        scores = np.zeros(len(self.items))
        if not len(prefix):
            return scores
        last = {int(i): p for p, i in enumerate(prefix, start=1)}
        q_items = np.fromiter(last, dtype=np.int64, count=len(last))
        q_pos = np.fromiter(last.values(), dtype=float, count=len(last))
        weights = self._weights(q_pos, len(prefix))
        postings = [self._sessions_of[self._item_ptr[i]:self._item_ptr[i + 1]] for i in q_items]
        if self.sample_size:  # the most recent M of the union are among each list's most recent M
            postings = [plist[-self.sample_size:] for plist in postings]
        cand = np.unique(np.concatenate(postings))
        if self.sample_size:
            cand = cand[-self.sample_size:]
        dot = np.zeros(len(cand))
        for plist, w in zip(postings, weights):
            at = np.searchsorted(cand, plist)  # both sorted; sessions cut by the sample are not in cand
            hit = at < len(cand)
            hit[hit] = cand[at[hit]] == plist[hit]
            dot[at[hit]] += w  # each session lists an item once, so no repeated indices within one update
        sims = self._similarity(dot, cand, weights)
        best = np.lexsort((-cand, -sims))[:self.k]
        best = best[sims[best] > 0]
        neighbours, sims = cand[best], sims[best]
        if not len(neighbours):
            return scores
        lens = self._len[neighbours]
        starts = np.cumsum(lens) - lens
        flat = np.arange(lens.sum()) - np.repeat(starts, lens) + np.repeat(self._ptr[neighbours], lens)
        seg = np.repeat(np.arange(len(neighbours)), lens)
        step = np.full(len(self.items), np.inf)
        step[q_items] = len(prefix) - q_pos + 1
        items = self._item[flat]
        contrib = self._contributions(sims, items, self._pos[flat], step[items], seg, starts)
        return np.bincount(items, weights=contrib, minlength=len(self.items))


class SKNN(_KNN):
    """Session-kNN: cosine of binary item sets, |s ∩ n| / sqrt(|s| |n|) (distinct items); each neighbour item
    scores the similarity. Defaults are session-rec's ContextKNN (k=100, the 500 most recent candidates)."""

    name = "sknn"

    def _similarity(self, dot: np.ndarray, cand: np.ndarray, weights: np.ndarray) -> np.ndarray:
        return dot / np.sqrt(len(weights) * self._len[cand])


# V-SKNN's decays (session-rec's names): weight of a prefix item at position p of L, and of a neighbour whose
# most recent shared item is `step` clicks from the prefix's end.
POSITION_WEIGHTS = {
    "div": lambda p, n: p / n, "same": lambda p, n: np.ones_like(p), "quadratic": lambda p, n: (p / n) ** 2,
    "linear": lambda p, n: np.maximum(0.0, 1 - 0.1 * (n - p)), "log": lambda p, n: 1 / np.log10(n - p + 1.7),
}
STEP_DECAYS = {
    "div": lambda s: 1 / s, "same": lambda s: np.ones_like(s), "quadratic": lambda s: 1 / s ** 2,
    "linear": lambda s: np.maximum(0.0, 1 - 0.1 * s), "log": lambda s: 1 / np.log10(s + 1.7),
}


class VSKNN(_KNN):
    """V-SKNN (Ludewig & Jannach 2018): the prefix is a vector weighting its item at (last) position p of L by
    ``weighting`` (default "div": p / L, so the last item weighs 1); similarity = the sum of the weights of the
    shared items / the number of distinct prefix items. A neighbour's items score sim x ``weighting_score``
    (default "div": 1 / step, step = how far from the end the prefix's most recent item the neighbour holds is,
    1 for the last item), times (1 + idf_weighting x idf(item)) when ``idf_weighting`` > 0 (default 0: off).
    Defaults are session-rec's VMContextKNN: k=100, the 1000 most recent candidates."""

    name = "vsknn"

    def __init__(self, k: int = 100, sample_size: int = 1000, weighting: str = "div", weighting_score: str = "div",
                 idf_weighting: float = 0.0) -> None:
        super().__init__(k, sample_size)
        if weighting not in POSITION_WEIGHTS or weighting_score not in STEP_DECAYS:
            raise SessionModelError(f"weighting and weighting_score must be one of {', '.join(POSITION_WEIGHTS)}; "
                                    f"got {weighting!r}, {weighting_score!r}")
        self.weighting, self.weighting_score = weighting, weighting_score
        self.idf_weighting = _positive("idf_weighting", idf_weighting, zero=True)

    def params(self) -> dict[str, Any]:
        return {**super().params(), "weighting": self.weighting, "weighting_score": self.weighting_score,
                "idf_weighting": self.idf_weighting}

    def _weights(self, positions: np.ndarray, length: int) -> np.ndarray:
        return POSITION_WEIGHTS[self.weighting](positions, float(length))

    def _similarity(self, dot: np.ndarray, cand: np.ndarray, weights: np.ndarray) -> np.ndarray:
        return dot / len(weights)

    def _contributions(self, sims: np.ndarray, items: np.ndarray, pos: np.ndarray, step: np.ndarray,
                       seg: np.ndarray, starts: np.ndarray) -> np.ndarray:
        decay = STEP_DECAYS[self.weighting_score](np.minimum.reduceat(step, starts))
        contrib = (sims * decay)[seg]
        return contrib * (1 + self.idf_weighting * self._idf[items]) if self.idf_weighting else contrib


class STAN(_KNN):
    """STAN (Garg et al., SIGIR 2019), three exponential decays (None turns one off):
    - lambda_spw (λ1): a prefix item at (last) position p of L weighs exp((p - L) / λ1); similarity = the
      weighted cosine sum(w shared) / (sqrt(sum w^2) sqrt(|n|));
    - lambda_snh (λ2, in days): the similarity is multiplied by exp(-(t_now - t_n) / λ2) before the top k are
      taken, t_now = the latest training session (every later reference time scales all neighbours alike, so
      the ranking is the same);
    - lambda_inh (λ3): item i of neighbour n scores sim x exp(-|p(i, n) - p(i*, n)| / λ3), where i* is the most
      recent prefix item n holds (the paper's definition; session-rec instead takes the last shared position
      in n) and p is the 1-based position of an item's last view in n.
    Defaults are session-rec's: k=100, sample_size=5000, λ1=1.02, λ2=5 days, λ3=2.05."""

    name = "stan"

    def __init__(self, k: int = 100, sample_size: int = 5000, lambda_spw: float | None = 1.02,
                 lambda_snh: float | None = 5.0, lambda_inh: float | None = 2.05) -> None:
        super().__init__(k, sample_size)
        self.lambda_spw = _positive("lambda_spw", lambda_spw, allow_none=True)
        self.lambda_snh = _positive("lambda_snh", lambda_snh, allow_none=True)
        self.lambda_inh = _positive("lambda_inh", lambda_inh, allow_none=True)

    def params(self) -> dict[str, Any]:
        return {**super().params(), "lambda_spw": self.lambda_spw, "lambda_snh": self.lambda_snh,
                "lambda_inh": self.lambda_inh}

    def _weights(self, positions: np.ndarray, length: int) -> np.ndarray:
        return np.exp((positions - length) / self.lambda_spw) if self.lambda_spw else np.ones_like(positions)

    def _similarity(self, dot: np.ndarray, cand: np.ndarray, weights: np.ndarray) -> np.ndarray:
        sims = dot / (np.sqrt(np.sum(weights ** 2)) * np.sqrt(self._len[cand]))
        if self.lambda_snh:
            sims = sims * np.exp(-(self._now - self._time[cand]) / self.lambda_snh)
        return sims

    def _contributions(self, sims: np.ndarray, items: np.ndarray, pos: np.ndarray, step: np.ndarray,
                       seg: np.ndarray, starts: np.ndarray) -> np.ndarray:
        if not self.lambda_inh:
            return sims[seg]
        # segments are contiguous, so sorting by (segment, step) puts each neighbour's i* at its segment start
        star = pos[np.lexsort((step, seg))[starts]]
        return sims[seg] * np.exp(-np.abs(pos - star[seg]) / self.lambda_inh)


MODELS: dict[str, type[_Model]] = {m.name: m for m in (SKNN, VSKNN, STAN, Popularity)}


def make_model(name: str, **params: Any) -> _Model:
    if name not in MODELS:
        raise SessionModelError(f"unknown session model {name!r} (one of {', '.join(MODELS)})")
    try:
        return MODELS[name](**params)
    except TypeError as exc:
        raise SessionModelError(f"bad parameters for {name}: {exc}") from None


def load_model(path: Path | str) -> _Model:
    """A model saved by ``save``, retrained on its stored sessions; anything else raises SessionModelError."""
    path = Path(path)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SessionModelError(f"cannot read model file {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SessionModelError(f"{path} is not a session model file (not JSON: {exc})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise SessionModelError(f"{path} is not a session model file (no format {FORMAT!r})")
    if payload.get("version") != FORMAT_VERSION:
        raise SessionModelError(f"{path}: model file version {payload.get('version')!r} is not supported "
                                f"(this version reads {FORMAT_VERSION}); retrain the model")
    params, rows = payload.get("params"), payload.get("sessions")
    if not isinstance(params, dict) or not isinstance(rows, list):
        raise SessionModelError(f"{path}: corrupt model file (params or sessions missing)")
    model = make_model(str(payload.get("model")), **params)
    try:
        sessions = [Session(sid, tuple(items), float(t)) for sid, t, items in rows
                    if isinstance(sid, str) and isinstance(items, list) and all(isinstance(i, str) for i in items)]
    except (TypeError, ValueError) as exc:
        raise SessionModelError(f"{path}: corrupt model file (bad session row: {exc})") from None
    model.fit(sessions)
    stats = {"sessions": len(model.sessions or ()), "items": len(model.items)}
    if len(sessions) != len(rows) or payload.get("stats") != stats:
        raise SessionModelError(f"{path}: corrupt model file (sessions do not match the stored counts)")
    return model


def _check_k(k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")


def hit_at(ranked: Sequence[str], target: str, k: int) -> float:
    """HR@k of one case: 1 if the target is in the top k (the same number as evals.metrics.hit_rate)."""
    _check_k(k)
    return 1.0 if target in ranked[:k] else 0.0


def reciprocal_rank(ranked: Sequence[str], target: str, k: int) -> float:
    """1 / the target's first position in the top k, else 0; averaged it is MRR@k (as evals.metrics.mrr)."""
    _check_k(k)
    head = list(ranked[:k])
    return 1.0 / (head.index(target) + 1) if target in head else 0.0


def ranked_lists(model: SessionModel, cases: Sequence[Case], k: int = 20) -> list[list[str]]:
    return [model.recommend(prefix, k) for prefix, _ in cases]


def evaluate(model: SessionModel, cases: Sequence[Case], k: int = 20) -> dict[str, Any]:
    """HR@k and MRR@k over next-item cases (0 with no cases), with the seconds the k recommendations took."""
    _check_k(k)
    started = time.perf_counter()
    ranked = ranked_lists(model, cases, k)
    seconds = time.perf_counter() - started
    n = len(cases)
    hits = sum(hit_at(r, target, k) for r, (_, target) in zip(ranked, cases))
    rr = sum(reciprocal_rank(r, target, k) for r, (_, target) in zip(ranked, cases))
    return {"k": k, "n": n, f"hr@{k}": hits / n if n else 0.0, f"mrr@{k}": rr / n if n else 0.0,
            "seconds": seconds}
