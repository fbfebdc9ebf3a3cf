"""The peer comparison's conversion of our session split to RecBole's atomic format (torch-free), and, where torch
and RecBole are installed (.venv-peers), RecBole's own split of that file matching ours case for case."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.peers.atomic import (
    HEADER,
    augment,
    read_atomic,
    sessions_from_rows,
    write_atomic,
)
from benchmarks.peers.compare import PrecomputedRanker, case_sessions, ratio_interval, ratios, table
from tools.sessions.data import Session, build_dataset, next_item_cases
from tools.sessions.models import evaluate


def toy_split():
    train = [Session("1", ("a", "b", "c"), 10.0), Session("2", ("b", "c"), 11.0),
             Session("3", ("c", "a", "b", "d"), 12.0), Session("7", ("d", "a"), 12.0)]
    test = [Session("4", ("a", "b", "x", "d"), 20.0), Session("5", ("c", "d"), 21.0), Session("6", ("x", "a"), 22.0)]
    return build_dataset("toy", train, test)


def test_round_trip_keeps_every_session_and_test_case(tmp_path):
    dataset = toy_split()
    path = write_atomic(dataset, tmp_path, "toy")
    assert path == tmp_path / "toy" / "toy.inter"
    assert path.read_text().splitlines()[0].split("\t") == list(HEADER)
    train, test = sessions_from_rows(read_atomic(path))
    assert train == {s.session_id: list(s.items) for s in dataset.train}
    assert test == {s.session_id: list(s.items) for s in dataset.test}
    assert "6" not in test  # left with one known item: no case, so not written
    # RecBole's augmentation of the written test sessions is exactly our test cases, and of train our train cases
    assert sorted(augment(list(test.values()))) == sorted(dataset.test_cases)
    assert sorted(augment(list(train.values()))) == sorted(next_item_cases(dataset.train))


def test_timestamps_order_views_within_sessions_and_train_before_test(tmp_path):
    dataset = toy_split()
    rows = read_atomic(write_atomic(dataset, tmp_path, "toy"))
    by_session: dict[str, list] = {}
    for row in rows:
        by_session.setdefault(row.session, []).append(row)
    for views in by_session.values():
        stamps = [r.timestamp for r in views]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    # rows shuffled still come back in view order (RecBole sorts by session, then timestamp)
    shuffled = [rows[i] for i in np.random.default_rng(1).permutation(len(rows))]
    assert sessions_from_rows(shuffled) == sessions_from_rows(rows)
    last_train = max(r.timestamp for r in rows if r.session.startswith("train_"))
    assert last_train < min(r.timestamp for r in rows if r.session.startswith("test_"))


def test_same_id_on_both_sides_stays_apart(tmp_path):
    dataset = build_dataset("toy", [Session("1", ("a", "b"), 1.0)], [Session("1", ("b", "a"), 9.0)])
    train, test = sessions_from_rows(read_atomic(write_atomic(dataset, tmp_path, "toy")))
    assert train == {"1": ["a", "b"]} and test == {"1": ["b", "a"]}


def test_tokens_recbole_cannot_read_are_refused(tmp_path):
    dataset = build_dataset("toy", [Session("1", ("a b", "c"), 1.0)], [])
    with pytest.raises(ValueError, match="RecBole token"):
        write_atomic(dataset, tmp_path, "toy")


def test_precomputed_rankings_score_through_our_evaluate():
    cases = [(("a",), "b"), (("a", "b"), "z"), (("c",), "a")]
    ranker = PrecomputedRanker({("a",): ["b", "c"], ("a", "b"): ["c", "a"], ("c",): ["b", "a"]})
    result = evaluate(ranker, cases, k=20)
    assert result["hr@20"] == pytest.approx(2 / 3)
    assert result["mrr@20"] == pytest.approx((1 + 0 + 1 / 2) / 3)
    assert ranker.recommend(("a",), 1, exclude=["b"]) == ["c"]


def test_ratios_take_our_best_model_by_hr():
    ours = {"sknn": {"hr@20": 0.5, "mrr@20": 0.2, "train_seconds": 0.01, "_hits": np.array([1.0, 0.0]),
                     "_rr": np.array([0.4, 0.0])},
            "stan": {"hr@20": 1.0, "mrr@20": 0.3, "train_seconds": 0.02, "_hits": np.array([1.0, 1.0]),
                     "_rr": np.array([0.5, 0.1])}}
    peers = {"SRGNN": {"hr@20": 0.5, "mrr@20": 0.6, "train_seconds": 2.0, "_hits": np.array([0.0, 1.0]),
                       "_rr": np.array([0.0, 1.2])}}
    result = ratios(ours, peers)
    assert result["ours"] == "stan"
    against = result["against"]["SRGNN"]
    assert against["hr@20_ratio"] == pytest.approx(2.0)
    assert against["mrr@20_ratio"] == pytest.approx(0.5)
    assert against["train_time_ratio"] == pytest.approx(0.01)
    lo, hi = ratio_interval(np.array([1.0, 1.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0, 1.0]))
    assert lo <= 1.5 <= hi
    # resampling whole sessions: two sessions that each agree give a point interval
    assert ratio_interval(np.array([1.0, 0.0, 1.0]), np.array([0.0, 1.0, 1.0]), np.array([0, 0, 1])) == [1.0, 1.0]


def test_case_sessions_follow_next_item_cases():
    dataset = toy_split()
    groups = case_sessions(dataset)
    assert len(groups) == len(dataset.test_cases)
    for group, (prefix, _) in zip(groups, dataset.test_cases):
        assert dataset.test[group].items[:len(prefix)] == prefix


def test_table_lists_every_model():
    rows = {"stan": {"label": "STAN (ours)", "hr@20": 0.5, "mrr@20": 0.25, "train_seconds": 0.001,
                     "eval_seconds": 0.02},
            "SRGNN": {"label": "SR-GNN (RecBole)", "hr@20": 0.6, "mrr@20": 0.3, "train_seconds": 12.5,
                      "eval_seconds": 0.2, "epochs": [7]}}
    text = table(rows)
    assert "STAN (ours)" in text and "SR-GNN (RecBole)" in text and "12.50" in text and " 7" in text


def synthetic_split(n_items: int = 30, n_train: int = 120, n_test: int = 15, seed: int = 3):
    """Sessions walking a ring of items (the next item is usually the following one), dated one a day."""
    rng = np.random.default_rng(seed)

    def session(n: int, day: float) -> Session:
        start, length = int(rng.integers(n_items)), int(rng.integers(2, 6))
        items = [(start + step + int(rng.random() < 0.2)) % n_items for step in range(length)]
        return Session(str(n), tuple(f"i{i}" for i in items), day)

    train = [session(n, float(n)) for n in range(n_train)]
    test = [session(n_train + n, float(n_train + 10 + n)) for n in range(n_test)]
    return build_dataset("synthetic", train, test)


def test_recbole_trains_on_our_split_and_agrees_with_our_metric_code():
    pytest.importorskip("torch")
    pytest.importorskip("recbole")
    from benchmarks.peers.recbole_runner import train_and_rank

    toy = toy_split()
    run = train_and_rank("GRU4Rec", toy, seed=1, epochs=1)  # checks RecBole's case counts against ours
    assert set(run.ranked) == {p for p, _ in toy.test_cases}
    assert all(sorted(r) == ["a", "b", "c", "d"] for r in run.ranked.values())  # every item, never the padding

    dataset = synthetic_split()
    for model in ("GRU4Rec", "SRGNN"):
        run = train_and_rank(model, dataset, seed=1, epochs=3)
        ours = evaluate(PrecomputedRanker(run.ranked), dataset.test_cases, 20)
        assert ours["n"] == len(dataset.test_cases)
        assert ours["hr@20"] == pytest.approx(run.recbole_test["hit@20"], abs=1e-4)
        assert ours["mrr@20"] == pytest.approx(run.recbole_test["mrr@20"], abs=1e-4)
    selected = train_and_rank("SRGNN", dataset, seed=1, max_epochs=2)  # epochs chosen on a split of train alone
    assert 1 <= selected.epochs <= 2 and selected.selection["valid_cases"] > 0
