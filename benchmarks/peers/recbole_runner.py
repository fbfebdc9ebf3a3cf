"""RecBole's GRU4Rec and SR-GNN trained on our split with RecBole's own data pipeline and trainer, then asked
(``full_sort_predict``) to rank every item for each of our test prefixes. Needs torch and recbole (``.venv-peers``,
made by ``scripts/peers.sh``); ``benchmarks.peers.compare`` is the entry point.

The split: the atomic file (``benchmarks.peers.atomic``) holds train and test sessions; RecBole's
sequential dataset augments every session into (prefix, next item) cases, and ``SplitSessionDataset.build``
sends the cases of train sessions to training and those of test sessions to the test loader, instead of
RecBole's own ratio or leave-one-out split. Nothing of the test side is used in training. The number of
epochs is chosen without the test side: a run on the earlier 90% of the train sessions (by time), validated
on the cases of the last 10% (RecBole's trainer, early stopping on MRR@20), gives the best epoch; the model
is then trained afresh on all train sessions for that many epochs, and only that last fit is timed.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import recbole.model.sequential_recommender  # noqa: F401  (imported here so the line after it wins, see there)
import torch
from recbole.config import Config
from recbole.data import data_preparation
from recbole.data.dataset import SequentialDataset
from recbole.data.interaction import Interaction
from recbole.trainer import Trainer
from recbole.utils import get_model, init_seed

from benchmarks.peers.atomic import TEST_PREFIX, TRAIN_PREFIX, write_atomic

# RecBole 1.2.1 on torch 2.13 / pandas 2.3: deprecation notices from its own code (torch.cuda.amp, chained
# inplace fillna on columns that have no missing values here), nothing about the results.
warnings.filterwarnings("ignore", category=FutureWarning, module=r"recbole\.")

# RecBole 1.2.1's SINE module runs torch.autograd.set_detect_anomaly(True) when imported, and importing any
# sequential model imports it: anomaly mode then records a Python stack for every autograd node and made
# GRU4Rec's and SR-GNN's epochs about 5x slower here. Neither model needs it; it is turned off again (and
# checked before every fit).
torch.autograd.set_detect_anomaly(False)

MODELS = ("GRU4Rec", "SRGNN")

# Shared by both models. RecBole's defaults, except the batch size (RecBole's 2048 would make the sample's
# ~1,200 train cases one batch per epoch; 100 is SR-GNN's paper setting) and no negative sampling (the
# models' default loss in RecBole is cross-entropy over all items, which needs none).
TRAIN_CONFIG = {
    "train_batch_size": 100,
    "learner": "adam",
    "learning_rate": 0.001,
    "weight_decay": 0.0,
    "train_neg_sample_args": None,
    "loss_type": "CE",
}
# The models' own hyperparameters: RecBole's defaults (recbole/properties/model/*.yaml), written out here.
MODEL_CONFIG = {
    "GRU4Rec": {"embedding_size": 64, "hidden_size": 128, "num_layers": 1, "dropout_prob": 0.3},
    "SRGNN": {"embedding_size": 64, "step": 1},
}


@dataclass
class PeerRun:
    model: str
    epochs: int
    train_seconds: float
    predict_seconds: float
    ranked: dict[tuple[str, ...], list[str]]
    selection: dict = field(default_factory=dict)
    recbole_test: dict = field(default_factory=dict)
    parameters: int = 0


class SplitSessionDataset(SequentialDataset):
    """RecBole's sequential dataset, split by session side: cases of ``train_*`` sessions train, cases of
    ``test_*`` sessions are the test (and, unused, valid) set."""

    def build(self):
        self._change_feat_format()  # RecBole's data augmentation: every prefix of every session
        tokens = np.asarray(self.id2token(self.uid_field, self.inter_feat[self.uid_field].numpy()))
        train = torch.from_numpy(np.char.startswith(tokens.astype(str), TRAIN_PREFIX))
        test = torch.from_numpy(np.char.startswith(tokens.astype(str), TEST_PREFIX))
        test_set = self.copy(self.inter_feat[test])
        return [self.copy(self.inter_feat[train]), test_set, test_set]


def max_prefix(dataset) -> int:
    """The longest prefix any case has (train or test): RecBole's MAX_ITEM_LIST_LENGTH, so no prefix is cut
    (RecBole's default, 50, pads SR-GNN's per-session graphs to 50 nodes and only slows it down)."""
    return max(len(s.items) for s in [*dataset.train, *dataset.test]) - 1


def recbole_config(model: str, data_path: Path, name: str, seed: int, epochs: int, max_len: int) -> Config:
    config_dict = {
        "MAX_ITEM_LIST_LENGTH": max_len,
        "data_path": str(data_path),
        "USER_ID_FIELD": "session_id",
        "ITEM_ID_FIELD": "item_id",
        "TIME_FIELD": "timestamp",
        "load_col": {"inter": ["session_id", "item_id", "timestamp"]},
        "eval_args": {"split": {"LS": "valid_and_test"}, "order": "TO", "group_by": "user", "mode": "full"},
        "metrics": ["Hit", "MRR"],
        "topk": [20],
        "valid_metric": "MRR@20",
        "eval_step": 1,
        "stopping_step": 5,
        "epochs": epochs,
        "seed": seed,
        "reproducibility": True,
        "use_gpu": False,
        "device": "cpu",
        "worker": 0,
        "show_progress": False,
        "state": "WARNING",
        "checkpoint_dir": str(data_path / "saved"),
        **TRAIN_CONFIG,
        **MODEL_CONFIG[model],
    }
    return Config(model=model, dataset=name, config_dict=config_dict)


@contextlib.contextmanager
def _quiet_in(folder: Path):
    """RecBole's trainer writes a TensorBoard folder into the working directory and logs at INFO: keep both
    inside the temporary folder / off the console."""
    logger = logging.getLogger()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with contextlib.chdir(folder):
            yield
    finally:
        logger.setLevel(level)


def _fit(trainer: Trainer, train_data, valid_data=None, **kwargs) -> float:
    torch.autograd.set_detect_anomaly(False)
    start = time.perf_counter()
    trainer.fit(train_data, valid_data, verbose=False, saved=False, **kwargs)
    return time.perf_counter() - start


def _prepare(model_name: str, data_path: Path, name: str, seed: int, epochs: int, max_len: int):
    argv = sys.argv
    sys.argv = argv[:1]  # RecBole's Config reads --key=value options from the command line: not ours
    try:
        config = recbole_config(model_name, data_path, name, seed, epochs, max_len)
    finally:
        sys.argv = argv
    init_seed(config["seed"], config["reproducibility"])
    dataset = SplitSessionDataset(config)
    train_data, valid_data, test_data = data_preparation(config, dataset)
    init_seed(config["seed"] + config["local_rank"], config["reproducibility"])
    model = get_model(config["model"])(config, train_data._dataset).to(config["device"])
    return config, dataset, train_data, valid_data, test_data, model


def select_epochs(model_name: str, dataset, folder: Path, seed: int, max_epochs: int) -> dict:
    """Best epoch count on a validation split carved from the train sessions alone (earlier 90% train, the
    last 10% by time validate, prepared as our test side is)."""
    from tools.sessions.data import build_dataset

    train = list(dataset.train)
    cut = max(1, int(round(len(train) * 0.9)))
    inner = build_dataset(dataset.name + "_valid", train[:cut], train[cut:])
    name = "inner"
    write_atomic(inner, folder, name)
    scores: dict[int, float] = {}
    with _quiet_in(folder):
        config, _, train_data, valid_data, _, model = _prepare(model_name, folder, name, seed, max_epochs,
                                                              max_prefix(dataset))
        seconds = _fit(Trainer(config, model), train_data, valid_data,
                       callback_fn=lambda epoch, score: scores.__setitem__(epoch, float(score)))
    best = max(scores, key=lambda e: (scores[e], -e))
    return {"epochs": best + 1, "valid_mrr20_by_epoch": [round(scores[e], 4) for e in sorted(scores)],
            "valid_sessions": len(inner.test), "valid_cases": len(inner.test_cases), "max_epochs": max_epochs,
            "stopping_step": config["stopping_step"], "seconds": round(seconds, 2)}


def _rank_all(model, dataset, config, prefixes: Sequence[tuple[str, ...]], batch: int = 512):
    """Every item ranked (best first, as item tokens) for each prefix, from the model's full-sort scores."""
    item_field = config["ITEM_ID_FIELD"]
    list_field = item_field + config["LIST_SUFFIX"]
    length_field = config["ITEM_LIST_LENGTH_FIELD"]
    max_len = config["MAX_ITEM_LIST_LENGTH"]
    tokens = np.asarray(dataset.field2id_token[item_field])
    out: dict[tuple[str, ...], list[str]] = {}
    model.eval()
    with torch.no_grad():
        for start in range(0, len(prefixes), batch):
            chunk = prefixes[start:start + batch]
            seq = torch.zeros((len(chunk), max_len), dtype=torch.long)
            lengths = torch.zeros(len(chunk), dtype=torch.long)
            for row, prefix in enumerate(chunk):
                ids = dataset.token2id(item_field, list(prefix[-max_len:]))  # RecBole keeps the last views too
                seq[row, : len(ids)] = torch.as_tensor(ids)
                lengths[row] = len(ids)
            scores = model.full_sort_predict(Interaction({list_field: seq, length_field: lengths}))
            scores = scores.view(len(chunk), -1)
            scores[:, 0] = -np.inf  # the padding id, as RecBole's evaluation does
            order = torch.argsort(scores, dim=1, descending=True, stable=True)[:, :-1].numpy()
            for prefix, ranked in zip(chunk, order):
                out[prefix] = tokens[ranked].tolist()
    return out


def train_and_rank(model_name: str, dataset, seed: int = 2020, epochs: int | None = None,
                   max_epochs: int = 100) -> PeerRun:
    """Train one RecBole model on ``dataset`` (a ``tools.sessions.data.SessionDataset``) and rank all items for
    each distinct test prefix. ``epochs`` fixes the count; None chooses it on a validation split of train."""
    with tempfile.TemporaryDirectory(prefix="recbole-") as tmp:
        folder = Path(tmp)
        selection = {}
        if epochs is None:
            selection = select_epochs(model_name, dataset, folder / "select", seed, max_epochs)
            epochs = selection["epochs"]
        name = dataset.name
        write_atomic(dataset, folder, name)
        with _quiet_in(folder):
            config, rec_dataset, train_data, _, test_data, model = _prepare(model_name, folder, name, seed, epochs,
                                                                             max_prefix(dataset))
            expected = sum(len(s.items) - 1 for s in dataset.train)
            if len(train_data._dataset) != expected or len(test_data._dataset) != len(dataset.test_cases):
                raise RuntimeError(f"RecBole split {len(train_data._dataset)}/{len(test_data._dataset)} cases, "
                                   f"ours {expected}/{len(dataset.test_cases)}")
            trainer = Trainer(config, model)
            train_seconds = _fit(trainer, train_data)
            # RecBole's own evaluator on the same test cases, a cross-check of our metric code
            recbole_test = {}
            if rec_dataset.item_num - 1 >= max(config["topk"]):  # RecBole's evaluator needs k items (toy data)
                recbole_test = {k: float(v) for k, v in trainer.evaluate(test_data, load_best_model=False).items()}
            prefixes = sorted({tuple(p) for p, _ in dataset.test_cases})
            start = time.perf_counter()
            ranked = _rank_all(model, rec_dataset, config, prefixes)
            predict_seconds = time.perf_counter() - start
        parameters = sum(p.numel() for p in model.parameters())
    return PeerRun(model_name, epochs, train_seconds, predict_seconds, ranked, selection, recbole_test, parameters)


def versions() -> dict[str, str]:
    import pandas
    import recbole

    return {"torch": torch.__version__, "recbole": recbole.__version__, "numpy": np.__version__,
            "pandas": pandas.__version__}
