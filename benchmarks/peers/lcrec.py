"""RecBole's GRU4Rec or SASRec trained on the real-shopper split that ``python -m evals.peers export`` wrote, and
each evaluated user's top-20 (history excluded) written for ``python -m evals.peers score``.

    scripts/peers.sh lcrec DIR [--model gru4rec|sasrec] [--epochs N] [--seed S]

Reads DIR/peers-input.json, writes DIR/rankings-MODEL.json. numpy, torch and recbole only (no evals import):
the JSON files are the interface. The split is the loader's: each user's history is one RecBole sequence and
RecBole's augmentation makes its (prefix, next item) training cases. On the ``valid`` split the valid target
is appended to the sequence and that last case alone is RecBole's validation set (early stopping on NDCG@10,
the best epoch's weights kept); on the ``test`` split nothing but the histories is written, and the model is
trained for a fixed number of epochs (the valid run's best). RecBole's own validation does not mask the
history (its sequential full-sort evaluation never does); our scoring does.
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import recbole.model.sequential_recommender  # noqa: F401  (see recbole_runner: anomaly mode is switched off)
import torch
from recbole.config import Config
from recbole.data import data_preparation
from recbole.data.dataset import SequentialDataset
from recbole.data.interaction import Interaction
from recbole.trainer import Trainer
from recbole.utils import get_model, init_seed

from benchmarks.peers.recbole_runner import _fit, _quiet_in, versions

INPUT = "peers-input.json"
INPUT_FORMAT = "interarec-peers-lcrec-input/1"
RANKINGS_FORMAT = "interarec-peers-lcrec-rankings/1"
K = 20
MODELS = {"gru4rec": "GRU4Rec", "sasrec": "SASRec"}
MAX_LEN = 50  # RecBole's default MAX_ITEM_LIST_LENGTH; the longest history here is 77
TRAIN_CONFIG = {"train_batch_size": 256, "eval_batch_size": 1024, "learner": "adam", "learning_rate": 0.001,
                "weight_decay": 0.0, "train_neg_sample_args": None, "loss_type": "CE"}
# RecBole's defaults (recbole/properties/model/*.yaml), written out so the rankings file records them.
MODEL_CONFIG = {
    "GRU4Rec": {"embedding_size": 64, "hidden_size": 128, "num_layers": 1, "dropout_prob": 0.3},
    "SASRec": {"n_layers": 2, "n_heads": 2, "hidden_size": 64, "inner_size": 256, "hidden_dropout_prob": 0.5,
               "attn_dropout_prob": 0.5, "hidden_act": "gelu", "layer_norm_eps": 1e-12,
               "initializer_range": 0.02},
}


class LastCaseDataset(SequentialDataset):
    """Each user's last augmented case is the validation set when ``lcrec_holdout`` is on; every other case
    trains. Off, every case trains (the valid/test loaders get one case, never used)."""

    def build(self):
        self._change_feat_format()  # augmentation, sorted by user then position
        uid = self.inter_feat[self.uid_field].numpy()
        last = np.append(uid[1:] != uid[:-1], True)
        if self.config["lcrec_holdout"]:
            valid = self.copy(self.inter_feat[torch.from_numpy(last)])
            return [self.copy(self.inter_feat[torch.from_numpy(~last)]), valid, valid]
        spare = self.copy(self.inter_feat[torch.arange(1)])
        return [self.copy(self.inter_feat[torch.ones(len(uid), dtype=torch.bool)]), spare, spare]


def read_input(folder: Path) -> dict:
    doc = json.loads((folder / INPUT).read_text(encoding="utf-8"))
    if doc.get("format") != INPUT_FORMAT:
        raise ValueError(f"{folder / INPUT} is not of format {INPUT_FORMAT}")
    return doc


def write_atomic(doc: dict, folder: Path, name: str) -> tuple[Path, int]:
    """One sequence per user (user tokens ``u<id>``, timestamps = positions); the valid target appended on the
    valid split. Returns the file and the number of training cases RecBole must make from it."""
    targets = doc.get("valid_targets") if doc["split"] == "valid" else None
    path = folder / name / f"{name}.inter"
    path.parent.mkdir(parents=True, exist_ok=True)
    cases = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(("user_id:token", "item_id:token", "timestamp:float"))
        for entry in doc["users"]:
            seq = list(entry["history"]) + ([targets[entry["user"]]] if targets else [])
            cases += len(entry["history"]) - 1
            for position, item in enumerate(seq):
                writer.writerow((f"u{entry['user']}", item, float(position)))
    return path, cases


def make_config(model: str, folder: Path, name: str, seed: int, epochs: int, holdout: bool, stopping: int) -> Config:
    config_dict = {
        "MAX_ITEM_LIST_LENGTH": MAX_LEN, "data_path": str(folder), "USER_ID_FIELD": "user_id",
        "ITEM_ID_FIELD": "item_id", "TIME_FIELD": "timestamp",
        "load_col": {"inter": ["user_id", "item_id", "timestamp"]},
        "eval_args": {"split": {"LS": "valid_and_test"}, "order": "TO", "group_by": "user", "mode": "full"},
        "metrics": ["Hit", "NDCG"], "topk": [10], "valid_metric": "NDCG@10", "eval_step": 1,
        "stopping_step": stopping, "epochs": epochs, "seed": seed, "reproducibility": True, "use_gpu": False,
        "device": "cpu", "worker": 0, "show_progress": False, "state": "WARNING",
        "checkpoint_dir": str(folder / "saved"), "lcrec_holdout": holdout, **TRAIN_CONFIG, **MODEL_CONFIG[model],
    }
    argv = sys.argv
    sys.argv = argv[:1]  # RecBole's Config reads --key=value from the command line: not ours
    try:
        return Config(model=model, dataset=name, config_dict=config_dict)
    finally:
        sys.argv = argv


def rank(model, dataset, config, users: list[dict], batch: int = 512) -> dict[str, list[str]]:
    """Top K per user from ``full_sort_predict`` on the last MAX_LEN history items, the history and the padding
    id excluded. Items RecBole never saw in training cannot be ranked (they are outside its vocabulary)."""
    item_field = config["ITEM_ID_FIELD"]
    tokens = np.asarray(dataset.field2id_token[item_field])
    known = dataset.field2token_id[item_field]
    out: dict[str, list[str]] = {}
    model.eval()
    with torch.no_grad():
        for start in range(0, len(users), batch):
            chunk = users[start:start + batch]
            seq = torch.zeros((len(chunk), MAX_LEN), dtype=torch.long)
            lengths = torch.zeros(len(chunk), dtype=torch.long)
            for row, entry in enumerate(chunk):
                ids = [known[i] for i in entry["history"] if i in known][-MAX_LEN:]
                seq[row, :len(ids)] = torch.as_tensor(ids)
                lengths[row] = max(len(ids), 1)
            scores = model.full_sort_predict(Interaction({item_field + config["LIST_SUFFIX"]: seq,
                                                          config["ITEM_LIST_LENGTH_FIELD"]: lengths}))
            scores = scores.view(len(chunk), -1).clone()
            scores[:, 0] = -np.inf
            for row, entry in enumerate(chunk):
                seen = [known[i] for i in entry["history"] if i in known]
                scores[row, seen] = -np.inf
            top = torch.topk(scores, min(K, scores.shape[1] - 1), dim=1).indices.numpy()
            for entry, ranked, row_scores in zip(chunk, top, scores.numpy()):
                out[entry["user"]] = [str(t) for t, i in zip(tokens[ranked], ranked) if np.isfinite(row_scores[i])]
    return out


def train_and_rank(doc: dict, model_key: str, epochs: int, seed: int, stopping: int = 3) -> dict:
    model_name = MODELS[model_key]
    holdout = doc["split"] == "valid"
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="recbole-lcrec-") as tmp:
        folder = Path(tmp)
        name = "lcrec"
        _, expected = write_atomic(doc, folder, name)
        with _quiet_in(folder):
            config = make_config(model_name, folder, name, seed, epochs, holdout, stopping)
            init_seed(config["seed"], config["reproducibility"])
            dataset = LastCaseDataset(config)
            train_data, valid_data, _ = data_preparation(config, dataset)
            if len(train_data._dataset) != expected:
                raise RuntimeError(f"RecBole made {len(train_data._dataset)} training cases, the split {expected}")
            init_seed(config["seed"], config["reproducibility"])
            model = get_model(model_name)(config, train_data._dataset).to("cpu")
            trainer = Trainer(config, model)
            scores: dict[int, float] = {}
            best: dict = {}

            def keep_best(epoch: int, score: float) -> None:
                scores[epoch] = float(score)
                if score >= max(scores.values()):
                    best["state"], best["epoch"] = copy.deepcopy(model.state_dict()), epoch

            seconds = _fit(trainer, train_data, valid_data if holdout else None,
                           **({"callback_fn": keep_best} if holdout else {}))
            if holdout and best:
                model.load_state_dict(best["state"])
            start = time.perf_counter()
            rankings = rank(model, dataset, config, doc["users"])
            predict = time.perf_counter() - start
    training = {"seconds": round(seconds, 1), "predict_seconds": round(predict, 1), "train_cases": expected,
                "epochs_run": len(scores) if holdout else epochs,
                "parameters": sum(p.numel() for p in model.parameters())}
    if holdout:
        training.update({"best_epochs": best.get("epoch", -1) + 1,
                         "valid_ndcg10_by_epoch": [round(scores[e], 4) for e in sorted(scores)],
                         "note": "RecBole's validation NDCG@10, the history not masked"})
    return {"format": RANKINGS_FORMAT, "model": model_name, "dataset": doc["dataset"], "sha256": doc["sha256"],
            "split": doc["split"], "k": K, "input_revision": doc.get("revision"),
            "settings": {"seed": seed, "max_epochs": epochs, "stopping_step": stopping if holdout else None,
                         "max_item_list_length": MAX_LEN, "threads": torch.get_num_threads(), **TRAIN_CONFIG,
                         **MODEL_CONFIG[model_name]},
            "versions": {**versions(), "python": platform.python_version()}, "training": training,
            "rankings": rankings}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/peers.sh lcrec", description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="the folder `python -m evals.peers export` wrote")
    parser.add_argument("--model", choices=tuple(MODELS), default="gru4rec")
    parser.add_argument("--epochs", type=int, default=20,
                        help="valid split: the most epochs (early stopping); test split: exactly this many")
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--stopping-step", type=int, default=3)
    args = parser.parse_args(argv)
    try:
        doc = read_input(args.folder)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result = train_and_rank(doc, args.model, args.epochs, args.seed, args.stopping_step)
    path = args.folder / f"rankings-{args.model}.json"
    path.write_text(json.dumps(result) + "\n", encoding="utf-8")
    t = result["training"]
    print(f"{result['model']} on {doc['split']}: {t['epochs_run']} epochs in {t['seconds']}s"
          f"{', best ' + str(t['best_epochs']) if 'best_epochs' in t else ''}; wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
