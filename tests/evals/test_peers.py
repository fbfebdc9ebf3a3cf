"""evals.peers: the export a RecBole run trains on, and the scoring of its rankings on the eval's user sample,
on a tiny hand-made LC-Rec folder (no torch, no network)."""

from __future__ import annotations

import json

import pytest

from evals import peers
from evals.datasets import lcrec


def _folder(tmp_path):
    items = {str(i): {"title": f"Thing {i}", "description": "", "brand": "B", "categories": "Top,Mid"}
             for i in range(1, 9)}
    inter = {"10": ["1", "2", "3", "4"], "11": ["2", "3", "5"], "12": ["6", "7"], "13": ["1", "5", "8", "2", "3"]}
    (tmp_path / "toy.item.json").write_text(json.dumps(items))
    (tmp_path / "toy.inter.json").write_text(json.dumps(inter))
    return tmp_path


def _rankings(data, split, model, rankings):
    return {"format": peers.RANKINGS_FORMAT, "model": model, "dataset": data.name, "sha256": data.digest,
            "split": split, "rankings": rankings, "settings": {"seed": 1}}


def test_export_holds_the_split_and_no_test_target(tmp_path):
    data = lcrec.load(_folder(tmp_path))
    test = json.loads(peers.export(data, "test", tmp_path / "t").read_text())
    assert test["train"] == [["lc-1", "lc-2", "lc-3"], ["lc-2", "lc-3"], ["lc-6"], ["lc-1", "lc-5", "lc-8", "lc-2"]]
    assert [u["user"] for u in test["users"]] == ["10", "11", "12", "13"]
    assert "valid_targets" not in test
    assert "lc-4" not in json.dumps(test["users"]) + json.dumps(test["train"])  # user 10's test target
    assert test["items"] == [f"lc-{i}" for i in range(1, 9)] and test["sha256"] == data.digest
    valid = json.loads(peers.export(data, "valid", tmp_path / "v").read_text())
    # user 12 (two items) has no valid case; the valid target is the item before the last
    assert [u["user"] for u in valid["users"]] == ["10", "11", "13"]
    assert valid["valid_targets"] == {"10": "lc-3", "11": "lc-3", "13": "lc-2"}
    assert valid["users"][0]["history"] == ["lc-1", "lc-2"]


def test_score_uses_the_eval_sample_and_our_metrics(tmp_path):
    data = lcrec.load(_folder(tmp_path))
    ranked = {"10": ["lc-5", "lc-4"], "11": ["lc-6", "lc-1", "lc-5"], "12": ["lc-7"],
              "13": ["lc-6", "lc-7", "lc-4"]}
    other = {u: [] for u in ranked}
    doc = peers.score_rankings(data, "test", [_rankings(data, "test", "GRU4Rec", ranked),
                                              _rankings(data, "test", "SASRec", other)], None, 0, resamples=200)
    gru = doc["per_user"]["gru4rec"]
    assert gru["10"]["hr@10"] == 1.0 and gru["10"]["mrr@10"] == 0.5  # target lc-4 at rank 2
    assert gru["11"]["hr@10"] == 1.0 and gru["11"]["mrr@10"] == pytest.approx(1 / 3)
    assert gru["12"]["hr@10"] == 1.0 and gru["13"]["hr@10"] == 0.0
    assert doc["metrics"]["gru4rec"]["hr@10"]["mean"] == 0.75
    assert doc["metrics"]["sasrec"]["hr@10"]["mean"] == 0.0
    assert doc["paired"]["sasrec - gru4rec"]["hr@10"]["mean"] == -0.75
    # the same users as `interarec eval --users 2 --seed 3` would score
    small = peers.score_rankings(data, "test", [_rankings(data, "test", "GRU4Rec", ranked)], 2, 3, resamples=50)
    assert small["users"] == lcrec.sample_users(data, "test", 2, 3) and len(small["per_user"]["gru4rec"]) == 2


def test_score_rejects_history_items_missing_users_and_another_split(tmp_path):
    data = lcrec.load(_folder(tmp_path))
    full = {"10": ["lc-4"], "11": ["lc-5"], "12": ["lc-7"], "13": ["lc-3"]}
    with pytest.raises(peers.PeersError, match="history item 'lc-1'"):
        peers.score_rankings(data, "test", [_rankings(data, "test", "m", {**full, "10": ["lc-1", "lc-4"]})],
                             None, 0, resamples=10)
    with pytest.raises(peers.PeersError, match="no ranking for user '12'"):
        peers.score_rankings(data, "test", [_rankings(data, "test", "m", {"10": [], "11": [], "13": []})],
                             None, 0, resamples=10)
    path = tmp_path / "r.json"
    path.write_text(json.dumps(_rankings(data, "valid", "m", full)))
    with pytest.raises(peers.PeersError, match="split valid"):
        peers.read_rankings(path, data, "test")


def test_cli_scores_and_pairs_against_an_eval_run(tmp_path, capsys):
    data = lcrec.load(_folder(tmp_path))
    ranked = {"10": ["lc-4"], "11": ["lc-6"], "12": ["lc-7"], "13": ["lc-3"]}
    (tmp_path / "rankings-gru4rec.json").write_text(json.dumps(_rankings(data, "test", "GRU4Rec", ranked)))
    users = lcrec.sample_users(data, "test", None, 0)
    run = {"dataset": {"sha256": data.digest}, "protocol": {"split": "test"}, "users": users,
           "per_user": {"item-knn": {f"toy-{u}": 0.0 for u in users}}}
    (tmp_path / "metrics.json").write_text(json.dumps(run))
    code = peers.main(["score", "--dataset", f"lcrec:{tmp_path}", "--split", "test", "--rankings",
                       str(tmp_path / "rankings-gru4rec.json"), "--out", str(tmp_path / "out"), "--resamples", "100",
                       "--against", str(tmp_path / "metrics.json")])
    assert code == 0
    assert "| gru4rec | 0.750" in capsys.readouterr().out
    doc = json.loads((tmp_path / "out" / "peers-scores-test.json").read_text())
    assert doc["paired"]["gru4rec - item-knn"]["hr@10"]["mean"] == 0.75
    assert doc["revision"]["commit"]
    assert peers.main(["score", "--dataset", f"lcrec:{tmp_path / 'nope'}", "--rankings", "x", "--out",
                       str(tmp_path / "o2")]) == 2
    assert "error:" in capsys.readouterr().err
