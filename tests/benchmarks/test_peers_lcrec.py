"""benchmarks.peers.lcrec inside .venv-peers (`scripts/peers.sh test`): RecBole trains one epoch on a tiny
exported split and writes a top-K per evaluated user with the history excluded. Skipped where RecBole is
not installed (the main .venv)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("recbole")
pytest.importorskip("torch")

from benchmarks.peers import lcrec  # noqa: E402


def _input(tmp_path, split):
    rng = __import__("random").Random(0)
    items = [f"lc-{i}" for i in range(30)]
    users = [{"user": str(u), "history": rng.sample(items, rng.randint(2, 6))} for u in range(40)]
    doc = {"format": lcrec.INPUT_FORMAT, "dataset": "toy", "sha256": "f" * 64, "split": split, "items": items,
           "train": [u["history"] for u in users], "users": users, "revision": {"commit": "x"}}
    if split == "valid":
        doc["valid_targets"] = {u["user"]: next(i for i in items if i not in u["history"]) for u in users}
    folder = tmp_path / split
    folder.mkdir()
    (folder / lcrec.INPUT).write_text(json.dumps(doc))
    return folder, doc


@pytest.mark.parametrize("model", ["gru4rec", "sasrec"])
@pytest.mark.parametrize("split", ["valid", "test"])
def test_one_epoch_ranks_every_user_without_their_history(tmp_path, model, split):
    folder, doc = _input(tmp_path, split)
    assert lcrec.main([str(folder), "--model", model, "--epochs", "1", "--seed", "1"]) == 0
    out = json.loads((folder / f"rankings-{model}.json").read_text())
    assert out["format"] == lcrec.RANKINGS_FORMAT and out["split"] == split and out["sha256"] == doc["sha256"]
    assert out["training"]["train_cases"] == sum(len(u["history"]) - 1 for u in doc["users"])
    assert out["settings"]["threads"] == 1 and out["versions"]["recbole"] == "1.2.1"
    for entry in doc["users"]:
        ranked = out["rankings"][entry["user"]]
        assert len(ranked) == lcrec.K and len(set(ranked)) == len(ranked)
        assert not set(ranked) & set(entry["history"])
        assert set(ranked) <= set(doc["items"])
    if split == "valid":
        assert out["training"]["best_epochs"] == 1 and len(out["training"]["valid_ndcg10_by_epoch"]) == 1
