"""Weblog baselines on a toy set of sessions whose rankings are worked out by hand."""

from __future__ import annotations

import pytest

from evals.baselines import ItemKnnRecommender, PopularityRecommender, RandomRecommender, SessionKnnRecommender
from evals.cases import EvalCase
from tools.capture.personas import Persona, Step

CATALOG = ["a", "b", "c", "d", "e", "f"]
TRAIN = [["a", "b", "c"], ["a", "b"], ["b", "d"], ["c", "e"]]
# Sessions holding each item: a 2, b 3, c 2, d 1, e 1, f 0.
# Cosine item similarities: a-b 2/sqrt(2*3) = .816, a-c 1/sqrt(2*2) = .5, b-c 1/sqrt(3*2) = .408,
# b-d 1/sqrt(3*1) = .577, c-e 1/sqrt(2*1) = .707.


def case(*viewed: str, case_id: str = "c1") -> EvalCase:
    persona = Persona(name=case_id, description="toy", steps=[Step(action="home")])
    return EvalCase(case_id=case_id, dataset="amazon-toy", viewed_ids=viewed, targets=frozenset({"z"}),
                    persona=persona)


def fitted(recommender, train=TRAIN):
    recommender.fit(train)
    return recommender


def test_popularity() -> None:
    pop = fitted(PopularityRecommender(CATALOG))
    # b (3), then a and c (2) by id, d and e (1) by id, then f (unseen) in catalog order.
    assert pop.recommend(case(), 10) == ["b", "a", "c", "d", "e", "f"]
    assert pop.recommend(case("a"), 3) == ["b", "c", "d"]


def test_item_knn() -> None:
    knn = fitted(ItemKnnRecommender(CATALOG))
    # c: e .707, a .5, b .408; filled by popularity: d, f.
    assert knn.recommend(case("c"), 5) == ["e", "a", "b", "d", "f"]
    # a and d: b .816 + .577, c .5; fill e, f.
    assert knn.recommend(case("a", "d"), 4) == ["b", "c", "e", "f"]


def test_session_knn() -> None:
    # c is in sessions 0 {a,b,c} (1/sqrt(1*3) = .577) and 3 {c,e} (1/sqrt(1*2) = .707):
    # e .707, a and b .577 tie and go by popularity (b first); fill d, f.
    assert fitted(SessionKnnRecommender(CATALOG)).recommend(case("c"), 5) == ["e", "b", "a", "d", "f"]
    # b: sessions 1 {a,b} and 2 {b,d} both .707 (tie: training order), session 0 .577.
    # One neighbour (session 1): a, then fill c, d, e. Two (1 and 2): a and d tie at .707, popularity: a, d.
    assert fitted(SessionKnnRecommender(CATALOG, k_neighbors=1)).recommend(case("b"), 4) == ["a", "c", "d", "e"]
    assert fitted(SessionKnnRecommender(CATALOG, k_neighbors=2)).recommend(case("b"), 4) == ["a", "d", "c", "e"]


def test_session_knn_recency() -> None:
    # Viewed b then c, |V| = 2. Plain: session 0 has both, 2/sqrt(2*3) = .816; sessions 1, 2, 3 one each, 1/2 = .5,
    # so the second neighbour is session 1 (training order): a only; fill d, e, f.
    plain = fitted(SessionKnnRecommender(CATALOG, k_neighbors=2))
    assert plain.name == "sknn" and plain.recommend(case("b", "c"), 4) == ["a", "d", "e", "f"]
    # Recency: b counts 1/2, c counts 1. Session 0 1.5/sqrt(6) = .612, session 3 {c,e} 1/2 = .5,
    # sessions 1 and 2 .5/2 = .25: neighbours 0 and 3, so a .612, e .5; fill d, f.
    recent = fitted(SessionKnnRecommender(CATALOG, k_neighbors=2, recency=True))
    assert recent.name == "v-sknn" and recent.recommend(case("b", "c"), 4) == ["a", "e", "d", "f"]


def all_recommenders():
    return [RandomRecommender(CATALOG, seed=7), PopularityRecommender(CATALOG), ItemKnnRecommender(CATALOG),
            SessionKnnRecommender(CATALOG), SessionKnnRecommender(CATALOG, recency=True)]


@pytest.mark.parametrize("train", [TRAIN, []])
def test_exclusion_and_length(train) -> None:
    for recommender in all_recommenders():
        recommender.fit(train)
        for viewed in [(), ("a",), ("b", "c"), ("f", "e", "d", "c", "b")]:
            ranked = recommender.recommend(case(*viewed), 4)
            assert len(ranked) == len(set(ranked)) == min(4, len(CATALOG) - len(viewed)), recommender.name
            assert not set(ranked) & set(viewed) and set(ranked) <= set(CATALOG)


def test_no_training_falls_back_to_catalog_order() -> None:
    for recommender in all_recommenders()[1:]:
        assert fitted(recommender, []).recommend(case("b"), 3) == ["a", "c", "d"], recommender.name


def test_determinism() -> None:
    for recommender in all_recommenders():
        recommender.fit(TRAIN)
        first = [recommender.recommend(case("c", case_id=str(i)), 5) for i in range(5)]
        again = all_recommenders()[[r.name for r in all_recommenders()].index(recommender.name)]
        again.fit(TRAIN)
        assert first == [again.recommend(case("c", case_id=str(i)), 5) for i in range(5)], recommender.name
    rand = RandomRecommender(CATALOG, seed=7)
    lists = {tuple(rand.recommend(case(case_id=str(i)), 6)) for i in range(20)}
    assert len(lists) > 1  # seeded per case, not one fixed shuffle
    assert rand.recommend(case(case_id="x"), 6) != RandomRecommender(CATALOG, seed=8).recommend(case(case_id="x"), 6)
