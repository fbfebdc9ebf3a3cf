"""`interarec bench`: one table and one JSON file over the stages asked for; the catalog benchmark's searches
are the agent's kind and never empty by construction. No figure is asserted: benchmarks measure, tests don't."""

from __future__ import annotations

import json

import pytest

from agent.cli.main import main
from benchmarks.catalog import queries, search_latency
from benchmarks.common import percentile, print_rows
from catalog.files import load_products


def test_bench_runs_the_stages_asked_for_prints_one_table_and_writes_json(tmp_path, capsys):
    out = tmp_path / "bench"
    assert main(["bench", "--only", "optimizer", "--quick", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    doc = json.loads((out / "bench.json").read_text())
    assert doc["stages"] == ["optimizer"] and doc["quick"] is True
    assert doc["revision"] and doc["machine"]["cpus"]
    assert [r["measure"] for r in doc["rows"]] == ["solve, 100 candidates", "solve, 1,000 candidates",
                                                   "solve, 10,000 candidates"]
    assert all(r["median"] > 0 and r["p95"] >= r["median"] for r in doc["rows"])
    for row in doc["rows"]:
        assert row["measure"] in printed
    assert json.loads((out / "optimizer.json").read_text())["sizes"]["1000"]["modes"]["mixed"]["runs"] == 3


def test_bench_names_the_stages_when_given_an_unknown_one(tmp_path, capsys):
    assert main(["bench", "--only", "warp-drive", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "warp-drive" in err and "capture" in err and "catalog" in err


def test_the_catalog_benchmark_searches_like_the_agent_and_each_filter_matches_its_source(tmp_path, store):
    products = load_products()[:300]
    sample = tmp_path / "sample.jsonl"
    sample.write_text("".join(p.model_dump_json() + "\n" for p in products), encoding="utf-8")
    store.upsert(products)
    searches = queries(sample, 25)
    assert len(searches) == 25
    for text, filters in searches:
        assert filters.categories and filters.min_price is not None and filters.max_price is not None
        assert store.search(text, filters, limit=60), f"no product passes the filter of {text!r}"
    result = search_latency(store, searches)
    assert result["queries"] == 25 and result["filtered_hits_median"] >= 1
    for kind in ("no_filter_ms", "filtered_chroma_where_ms", "filtered_filter_index_ms"):
        assert result[kind]["p95"] >= result[kind]["p50"] > 0
    assert result["filter_index_load_seconds"] > 0 and store._filter_index is not None


@pytest.mark.parametrize(("values", "q", "expected"), [([3, 1, 2], 0.5, 2), ([5], 0.95, 5),
                                                        (list(range(1, 101)), 0.95, 95)])
def test_percentile_is_the_nearest_rank(values, q, expected):
    assert percentile(values, q) == expected


def test_the_table_has_a_row_per_measure_and_a_dash_for_no_p95(capsys):
    print_rows([{"stage": "catalog 10,000", "measure": "store size", "median": 41.5, "p95": None, "unit": "MiB"},
                {"stage": "catalog 10,000", "measure": "ingest", "median": 180.24, "p95": None, "unit": "products/s"}])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["stage", "measure", "median", "p95", "unit"]
    assert lines[1].split()[-3:] == ["41.5", "-", "MiB"] and lines[2].split()[-3:] == ["180", "-", "products/s"]


def test_the_live_benchmark_reports_memory_growth_over_the_second_half():
    from benchmarks.live import memory_trend

    flat = [(t, 2000.0 + (5 if t % 20 else 0), 800.0) for t in range(0, 610, 10)]
    rising = [(t, 2000.0 + t / 6, 800.0 + t / 60) for t in range(0, 610, 10)]  # 10 and 1 MiB per minute
    step = [(t, 2000.0 + (50 if t > 200 else 0), 800.0) for t in range(0, 610, 10)]  # one step, early
    assert memory_trend(flat)["tree"]["growth_per_minute_second_half"] == pytest.approx(0, abs=0.5)
    assert memory_trend(step)["tree"]["growth_per_minute_second_half"] == 0
    trend = memory_trend(rising)
    assert trend["tree"]["growth_per_minute_second_half"] == pytest.approx(10, abs=0.1)
    assert trend["python"]["growth_per_minute_second_half"] == pytest.approx(1, abs=0.1)
    assert trend["tree"]["last"] == rising[-1][1] and trend["tree"]["first_minute"] < trend["tree"]["last"]
