"""The eval runner's bookkeeping: aggregation into tables and ablations, thresholds (both directions), the
report, the scenario format and the `interarec eval` command's input checks. The suites themselves run as
`interarec eval` (the quick one in CI), not here."""

from __future__ import annotations

import json
import math

import pytest

from agent.cli.main import main
from evals.aggregate import Record, aggregate, length_bucket
from evals.report import html_page, main_table, markdown
from evals.run import SUITES, check_thresholds
from evals.trajectories import _violations, load_scenarios


def _record(dataset: str, method: str, case: str, length: int, hr: float) -> Record:
    values = {f"{m}@{k}": hr for m in ("hr", "ndcg", "mrr", "precision") for k in (5, 10, 20)}
    return Record(dataset, method, case, length, values, [f"{case}-{method}"], {"summarise": 0.5 + hr})


@pytest.fixture
def doc():
    records = [_record("synthetic", m, f"c{i}", 2 + i, hr) for i in range(4)
               for m, hr in (("random", 0.0), ("interarec", 1.0), ("interarec@25%", 0.5), ("text-only", 0.25))]
    result = aggregate(records, {"synthetic": {"catalog": 100, "cases": 4, "browse_seconds": [1.0, 3.0]}}, 200)
    result.update(suite="test", seconds=1.0, revision={"commit": "abc", "dirty": False},
                  backends={"summariser": "offline-screen-reader (not an MLLM)"},
                  trajectories={"chat_model": "local", "summary": {"strict_match": 1.0, "unordered_match": 1.0,
                                                                  "constraints_held": 0.5, "answers_ok": 1.0,
                                                                  "turns": 2, "scenarios": 1}})
    result["thresholds"] = check_thresholds(result, {"synthetic/interarec/hr@10": 0.9,
                                                     "synthetic/random/hr@10": -0.1,
                                                     "trajectories/all/constraints_held": 1.0,
                                                     "amazon-food/interarec/hr@10": 0.1})
    return result


def test_means_and_intervals_per_dataset_method_and_metric(doc):
    interarec = doc["metrics"]["synthetic"]["interarec"]["hr@10"]
    assert (interarec["mean"], interarec["ci_low"], interarec["ci_high"], interarec["n"]) == (1.0, 1.0, 1.0, 4)
    assert doc["metrics"]["synthetic"]["text-only"]["mrr@10"]["mean"] == 0.25
    assert doc["coverage"]["synthetic"]["interarec"] == pytest.approx(4 / 100)  # 4 distinct ids in the top 10s


def test_ablations_group_the_variants(doc):
    volume = doc["ablations"]["data_volume"]["synthetic"]
    assert volume["0.25"]["hr@10"]["mean"] == 0.5 and volume["1.0"]["hr@10"]["mean"] == 1.0
    assert set(doc["ablations"]["modality"]["synthetic"]) == {"text", "screens"}
    lengths = doc["ablations"]["session_length"]["synthetic"]
    assert set(lengths) == {"2-3", "4-5"} and lengths["2-3"]["interarec"]["n"] == 2  # lengths 2, 3 | 4, 5
    assert [length_bucket(n) for n in (2, 3, 4, 5, 6, 9)] == ["2-3", "2-3", "4-5", "4-5", "6+", "6+"]


def test_latency_quantiles_include_browsing(doc):
    assert doc["latency"]["browse"] == {"p50": 2.0, "p95": 2.9, "n": 2}
    assert doc["latency"]["summarise"]["p50"] == 1.5  # interarec's own timings only


def test_thresholds_bound_both_ways_and_skip_datasets_not_run(doc):
    by_key = {t["key"]: t for t in doc["thresholds"]}
    assert by_key["synthetic/interarec/hr@10"]["pass"]
    assert by_key["synthetic/random/hr@10"]["pass"]  # at most 0.1, and it is 0
    assert not by_key["trajectories/all/constraints_held"]["pass"]  # 0.5 < 1.0
    assert by_key["amazon-food/interarec/hr@10"].get("skipped")


def test_report_tables_and_page(doc):
    table = main_table(doc)
    assert table[0] == "| dataset (cases) | method | hr@10 | ndcg@10 | mrr@10 |"
    assert "| synthetic (4) | interarec | 1.000 [1.000, 1.000] |" in "\n".join(table)
    text = markdown(doc)
    assert "offline-screen-reader (not an MLLM)" in text and "FAIL" in text
    page = html_page(doc, text)
    separators = sum(line.startswith("|---") for line in text.splitlines())
    assert page.count("<table>") == separators  # every Markdown table became an HTML table
    assert 'src="data:image/png;base64,' in page


def test_the_shipped_scenarios_load_and_name_known_tools():
    from agent.chat.tools import TOOLS

    scenarios = load_scenarios()
    assert len(scenarios) >= 3
    for scenario in scenarios:
        for turn in scenario["turns"]:
            assert isinstance(turn["user"], str) and set(turn.get("tools", [])) <= set(TOOLS)


def test_constraint_checks_of_a_trajectory():
    recs = [{"product_id": "a", "brand": "Titan", "price": 900.0}, {"product_id": "b", "brand": "Maxima",
                                                                      "price": 1200.0}]
    ratings = {"a": 4.5, "b": 3.9}
    assert _violations({"max_price": 1500, "exclude_brands": ["Sonata"]}, recs, ratings) == []
    assert _violations({"max_price": 1000}, recs, ratings) == ["a price above 1000"]
    assert _violations({"min_rating": 4}, recs, ratings) == ["a rating below 4"]
    assert _violations({"exclude_brands": ["titan"]}, recs, ratings) == ["an excluded brand"]
    assert _violations({"count": 3}, recs, ratings) == ["2 products instead of 3"]
    assert _violations({"max_price": 10}, [], {}) == ["no products"]


def test_suites_are_defined_with_thresholds():
    assert {"quick", "full"} <= set(SUITES)
    for suite in SUITES.values():
        assert suite.thresholds and all(not math.isnan(v) for v in suite.thresholds.values())


def test_eval_command_rejects_an_unknown_suite(capsys):
    assert main(["eval", "--suite", "nonsense", "--out", "x"]) == 2
    assert "unknown suite 'nonsense'" in capsys.readouterr().err


def test_metrics_json_has_no_nan(tmp_path):
    from evals.cli import _finite

    assert json.dumps(_finite({"a": [float("nan"), 1.0], "b": {"c": float("inf")}})) == \
        '{"a": [null, 1.0], "b": {"c": null}}'


def test_a_checkout_without_the_shared_data_says_where_to_point(monkeypatch, tmp_path):
    from catalog.shared_data import shared_data_root
    from evals.datasets import amazon

    monkeypatch.setenv("INTERAREC_SHARED_DATA", str(tmp_path))
    assert shared_data_root() == tmp_path
    with pytest.raises(amazon.DataMissing, match="INTERAREC_SHARED_DATA"):
        amazon.data_dir()
