"""The Amazon session loader on a hand-made dataset in the real CSV layout, plus a smoke test on the real data."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from catalog.ingest import parse_file
from evals.datasets import amazon
from evals.datasets.amazon import build_cases, data_dir, load_catalog, load_sessions, parse_categories, split_sessions


def _write(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *rows])


@pytest.fixture
def toy(tmp_path: Path) -> Path:
    d = tmp_path / "food"
    d.mkdir()
    _write(d / "item_titles.csv", ["item ID", "titles"], [
        [1, "  Green   tea\n bags "], [2, "Coffee &quot;beans&quot; &amp; cups"], [3, "x" * 400], [10, "Honey"],
        [11, "   "],
        [4, "Oats"], [5, "Rice"], [6, "Salt"], [7, "Sugar"],
    ])  # 99 has no row at all and 11 only whitespace: both untitled
    _write(d / "item_categories.csv", ["item ID", "categories"], [
        [1, "[[Grocery & Gourmet Food,Beverages,Coffee, Tea & Cocoa,Tea]]"],
        [2, "[[],[Grocery & Gourmet Food,Coffee]]"], [3, "[[]]"],  # 10 has no row
        *[[i, "[[Grocery & Gourmet Food]]"] for i in (4, 5, 6, 7)],
    ])
    _write(d / "user_session.csv", ["user ID", "session ID", "timestamp"], [
        [0, 100, 200], [1, 5, 100], [2, 7, 100], [3, 8, 300], [4, 10, 300],
    ])  # session 50 has no user and no timestamp
    _write(d / "session_item.csv", ["session ID", "item ID"], [
        [100, 10], [100, 2], [100, 99], [100, 1],
        [5, 10], [5, 2], [5, 99],
        [7, 4], [7, 99],
        [8, 7], [8, 5], [8, 6],
        [10, 4], [10, 11], [10, 3],
        [50, 1], [50, 2],
    ])
    _write(d / "user_item.csv", ["user ID", "item ID", "timestamp"], [
        [0, 10, 190], [0, 10, 500], [0, 2, 200], [0, 1, 200],  # user 0 bought 10 twice: 190 is nearest to 200
        [3, 7, 300], [3, 5, 300], [3, 6, 300],
    ])  # session 5's items have no rows: they take the session's timestamp
    return tmp_path


def test_parse_categories() -> None:
    assert parse_categories("[[Clothing, Shoes & Jewelry,Women,Lingerie, Sleep & Lounge]]") == [
        "Clothing, Shoes & Jewelry", "Women", "Lingerie, Sleep & Lounge"]
    assert parse_categories("[[A,B],[C]]") == ["A", "B"]
    assert parse_categories("[[],[C,,D]]") == ["C", "D"]
    assert parse_categories("[[]]") == []


def test_catalog(toy: Path) -> None:
    products, stats = load_catalog("food", toy)
    by_id = {p.id: p for p in products}
    assert list(by_id) == [f"az-food-{i}" for i in (1, 2, 3, 4, 5, 6, 7, 10)]  # numeric item order
    assert by_id["az-food-1"].title == "Green tea bags"
    assert by_id["az-food-2"].title == 'Coffee "beans" & cups'  # the data's HTML entities decoded
    assert by_id["az-food-1"].category_path == ["Grocery & Gourmet Food", "Beverages", "Coffee, Tea & Cocoa", "Tea"]
    assert by_id["az-food-2"].category_path == ["Grocery & Gourmet Food", "Coffee"]
    assert by_id["az-food-3"].title == "x" * 300 and by_id["az-food-3"].category_path == ["Food"]
    assert by_id["az-food-10"].category_path == ["Food"]
    p = by_id["az-food-4"]
    assert (p.price, p.brand, p.source, p.currency) == (None, None, "amazon-bundlerec", "USD")
    assert stats == {"titled": 8, "session_items": 10, "untitled": 2}  # 99 and 11


def test_write_catalog_round_trips(toy: Path, tmp_path: Path) -> None:
    path = tmp_path / "amazon-food.jsonl"
    assert amazon.write_catalog("food", path, toy) == 8
    parsed = parse_file(path)
    assert not parsed.errors and parsed.products == amazon.catalog_products("food", toy)


def test_session_order_and_drops(toy: Path) -> None:
    sessions, stats = load_sessions("food", toy)
    # Time order 100, 200, 300, 300; the tie at 300 by numeric session ID (8 before 10).
    assert [(s.session_id, s.items) for s in sessions] == [
        ("5", ("2", "10")),  # all tie at the session's day: numeric item ID ("2" before "10"); 99 dropped
        ("100", ("10", "1", "2")),  # 10 at 190 first, then 1 and 2 tied at 200
        ("8", ("5", "6", "7")),
        ("10", ("3", "4")),  # 11 (blank title) dropped
    ]
    assert stats == {"sessions_total": 6, "sessions_no_timestamp": 1, "sessions_too_short": 1,
                     "untitled_dropped": 4, "sessions_kept": 4}


def test_time_split(toy: Path) -> None:
    sessions, _ = load_sessions("food", toy)
    train, test = split_sessions(list(reversed(sessions)), 0.5)
    assert [s.session_id for s in train] == ["5", "100"] and [s.session_id for s in test] == ["8", "10"]
    train, test = split_sessions(sessions, 0.2)  # round(0.8) = 1 test session, the latest
    assert len(train) == 3 and [s.session_id for s in test] == ["10"]


def test_leave_one_out_cases(toy: Path) -> None:
    train, cases, stats = build_cases("food", root=toy, test_fraction=0.5)
    assert train == [["az-food-2", "az-food-10"], ["az-food-10", "az-food-1", "az-food-2"]]
    first, second = cases
    assert first.case_id == first.persona.name == "amazon-food-8" and first.dataset == "amazon-food"
    # One item of each session is held out (drawn, seeded by the session: the data has no order inside one);
    # the others are viewed in order, and the steps replay exactly them.
    sessions = {"amazon-food-8": ["az-food-5", "az-food-6", "az-food-7"], "amazon-food-10": ["az-food-3", "az-food-4"]}
    titles = {"az-food-5": "Rice", "az-food-6": "Salt", "az-food-7": "Sugar", "az-food-3": "x" * 300,
              "az-food-4": "Oats"}
    for case in cases:
        items = sessions[case.case_id]
        (target,) = case.targets
        assert [i for i in items if i != target] == list(case.viewed_ids) and target in items
        assert case.viewed_titles == tuple(titles[i] for i in case.viewed_ids)
        assert case.length == len(items)
        assert [s.text for s in case.persona.steps if s.action == "goto"] == [f"/p/{i}" for i in case.viewed_ids]
    assert [(s.action, s.amount) for s in first.persona.steps[:2]] == [("goto", 0), ("dwell", 0.5)]
    assert "replays" in first.persona.description.lower()
    again = build_cases("food", root=toy, test_fraction=0.5)[1]
    assert [c.targets for c in again] == [c.targets for c in cases]  # the same draw every run
    for case in cases:
        assert not case.targets & set(case.viewed_ids)
    assert (stats["train"], stats["test"], stats["cases"], stats["mean_length"]) == (2, 2, 2, 2.5)


def test_limit_is_a_seeded_sample(toy: Path) -> None:
    _, all_cases, _ = build_cases("food", root=toy, test_fraction=0.5)
    picks = {build_cases("food", limit=1, seed=s, root=toy, test_fraction=0.5)[1][0].case_id for s in range(20)}
    assert picks == {c.case_id for c in all_cases}
    again = [build_cases("food", limit=1, seed=3, root=toy, test_fraction=0.5)[1][0].case_id for _ in range(3)]
    assert len(set(again)) == 1


def test_data_dir_honours_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert data_dir(tmp_path) == tmp_path
    monkeypatch.setenv("INTERAREC_SHARED_DATA", str(tmp_path))
    (tmp_path / "sessions-bundlerec-amazon").mkdir()
    assert data_dir() == tmp_path / "sessions-bundlerec-amazon"
    with pytest.raises(ValueError):
        load_catalog("books", tmp_path)


# Counts from the dataset README: titled items, distinct session items, sessions.
README_COUNTS = {"electronic": (3499, 4943, 1145), "clothing": (4487, 6439, 1181), "food": (3767, 5072, 1161)}


@pytest.mark.parametrize("domain", amazon.DOMAINS)
def test_real_data(domain: str) -> None:
    try:
        present = (data_dir() / domain / "session_item.csv").is_file()
    except amazon.DataMissing:
        present = False
    if not present:
        pytest.skip("the shared BundleRec data is not here")
    train, cases, stats = build_cases(domain)
    assert (stats["titled"], stats["session_items"], stats["sessions_total"]) == README_COUNTS[domain]
    assert stats["sessions_kept"] == stats["train"] + stats["test"] == len(train) + len(cases)
    assert stats["test"] == round(stats["sessions_kept"] * 0.2)
    catalog = {p.id for p in amazon.catalog_products(domain)}
    for case in cases:
        assert len(case.targets) == 1 and not case.targets & set(case.viewed_ids)
        assert set(case.viewed_ids) | case.targets <= catalog
    assert all(len(s) >= 2 and set(s) <= catalog for s in train)
    sample = build_cases(domain, limit=20, seed=1)[1]
    assert len(sample) == 20 and [c.case_id for c in sample] == [c.case_id for c in build_cases(domain, 20, 1)[1]]
