"""The catalog query from what the shopper saw (tools.recommend.constraints.seen_queries / inferred_types,
tools.recommend.candidates.retrieve_seen): the real-shopper experiment's InteraRec (docs/real-shoppers.md)."""

from __future__ import annotations

import math

import pytest

from catalog.models import Product
from catalog.store import CatalogStore
from tools.recommend.candidates import TYPE_WEIGHT, retrieve_seen
from tools.recommend.constraints import (
    DOMINANT_TYPE_SHARE,
    constraints_from_summary,
    inferred_types,
    resolved_policy,
    seen_brands,
    seen_queries,
)
from tools.recommend.lexical import index_for
from tools.schemas import BehaviorSummary, Evidence, ProductCharacteristics, SeenProduct

MICRO = ["Lab", "Microscopes"]
PIPETTE = ["Lab", "Pipettes"]
PRODUCTS = [
    Product(id="m1", title="Compound microscope with LED light 40x-1000x", brand="Optix", category_path=MICRO),
    Product(id="m2", title="Stereo microscope for students", brand="Optix", category_path=MICRO),
    Product(id="p1", title="Adjustable volume pipette 100-1000 ul", brand="Pipo", category_path=PIPETTE),
    Product(id="p2", title="Single channel pipette 10-100 ul", brand="Pipo", category_path=PIPETTE),
    Product(id="g1", title="Nitrile gloves box of 100", brand="Handy", category_path=["Lab", "Gloves"]),
]


def seen(*rows: tuple[str, str | None]) -> BehaviorSummary:
    types = [Evidence(value=c, frame_ids=["f:1"], count=1) for c in dict.fromkeys(c for _, c in rows if c)]
    return BehaviorSummary(product_characteristics=ProductCharacteristics(types=types), summariser="test",
                           products_seen=[SeenProduct(title=t, category=c, frame_id=f"f:{n}")
                                          for n, (t, c) in enumerate(rows)])


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> CatalogStore:
    s = CatalogStore.open(tmp_path_factory.mktemp("catalog"))
    s.upsert(PRODUCTS)
    return s


def test_seen_queries_are_the_newest_titles_weighted_by_recency():
    summary = seen(("old gloves", "Gloves"), ("a pipette", "Pipettes"), ("a microscope", "Microscopes"))
    assert seen_queries(summary) == [("a microscope", 1.0), ("a pipette", 0.5), ("old gloves", pytest.approx(1 / 3))]
    assert seen_queries(summary, limit=1) == [("a microscope", 1.0)]
    assert seen_queries(BehaviorSummary(summariser="test")) == []


def test_inferred_types_are_recency_shares_and_fall_back_to_the_summary_type():
    shares = inferred_types(seen(("a pipette", "Pipettes"), ("a microscope", "Microscopes")))
    assert shares == {"Microscopes": pytest.approx(2 / 3), "Pipettes": pytest.approx(1 / 3)}
    no_categories = seen(("a microscope", None)).model_copy(update={"product_characteristics": ProductCharacteristics(
        types=[Evidence(value="Microscopes", frame_ids=["f:0"], count=1)])})
    assert inferred_types(no_categories) == {"Microscopes": 1.0}
    assert inferred_types(BehaviorSummary(summariser="test")) == {}


def test_soft_policy_keeps_the_inferred_type_out_of_the_filters():
    summary = seen(("a microscope", "Microscopes"))
    assert constraints_from_summary(summary).categories == ["Microscopes"]
    soft = constraints_from_summary(summary, category_policy="soft")
    assert soft.categories == [] and "Microscopes" in soft.query and soft.notes
    with pytest.raises(ValueError):
        constraints_from_summary(summary, category_policy="sometimes")


def test_retrieve_seen_finds_what_is_like_each_title_and_scores_the_type_softly(store):
    summary = seen(("pipette 100 ul", "Pipettes"), ("LED compound microscope", "Microscopes"))
    constraints = constraints_from_summary(summary, k=3, category_policy="soft")
    plain = {c.product_id: c for c in retrieve_seen(store, constraints, seen_queries(summary), exclude_ids=["m1"])}
    assert "m1" not in plain and {"m2", "p1", "p2", "g1"} <= set(plain)  # no filter: other types stay candidates
    typed = {c.product_id: c for c in retrieve_seen(store, constraints, seen_queries(summary), exclude_ids=["m1"],
                                                    types=inferred_types(summary))}
    shares = inferred_types(summary)
    for pid, share in (("m2", shares["Microscopes"]), ("p1", shares["Pipettes"]), ("g1", 0.0)):
        assert typed[pid].utility == pytest.approx(plain[pid].utility * math.exp(TYPE_WEIGHT * share))



def test_retrieve_seen_weights_the_newest_title_most(store):
    def gap(*rows) -> float:  # microscope minus pipette similarity
        summary = seen(*rows)
        got = {c.product_id: c.similarity for c in retrieve_seen(
            store, constraints_from_summary(summary, category_policy="soft"), seen_queries(summary), base_weight=0)}
        return got["m2"] - got["p2"]

    newest_microscope = gap(("pipette 100 ul", "Pipettes"), ("LED compound microscope", "Microscopes"))
    newest_pipette = gap(("LED compound microscope", "Microscopes"), ("pipette 100 ul", "Pipettes"))
    assert newest_microscope > 0 > newest_pipette


def test_retrieve_seen_keeps_hard_filters_and_the_pool(store):
    summary = seen(("LED compound microscope", "Microscopes"))
    hard = constraints_from_summary(summary, k=3)
    got = retrieve_seen(store, hard, seen_queries(summary))
    assert got and all("Microscopes" in c.category_path for c in got)
    assert len(retrieve_seen(store, constraints_from_summary(summary, category_policy="soft"), seen_queries(summary),
                             pool=2)) == 2


def test_seen_brands_are_recency_shares_of_all_recent_products():
    summary = seen(("a pipette", "Pipettes"), ("a microscope", "Microscopes"), ("gloves", None))
    rows = [p.model_copy(update={"brand": b}) for p, b in zip(summary.products_seen, ["Pipo", "Optix", None])]
    shares = seen_brands(summary.model_copy(update={"products_seen": rows}))
    total = 1 + 1 / 2 + 1 / 3  # the unbranded newest product counts in the total
    assert shares == {"optix": pytest.approx((1 / 2) / total), "pipo": pytest.approx((1 / 3) / total)}
    assert seen_brands(BehaviorSummary(summariser="test")) == {}


def test_lexical_recall_brings_in_the_exact_word_match_and_keeps_the_filters(store):
    summary = seen(("single channel 10-100", "Pipettes"))
    soft = constraints_from_summary(summary, category_policy="soft")
    words = index_for(PRODUCTS)
    # Only the word match decides with weight 1: the one product holding "single channel 10-100" is the pool
    (only,) = retrieve_seen(store, soft, seen_queries(summary), pool=1, base_weight=0, lexical=words,
                            lexical_weight=1.0)
    assert only.product_id == "p2" and only.similarity == pytest.approx(1.0)
    mixed = {c.product_id: c.similarity for c in retrieve_seen(store, soft, seen_queries(summary), base_weight=0,
                                                               lexical=words, lexical_weight=0.5)}
    dense = {c.product_id: c.similarity for c in retrieve_seen(store, soft, seen_queries(summary), base_weight=0)}
    bm25 = words.seen_scores(seen_queries(summary))
    for pid in dense:
        assert mixed[pid] == pytest.approx(0.5 * dense[pid] + 0.5 * bm25[words.position[pid]], abs=1e-5)
    hard = constraints_from_summary(seen(("single channel 10-100", "Microscopes")))
    assert all("Microscopes" in c.category_path
               for c in retrieve_seen(store, hard, seen_queries(summary), lexical=words, lexical_weight=1.0))


def test_a_brand_seen_scores_up_its_products(store):
    summary = seen(("LED compound microscope", "Microscopes"))
    soft = constraints_from_summary(summary, category_policy="soft")
    plain = {c.product_id: c for c in retrieve_seen(store, soft, seen_queries(summary))}
    branded = {c.product_id: c for c in retrieve_seen(store, soft, seen_queries(summary), brands={"Pipo": 0.5},
                                                      brand_weight=2.0)}
    for pid in ("p1", "p2"):
        assert branded[pid].utility == pytest.approx(plain[pid].utility * math.exp(2.0 * 0.5))
        assert any(m.startswith("brand seen") for m in branded[pid].matches)
    assert branded["m2"].utility == pytest.approx(plain["m2"].utility)
    # the brand term also orders the pool, so it decides who stays in it when the pool is cut
    ranked = retrieve_seen(store, soft, seen_queries(summary), brands={"pipo": 1.0}, brand_weight=5.0)
    assert [c.brand for c in ranked[:2]] == ["Pipo", "Pipo"]


def test_the_lexical_index_is_built_once_per_catalog_content():
    assert index_for(PRODUCTS) is index_for(list(reversed(PRODUCTS)))
    changed = [p.model_copy(update={"title": p.title + " v2"}) if p.id == "g1" else p for p in PRODUCTS]
    assert index_for(changed) is not index_for(PRODUCTS)


def test_auto_policy_filters_only_a_type_that_dominates_the_browsing():
    only = seen(("a pipette", "Microscopes"), ("LED compound microscope", "Microscopes"))
    mixed = seen(("a pipette", "Pipettes"), ("LED compound microscope", "Microscopes"))
    assert max(inferred_types(mixed).values()) < DOMINANT_TYPE_SHARE
    assert resolved_policy(only, "auto") == "hard" and resolved_policy(mixed, "auto") == "soft"
    assert resolved_policy(mixed, "hard") == "hard" and resolved_policy(only, "soft") == "soft"
    assert constraints_from_summary(only, category_policy="auto").categories == ["Microscopes"]
    assert constraints_from_summary(mixed, category_policy="auto").categories == []
    assert resolved_policy(BehaviorSummary(summariser="test"), "auto") == "soft"
