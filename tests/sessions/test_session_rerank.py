"""Session re-ranking: the session model's scores move the MNL utilities by the documented rule, and only
as far as the weight says."""

from __future__ import annotations

import math

import pytest

from tools.recommend.candidates import SESSION_REASON, with_session_scores
from tools.recommend.explain import recommendations
from tools.recommend.optimizer import select
from tools.schemas import Candidate, Constraints


def _candidate(pid: str, utility: float) -> Candidate:
    return Candidate(product_id=pid, title=pid, brand=None, price=100.0, currency="INR", category_path=["X"],
                     rating=None, similarity=0.5, utility=utility, value=1.0)


POOL = [_candidate("a", 3.0), _candidate("b", 2.0), _candidate("c", 1.0)]


def test_the_best_scored_candidate_gains_the_weight_in_utility_and_the_rest_in_proportion():
    got = {c.product_id: c for c in with_session_scores(POOL, {"b": 0.8, "c": 0.2, "zz": 5.0}, weight=2.0)}
    # "zz" is not a candidate: the normalising maximum is over the candidates (0.8)
    assert got["b"].utility == pytest.approx(2.0 * math.exp(2.0))
    assert got["c"].utility == pytest.approx(1.0 * math.exp(2.0 * 0.25))
    assert got["a"].utility == 3.0  # unscored: unchanged
    assert any(k.startswith(SESSION_REASON) for k in got["b"].matches) and not got["a"].matches


def test_no_scores_or_zero_weight_leave_the_pool_as_it_was():
    assert with_session_scores(POOL, {}, weight=2.0) == POOL
    assert with_session_scores(POOL, {"b": 1.0}, weight=0.0) == POOL


def test_a_strong_session_signal_changes_the_ranking_and_explains_itself():
    constraints = Constraints(k=2)
    before = [c.product_id for c in select(POOL, constraints).chosen]
    reranked = with_session_scores(POOL, {"c": 1.0}, weight=3.0)
    selection = select(reranked, constraints)
    after = [c.product_id for c in selection.chosen]
    assert before == ["a", "b"] and after == ["c", "a"]
    reasons = recommendations(selection, constraints)[0].reasons
    assert any("viewed together with this session's products by other shoppers" in r for r in reasons)
