"""Weblog baselines: recommenders that see only the ids of the viewed products (no screenshots), fitted on the
training sessions. Every ranking excludes the case's viewed ids and is deterministic.

Synthetic shoppers have no click logs, so they are run with ``fit([])``: popularity then is the catalog order,
and both kNN methods find no neighbours and return that same order. They are the floor, not a competitor there.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

from evals.cases import EvalCase


def _top(scores: dict[str, float], order: dict[str, int], exclude: set[str], k: int) -> list[str]:
    """The ``k`` best by score; equal scores (rounded, so sums that are equal on paper tie) by popularity."""
    candidates = [item for item in scores if item not in exclude]
    candidates.sort(key=lambda item: (-round(scores[item], 12), order.get(item, len(order)), item))
    return candidates[:k]


class PopularityRecommender:
    """Items by the number of training sessions holding them (ties by id), then the rest of the catalog in
    catalog order."""

    name = "popularity"

    def __init__(self, catalog_ids: Sequence[str] = ()) -> None:
        self.catalog_ids = list(dict.fromkeys(catalog_ids))
        self.fit([])

    def fit(self, train_sessions: list[list[str]]) -> None:
        counts = Counter(item for session in train_sessions for item in set(session))
        ranked = sorted(counts, key=lambda item: (-counts[item], item))
        ranked += [item for item in self.catalog_ids if item not in counts]
        self.ranking = ranked
        self.rank = {item: i for i, item in enumerate(ranked)}  # the kNN methods' tie-break and fill

    def _fill(self, ranked: list[str], exclude: set[str], k: int) -> list[str]:
        seen = exclude | set(ranked)
        for item in self.ranking:
            if len(ranked) >= k:
                break
            if item not in seen:
                ranked.append(item)
        return ranked[:k]

    def recommend(self, case: EvalCase, k: int) -> list[str]:
        return self._fill([], set(case.viewed_ids), k)


class RandomRecommender:
    """A uniform sample of the catalog, seeded per case (seed and case id) so a rerun gives the same lists."""

    name = "random"

    def __init__(self, catalog_ids: Sequence[str], seed: int = 0) -> None:
        self.catalog_ids = list(dict.fromkeys(catalog_ids))
        self.seed = seed

    def fit(self, train_sessions: list[list[str]]) -> None:
        pass

    def recommend(self, case: EvalCase, k: int) -> list[str]:
        viewed = set(case.viewed_ids)
        candidates = [item for item in self.catalog_ids if item not in viewed]
        # A string seed is hashed with SHA-512 by random, so it does not depend on PYTHONHASHSEED.
        return random.Random(f"{self.seed}:{case.case_id}").sample(candidates, min(k, len(candidates)))


class ItemKnnRecommender(PopularityRecommender):
    """Item-to-item co-occurrence in training sessions, cosine-normalised: sim(i, j) = co(i, j) / sqrt(n_i n_j)
    (n = sessions holding the item). A candidate scores the sum of its similarities to the viewed items; the
    list is filled by popularity."""

    name = "item-knn"

    def __init__(self, catalog_ids: Sequence[str] = (), last: int | None = None) -> None:
        self.last = last  # score against only the newest ``last`` viewed items (None: all of them)
        super().__init__(catalog_ids)

    def fit(self, train_sessions: list[list[str]]) -> None:
        super().fit(train_sessions)
        sets = [set(session) for session in train_sessions]
        count = Counter(item for items in sets for item in items)
        co: dict[str, Counter[str]] = defaultdict(Counter)
        for items in sets:
            for i in items:
                co[i].update(items - {i})
        self.similar = {
            i: {j: c / math.sqrt(count[i] * count[j]) for j, c in neighbours.items()} for i, neighbours in co.items()
        }

    def scored(self, case: EvalCase, n: int) -> dict[str, float]:
        """The ``n`` best-scored items (the case's viewed ones excluded) and their scores."""
        viewed = case.viewed_ids[-self.last:] if self.last else case.viewed_ids
        scores: dict[str, float] = defaultdict(float)
        for item_viewed in viewed:
            for item, sim in self.similar.get(item_viewed, {}).items():
                scores[item] += sim
        return {item: scores[item] for item in _top(scores, self.rank, set(case.viewed_ids), n)}

    def recommend(self, case: EvalCase, k: int) -> list[str]:
        exclude = set(case.viewed_ids)
        return self._fill(list(self.scored(case, k)), exclude, k)


class SessionKnnRecommender(PopularityRecommender):
    """Session-kNN (SKNN): the ``k_neighbors`` training sessions most similar to the viewed items, by cosine of
    binary item vectors, |V ∩ S| / sqrt(|V| |S|) (ties by training order); a candidate scores the sum of the
    similarities of the neighbours holding it; the list is filled by popularity.

    ``recency=True`` is V-SKNN's linear decay: the viewed item at position p of n counts p / n instead of 1
    (the last viewed counts 1, the first 1/n). On the Amazon sessions the order within a session is by item ID
    (see ``evals.datasets.amazon``), so recency weighting there only adds noise."""

    def __init__(self, catalog_ids: Sequence[str] = (), k_neighbors: int = 100, recency: bool = False) -> None:
        self.k_neighbors = k_neighbors
        self.recency = recency
        self.name = "v-sknn" if recency else "sknn"
        super().__init__(catalog_ids)

    def fit(self, train_sessions: list[list[str]]) -> None:
        super().fit(train_sessions)
        self.sessions = [set(session) for session in train_sessions]
        self.index: dict[str, list[int]] = defaultdict(list)  # item -> training sessions holding it
        for s, items in enumerate(self.sessions):
            for item in items:
                self.index[item].append(s)

    def _weights(self, viewed: Sequence[str]) -> dict[str, float]:
        n = len(viewed)
        weights: dict[str, float] = {}
        for position, item in enumerate(viewed, start=1):  # a repeated view keeps its latest position
            weights[item] = position / n if self.recency else 1.0
        return weights

    def neighbours(self, viewed: Iterable[str]) -> list[tuple[int, float]]:
        weights = self._weights(list(viewed))
        overlap: dict[int, float] = defaultdict(float)
        for item, weight in weights.items():
            for s in self.index.get(item, ()):
                overlap[s] += weight
        sims = {s: w / math.sqrt(len(weights) * len(self.sessions[s])) for s, w in overlap.items()}
        return sorted(sims.items(), key=lambda pair: (-round(pair[1], 12), pair[0]))[: self.k_neighbors]

    def recommend(self, case: EvalCase, k: int) -> list[str]:
        scores: dict[str, float] = defaultdict(float)
        for s, sim in self.neighbours(case.viewed_ids):
            for item in self.sessions[s]:
                scores[item] += sim
        exclude = set(case.viewed_ids)
        return self._fill(_top(scores, self.rank, exclude, k), exclude, k)


class SessionModelRecommender(PopularityRecommender):
    """A next-item model of ``tools.sessions.models`` (SKNN, V-SKNN, STAN) as an eval method: the model's
    ranking given the viewed items, the viewed items excluded, filled by popularity (the model ranks only items
    with a positive score)."""

    def __init__(self, model, catalog_ids: Sequence[str] = (), name: str | None = None) -> None:
        self.model = model
        self.name = name or model.name
        super().__init__(catalog_ids)

    def fit(self, train_sessions: list[list[str]]) -> None:
        super().fit(train_sessions)
        self.model.fit(train_sessions)

    def recommend(self, case: EvalCase, k: int) -> list[str]:
        exclude = set(case.viewed_ids)
        return self._fill(self.model.recommend(list(case.viewed_ids), k, exclude=exclude), exclude, k)
