"""Session models: hand-computed rankings on a toy set, agreement with a plain-loop reference, persistence,
the metrics against evals.metrics, and the `session-model` CLI."""

from __future__ import annotations

import io
import json
import math
import random

import pytest
from rich.console import Console

from agent.cli import render
from agent.cli.main import main
from evals.metrics import hit_rate, mrr
from tools.sessions.data import Session
from tools.sessions.models import (
    SKNN,
    STAN,
    VSKNN,
    Popularity,
    SessionModelError,
    evaluate,
    hit_at,
    load_model,
    make_model,
    reciprocal_rank,
)

# Times 0..3 (list order). Prefix [a, b] throughout.
TOY = [["a", "b", "c"], ["b", "c", "d"], ["a", "d"], ["c", "e"]]


def test_sknn_cosine_neighbours():
    # Candidates hold a or b: T0, T1, T2. Cosine with {a, b}: T0 2/sqrt(2*3)=.816, T1 1/sqrt(6)=.408, T2 1/2.
    # a = .816+.5 = 1.316; b = c = .816+.408 = 1.225 (tie: by id); d = .408+.5 = .908; e unscored.
    model = SKNN().fit(TOY)
    assert model.recommend(["a", "b"], 10) == ["a", "b", "c", "d"]
    assert model.score(["a", "b"])["a"] == pytest.approx(2 / math.sqrt(6) + 0.5)
    assert model.recommend(["a", "b"], 10, exclude=["a", "b"]) == ["c", "d"]
    # k=1 keeps T0 alone: a, b, c tie at .816 and come in id order.
    assert SKNN(k=1).fit(TOY).recommend(["a", "b"], 10) == ["a", "b", "c"]
    # sample_size=2 keeps the two most recent candidates T1, T2: d = .908, a = .5, b = c = .408.
    assert SKNN(sample_size=2).fit(TOY).recommend(["a", "b"], 10) == ["d", "a", "b", "c"]


def test_vsknn_position_weights_and_decay():
    # div weights: a (position 1 of 2) 1/2, b 1. sim = shared weight / 2: T0 .75, T1 .5, T2 .25.
    # div decay by the prefix's most recent item the neighbour holds: T0, T1 hold b (step 1): 1; T2 only a: 1/2.
    # a = .75 + .25/2 = .875; b = c = .75 + .5 = 1.25; d = .5 + .125 = .625.
    model = VSKNN().fit(TOY)
    assert model.recommend(["a", "b"], 10) == ["b", "c", "a", "d"]
    assert model.score(["a", "b"], candidates=["a", "d", "zz"]) == pytest.approx({"a": 0.875, "d": 0.625, "zz": 0})
    # idf weighting: idf = log(4 / sessions holding the item): a, b, d log 2, c log(4/3); c falls below b.
    idf = VSKNN(idf_weighting=1).fit(TOY)
    assert idf.score(["a", "b"])["c"] == pytest.approx(1.25 * (1 + math.log(4 / 3)))
    assert idf.recommend(["a", "b"], 10) == ["b", "c", "a", "d"]


def test_stan_three_decays():
    # λ1=1: w(a) = e^-1, w(b) = 1, norm sqrt(1 + e^-2). sims: T0 (1+e^-1)/(norm sqrt3) = .741,
    # T1 1/(norm sqrt3) = .542, T2 e^-1/(norm sqrt2) = .244. λ3=1, i* = the prefix's most recent item in n:
    # T0 [a,b,c] i*=b: a e^-1, b 1, c e^-1; T1 [b,c,d] i*=b: b 1, c e^-1, d e^-2; T2 [a,d] i*=a: a 1, d e^-1.
    # b = .741+.542 = 1.283; a = .741/e + .244 = .517; c = (.741+.542)/e = .472; d = .542/e^2 + .244/e = .163.
    model = STAN(lambda_spw=1, lambda_snh=None, lambda_inh=1).fit(TOY)
    assert model.recommend(["a", "b"], 10) == ["b", "a", "c", "d"]
    norm = math.sqrt(1 + math.exp(-2))
    assert model.score(["a", "b"])["b"] == pytest.approx((1 + math.exp(-1) + 1) / (norm * math.sqrt(3)))
    # λ2=1 alone (now = 3): cosines times e^-3, e^-2, e^-1: a = .816e^-3 + .5e^-1 = .225, d = .408e^-2 + .5e^-1
    # = .239, b = c = .816e^-3 + .408e^-2 = .096: the recent T2 lifts d over a (plain SKNN: a, b, c, d).
    recent = STAN(lambda_spw=None, lambda_snh=1, lambda_inh=None).fit(TOY)
    assert recent.recommend(["a", "b"], 10) == ["d", "a", "b", "c"]
    # i* is the prefix's most recent item (a, position 1 in n), not n's last shared position (b, 2):
    # a 1, b e^-1, c e^-2.
    star = STAN(lambda_spw=None, lambda_snh=None, lambda_inh=1).fit([["a", "b", "c"]])
    assert star.recommend(["b", "a"], 10) == ["a", "b", "c"]


def test_popularity_and_unknown_prefix():
    # views: c 3; a, b, d 2 (id order); e 1.
    assert Popularity().fit(TOY).recommend(["zz"], 10) == ["c", "a", "b", "d", "e"]
    assert SKNN().fit(TOY).recommend(["zz"], 10) == []
    assert VSKNN().fit(TOY).score([]) == {}


def _reference(name: str, train: list[list[str]], prefix: list[str], k: int, sample: int, **lam: float) -> dict:
    """The kNN models as plain loops over sessions (session-rec style), to check the vectorised code."""
    known = [i for i in prefix if any(i in s for s in train)]
    last = {i: p for p, i in enumerate(known, start=1)}
    n_len = len(known)
    if name == "vsknn":
        weight = {i: p / n_len for i, p in last.items()}
    elif name == "stan":
        weight = {i: math.exp((p - n_len) / lam["spw"]) for i, p in last.items()}
    else:
        weight = dict.fromkeys(last, 1.0)
    cand = [n for n, s in enumerate(train) if set(s) & set(last)][-sample:] if sample else \
        [n for n, s in enumerate(train) if set(s) & set(last)]
    sims = {}
    for n in cand:
        shared = sum(weight[i] for i in set(train[n]) & set(last))
        if name == "sknn":
            sims[n] = shared / math.sqrt(len(last) * len(set(train[n])))
        elif name == "vsknn":
            sims[n] = shared / len(last)
        else:
            norm = math.sqrt(sum(w * w for w in weight.values())) * math.sqrt(len(set(train[n])))
            sims[n] = shared / norm * math.exp(-(len(train) - 1 - n) / lam["snh"])
    scores: dict[str, float] = {}
    for n in sorted(cand, key=lambda n: (-sims[n], -n))[:k]:
        in_n = {i: p for p, i in enumerate(train[n], start=1)}
        recent = next(i for i in reversed(known) if i in in_n)
        step = next(st for st, i in enumerate(reversed(known), start=1) if i in in_n)
        for item, pos in in_n.items():
            extra = 1 / step if name == "vsknn" else 1.0
            if name == "stan":
                extra = math.exp(-abs(pos - in_n[recent]) / lam["inh"])
            scores[item] = scores.get(item, 0.0) + sims[n] * extra
    return scores


@pytest.mark.parametrize("name", ["sknn", "vsknn", "stan"])
def test_vectorised_models_match_plain_loops(name):
    rng = random.Random(7)
    items = [f"i{n}" for n in range(30)]
    train = [[rng.choice(items[: rng.randint(5, 30)]) for _ in range(rng.randint(1, 7))] for _ in range(200)]
    params = {"spw": 1.5, "snh": 20.0, "inh": 2.0}
    extra = {"lambda_spw": 1.5, "lambda_snh": 20.0, "lambda_inh": 2.0} if name == "stan" else {}
    model = make_model(name, k=15, sample_size=60, **extra).fit(train)
    for _ in range(40):
        prefix = [rng.choice(items) for _ in range(rng.randint(1, 6))]
        expected = _reference(name, train, prefix, 15, 60, **params)
        got = model.score(prefix)
        assert set(got) == {i for i, s in expected.items() if s > 0}
        assert got == pytest.approx({i: s for i, s in expected.items() if s > 0})


@pytest.mark.parametrize("name", ["sknn", "vsknn", "stan", "popularity"])
def test_save_load_round_trip(tmp_path, name):
    train = [Session(f"s{n}", tuple(s), float(n * 2)) for n, s in enumerate(TOY)]
    model = make_model(name).fit(train)
    loaded = load_model(model.save(tmp_path / "m.json"))
    assert type(loaded) is type(model) and loaded.params() == model.params()
    for prefix in (["a", "b"], ["c"], ["d", "a"], ["e", "e", "b"]):
        assert loaded.recommend(prefix, 20) == model.recommend(prefix, 20)
        assert loaded.score(prefix) == model.score(prefix)


def test_corrupt_and_incompatible_files(tmp_path):
    path = SKNN().fit(TOY).save(tmp_path / "m.json")
    payload = json.loads(path.read_text())
    cases = {
        "not JSON": "{oops",
        "no format": json.dumps({"model": "sknn"}),
        "version 99 is not supported": json.dumps({**payload, "version": 99}),
        "unknown session model": json.dumps({**payload, "model": "gru"}),
        "bad parameters": json.dumps({**payload, "params": {"k": 10, "colour": "red"}}),
        "k must be an integer": json.dumps({**payload, "params": {"k": -1}}),
        "bad session row": json.dumps({**payload, "sessions": [["s0", 0.0]]}),
        "stored counts": json.dumps({**payload, "sessions": payload["sessions"][:2]}),
    }
    for message, text in cases.items():
        path.write_text(text)
        with pytest.raises(SessionModelError, match=message):
            load_model(path)
    with pytest.raises(SessionModelError, match="cannot read"):
        load_model(tmp_path / "missing.json")
    with pytest.raises(SessionModelError, match="not trained"):
        SKNN().recommend(["a"], 5)


def test_metrics_agree_with_evals_metrics():
    rng = random.Random(3)
    for _ in range(500):
        ranked = [str(rng.randint(0, 12)) for _ in range(rng.randint(0, 15))]  # repeats included on purpose
        target, k = str(rng.randint(0, 12)), rng.randint(1, 12)
        assert hit_at(ranked, target, k) == hit_rate(ranked, {target}, k)
        assert reciprocal_rank(ranked, target, k) == mrr(ranked, {target}, k)
    with pytest.raises(ValueError):
        hit_at(["a"], "a", 0)


def test_evaluate_counts():
    model = SKNN().fit(TOY)
    cases = [(("a", "b"), "a"), (("a", "b"), "c"), (("a", "b"), "e")]  # ranks 1, 3, unscored
    result = evaluate(model, cases, k=20)
    assert result["n"] == 3 and result["k"] == 20 and result["seconds"] >= 0
    assert result["hr@20"] == pytest.approx(2 / 3) and result["mrr@20"] == pytest.approx((1 + 1 / 3) / 3)
    assert evaluate(model, [], k=20)["hr@20"] == 0.0


def _write_views(path, sessions):
    rows = ["session_id;user_id;item_id;timeframe;eventdate"]
    for sid, (date, items) in enumerate(sessions, start=1):
        rows += [f"{sid};NA;{item};{10 * n};{date}" for n, item in enumerate(items)]
    path.write_text("\n".join(rows) + "\n")


def test_cli_train_and_evaluate(tmp_path, capsys, monkeypatch):
    data = tmp_path / "views.csv"
    # Items a..d are viewed 5 times each; train is January 1-6, test January 20 (split date January 13).
    train = [(f"2016-01-0{n}", s) for n, s in enumerate([["a", "b", "c"], ["a", "b"], ["b", "c", "d"], ["a", "d"],
                                                         ["c", "d"], ["a", "b", "d"]], start=1)]
    _write_views(data, [*train, ("2016-01-20", ["a", "b", "c"]), ("2016-01-20", ["c", "d"])])
    out = tmp_path / "model.json"
    common = ["--data", str(data), "--data-dir", str(tmp_path), "--json"]
    assert main(["session-model", "train", "--model", "stan", "--out", str(out), *common]) == 0
    trained = json.loads(capsys.readouterr().out)
    assert trained["model"] == "stan" and trained["train_sessions"] == 6 and trained["test_cases"] == 3
    assert main(["session-model", "evaluate", "--file", str(out), *common]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 3 and 0 <= result["mrr@20"] <= result["hr@20"] <= 1 and "seconds" in result
    # The default file: DATA_DIR/session-models/<model>-<data>.json.
    assert main(["session-model", "train", "--model", "sknn", *common]) == 0
    assert json.loads(capsys.readouterr().out)["file"] == str(tmp_path / "session-models" / "sknn-views.json")
    table = io.StringIO()  # render.stdout holds the import-time sys.stdout, which capsys does not see
    monkeypatch.setattr(render, "stdout", Console(file=table, width=200, color_system=None))
    assert main(["session-model", "evaluate", "--model", "sknn", *common[:-1]]) == 0
    assert "sknn on views (3 test cases): HR@20 1.0000" in table.getvalue()


def test_cli_bad_input_exits_2(tmp_path, capsys):
    data = tmp_path / "views.csv"
    _write_views(data, [("2016-01-01", ["a", "b"])])
    common = ["--data", str(data), "--data-dir", str(tmp_path)]
    assert main(["session-model", "evaluate", "--model", "vsknn", *common]) == 2
    assert "run `interarec session-model train --model vsknn" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    assert main(["session-model", "evaluate", "--file", str(bad), *common]) == 2
    assert "not a session model file" in capsys.readouterr().err
    assert main(["session-model", "train", "--data", str(tmp_path / "nope.csv"), "--data-dir", str(tmp_path)]) == 2
    assert "cannot read" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["session-model", "train", "--model", "gru4rec", *common])
    assert exc.value.code == 2
