"""Diginetica preprocessing as SR-GNN does it, on a hand-made item-views file, and the shared sample's split."""

from __future__ import annotations

import pytest

from tools.sessions.data import (
    Session,
    SessionDataError,
    build_dataset,
    diginetica_path,
    diginetica_split,
    load_diginetica,
    next_item_cases,
    preprocess,
    split_by_time,
)

# session_id;user_id;item_id;timeframe;eventdate. A and B are viewed 6 and 5 times in sessions of length >= 2;
# R 4 times there plus once in the single-view session 4, which is dropped before items are counted;
# C 5 times, only in test sessions.
ROWS = """\
1;NA;A;30;2016-01-01
1;NA;B;10;2016-01-01
1;NA;R;20;2016-01-01
1;NA;A;10;2016-01-01
2;NA;A;5;2016-01-02
2;NA;R;6;2016-01-02
2;NA;B;7;2016-01-02
2;NA;R;8;2016-01-02
3;7;B;1;2016-01-03
3;7;R;2;2016-01-03
4;NA;R;1;2016-01-05
5;NA;A;1;2016-01-13
5;NA;B;2;2016-01-13
6;NA;A;1;2016-01-15
6;NA;C;2;2016-01-15
6;NA;B;3;2016-01-15
7;NA;C;1;2016-01-20
7;NA;C;2;2016-01-20
7;NA;C;3;2016-01-20
7;NA;C;4;2016-01-20
7;NA;A;5;2016-01-20
"""


@pytest.fixture
def views(tmp_path):
    path = tmp_path / "views.csv"
    path.write_text("session_id;user_id;item_id;timeframe;eventdate\n" + ROWS)
    return path


def test_load_orders_views_by_timeframe(views):
    sessions = load_diginetica(views)
    assert [s.session_id for s in sessions] == ["1", "2", "3", "4", "5", "6", "7"]
    # timeframes 30, 10, 20, 10: B and A tie at 10 and keep file order.
    assert sessions[0].items == ("B", "A", "R", "A")
    assert sessions[6].time - sessions[0].time == 19  # days


def test_preprocess_drops_singles_before_counting_support(views):
    kept = preprocess(load_diginetica(views))
    # R has 4 counted views (< 5): removed; session 3 becomes [B] and is dropped; session 4 was a single view.
    assert [(s.session_id, s.items) for s in kept] == [
        ("1", ("B", "A", "A")), ("2", ("A", "B")), ("5", ("A", "B")), ("6", ("A", "C", "B")),
        ("7", ("C", "C", "C", "C", "A"))]
    assert [s.session_id for s in preprocess(load_diginetica(views), min_item_support=4)] == \
        ["1", "2", "3", "5", "6", "7"]


def test_split_by_time_and_unseen_test_items(views):
    train, test = split_by_time(preprocess(load_diginetica(views)), test_days=7)
    # latest date January 20, split January 13: session 5 (on the split date) is in neither, as in SR-GNN.
    assert [s.session_id for s in train] == ["1", "2"] and [s.session_id for s in test] == ["6", "7"]
    dataset = build_dataset("toy", train, test)
    # C never occurs in train: session 6 becomes [A, B]; session 7 becomes [A] and is dropped.
    assert [s.items for s in dataset.test] == [("A", "B")]
    assert dataset.test_cases == [(("A",), "B")]
    assert dataset.stats["test_sessions_dropped"] == 1 and dataset.stats["train_cases"] == 3


def test_diginetica_split_of_a_file(views):
    dataset = diginetica_split(views, name="toy")
    assert dataset.name == "toy" and len(dataset.train) == 2 and dataset.test_cases == [(("A",), "B")]
    assert dataset.stats["boundary_sessions"] == 1 and dataset.stats["split_date"] == "2016-01-13"


def test_next_item_cases_every_prefix():
    cases = next_item_cases([Session("s", ("a", "b", "c", "d"), 0.0), ["x"]])
    assert cases == [(("a", "b", "c"), "d"), (("a", "b"), "c"), (("a",), "b")]


def test_bad_files(tmp_path):
    with pytest.raises(SessionDataError, match="cannot read"):
        load_diginetica(tmp_path / "missing.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("session;item\n1;2\n")
    with pytest.raises(SessionDataError, match="missing session_id"):
        load_diginetica(bad)
    bad.write_text("session_id;user_id;item_id;timeframe;eventdate\n1;NA;5;soon;2016-01-01\n")
    with pytest.raises(SessionDataError, match=":2: bad timeframe"):
        load_diginetica(bad)
    bad.write_bytes(b"session_id;user_id;item_id;timeframe;eventdate\n\xff\xfe;NA\n")
    with pytest.raises(SessionDataError, match="not a readable CSV"):
        load_diginetica(bad)


@pytest.mark.skipif(not diginetica_path().exists(), reason="shared Diginetica sample not found")
def test_shared_sample_split_counts():
    stats = diginetica_split().stats
    assert (stats["raw_sessions"], stats["raw_events"], stats["sessions"], stats["items"]) == (2986, 12391, 525, 317)
    assert (stats["train_sessions"], stats["train_items"], stats["train_cases"]) == (469, 309, 1205)
    assert (stats["test_sessions"], stats["test_cases"], stats["boundary_sessions"]) == (39, 99, 9)
    assert stats["split_date"] == "2016-05-25"
