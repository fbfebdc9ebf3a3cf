"""Text-only content baseline: rank the catalog by how much each product's text looks like the history's, reading
only what a weblog of item metadata holds (title, brand, category path), no screenshots and no other users.

score(c) = sum over the history items h, newest first at distance d = 0, 1, ... of w(d) * sim(c, h), with
w(d) = 1 / (1 + d) (the newest counts most) and
sim(c, h) = TITLE * cos(tfidf(c), tfidf(h)) + PATH * [same full category path]
            + PARENT * [same first two path levels] + BRAND * [same brand, case-insensitive].
Titles are lower-cased word tokens (letters and digits, at least 2 characters) with smoothed idf over the
catalog; vectors are L2-normalised. Weights are module constants chosen on the validation split (see
docs/real-shoppers.md). Ties break by popularity, then id. Also ``CombinedRecommender``: a fixed blend of two
recommenders' min-max normalised top-N scores.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence

import numpy as np

from catalog.models import Product
from evals.baselines import PopularityRecommender
from evals.cases import EvalCase

TITLE, PATH, PARENT, BRAND = 1.0, 0.25, 0.0, 0.3  # chosen on the validation split (docs/real-shoppers.md)
_TOKEN = re.compile(r"[a-z0-9]{2,}")


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.casefold())


class ContentRecommender(PopularityRecommender):
    """The content heuristic above; ``fit`` only learns the popularity order used for ties."""

    name = "content"

    def __init__(self, products: Sequence[Product], weights: tuple[float, float, float, float] | None = None) -> None:
        super().__init__([p.id for p in products])
        self.title_w, self.path_w, self.parent_w, self.brand_w = weights or (TITLE, PATH, PARENT, BRAND)
        self.ids = [p.id for p in products]
        self.pos = {pid: n for n, pid in enumerate(self.ids)}
        docs = [Counter(tokens(p.title)) for p in products]
        df = Counter(t for doc in docs for t in doc)
        n = len(docs)
        idf = {t: math.log((1 + n) / (1 + c)) + 1 for t, c in df.items()}
        self.vectors: list[dict[str, float]] = []
        postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for i, doc in enumerate(docs):
            vec = {t: (1 + math.log(c)) * idf[t] for t, c in doc.items()}
            norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
            vec = {t: v / norm for t, v in vec.items()}
            self.vectors.append(vec)
            for t, v in vec.items():
                postings[t].append((i, v))
        self.postings = {t: (np.array([i for i, _ in ps]), np.array([v for _, v in ps])) for t, ps in postings.items()}
        self.groups: dict[tuple[str, object], np.ndarray] = {}
        grouped: dict[tuple[str, object], list[int]] = defaultdict(list)
        for i, p in enumerate(products):
            grouped["path", tuple(p.category_path)].append(i)
            grouped["parent", tuple(p.category_path[:2])].append(i)
            if p.brand:
                grouped["brand", p.brand.casefold()].append(i)
        self.groups = {key: np.array(members) for key, members in grouped.items()}
        self.keys = [(("path", tuple(p.category_path)), ("parent", tuple(p.category_path[:2])),
                      ("brand", p.brand.casefold()) if p.brand else None) for p in products]

    def scores(self, history: Sequence[str]) -> np.ndarray:
        total = np.zeros(len(self.ids))
        for distance, pid in enumerate(reversed(history)):
            i = self.pos.get(pid)
            if i is None:
                continue
            weight = 1.0 / (1 + distance)
            for t, v in self.vectors[i].items():
                members, values = self.postings[t]
                total[members] += weight * self.title_w * v * values
            path, parent, brand = self.keys[i]
            total[self.groups[path]] += weight * self.path_w
            total[self.groups[parent]] += weight * self.parent_w
            if brand is not None:
                total[self.groups[brand]] += weight * self.brand_w
        return total

    def scored(self, case: EvalCase, n: int) -> dict[str, float]:
        """The ``n`` best products' scores, the case's history excluded."""
        total = self.scores(case.viewed_ids)
        for pid in case.viewed_ids:
            if pid in self.pos:
                total[self.pos[pid]] = -np.inf
        best = np.argsort(-total, kind="stable")[:n]
        return {self.ids[i]: float(total[i]) for i in best if total[i] > 0}

    def recommend(self, case: EvalCase, k: int) -> list[str]:
        scores = self.scored(case, max(k, 200))
        ranked = sorted(scores, key=lambda pid: (-round(scores[pid], 12), self.rank.get(pid, len(self.rank)), pid))
        return self._fill(ranked[:k], set(case.viewed_ids), k)


def _normalised(scores: dict[str, float]) -> dict[str, float]:
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    span = high - low
    return {k: (v - low) / span if span else 1.0 for k, v in scores.items()}


class CombinedRecommender(PopularityRecommender):
    """``weight`` * content + (1 - ``weight``) * item-kNN, each min-max normalised over its own top 200."""

    name = "content+item-knn"

    def __init__(self, content: ContentRecommender, knn, weight: float = 0.5) -> None:
        self.content, self.knn, self.weight = content, knn, weight
        super().__init__(content.ids)

    def fit(self, train_sessions: list[list[str]]) -> None:
        super().fit(train_sessions)
        self.content.fit(train_sessions)
        self.knn.fit(train_sessions)

    def recommend(self, case: EvalCase, k: int) -> list[str]:
        a = _normalised(self.content.scored(case, 200))
        b = _normalised(self.knn.scored(case, 200))
        total = {pid: self.weight * a.get(pid, 0.0) + (1 - self.weight) * b.get(pid, 0.0) for pid in a.keys() | b}
        ranked = sorted(total, key=lambda pid: (-round(total[pid], 12), self.rank.get(pid, len(self.rank)), pid))
        return self._fill(ranked[:k], set(case.viewed_ids), k)
