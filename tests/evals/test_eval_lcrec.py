"""The LC-Rec loader, its leave-last-out split, the content baseline, the paired comparison and the
`interarec eval --dataset lcrec:PATH` input checks, on small folders written here (no browser, no network)."""

from __future__ import annotations

import json

import pytest

from agent.cli.main import main
from evals.aggregate import Record
from evals.baselines import ItemKnnRecommender, SessionModelRecommender
from evals.content import CombinedRecommender, ContentRecommender
from evals.datasets import lcrec
from evals.lcrec_run import paired
from tools.sessions.models import SKNN

ITEMS = {
    "0": {"title": "Brass wood screws #8, 100 pack.", "brand": "Hillman", "description": "Flat head.",
          "categories": "Tools,Fasteners,Screws,Wood Screws"},
    "1": {"title": "Stainless wood screws #10.", "brand": "Hillman", "description": "",
          "categories": "Tools,Fasteners,Screws,Wood Screws"},
    "2": {"title": "Nitrile gloves, large, 100 count.", "brand": "Ammex", "description": "Powder free.",
          "categories": "Tools,Safety,Gloves"},
    "3": {"title": "Vinyl gloves, medium.", "brand": "Ammex", "description": "",
          "categories": "Tools,Safety,Gloves"},
    "4": {"title": "Lab beaker 250 ml.", "brand": "", "description": "Borosilicate glass.", "categories": ""},
}
INTER = {"u1": ["0", "2", "1"], "u2": ["2", "3", "0", "1"], "u3": ["4", "0"], "u4": ["3", "2", "4"]}


def _folder(tmp_path, items=ITEMS, inter=INTER, name="Tiny"):
    folder = tmp_path / "lcrec"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.item.json").write_text(json.dumps(items))
    (folder / f"{name}.inter.json").write_text(json.dumps(inter))
    return folder


def test_loader_reads_items_and_sequences_and_makes_no_price(tmp_path):
    data = lcrec.load(_folder(tmp_path))
    assert data.name == "Tiny" and data.sequences["u2"] == ["2", "3", "0", "1"]
    products, stats = lcrec.products(data)
    screws = next(p for p in products if p.id == "lc-0")
    assert screws.category_path == ["Tools", "Fasteners", "Screws", "Wood Screws"] and screws.brand == "Hillman"
    assert all(p.price is None and p.rating is None and p.image is None for p in products)
    beaker = next(p for p in products if p.id == "lc-4")
    assert beaker.category_path == ["Tools"] and beaker.brand is None  # the folder's commonest top category
    assert stats["no_category"] == 1 and stats["no_brand"] == 1


def test_category_names_with_a_comma_and_space_stay_whole():
    assert lcrec.split_path("Clothing, Shoes & Jewelry,Women,Boots") == ["Clothing, Shoes & Jewelry", "Women", "Boots"]


def test_the_digest_follows_the_content(tmp_path):
    first = lcrec.load(_folder(tmp_path)).digest
    assert lcrec.load(_folder(tmp_path)).digest == first
    changed = dict(INTER, u5=["0", "1"])
    assert lcrec.load(_folder(tmp_path, inter=changed)).digest != first


def test_leave_last_out_split_and_training_part(tmp_path):
    data = lcrec.load(_folder(tmp_path))
    test = lcrec.split(data, "test")
    assert test["u2"] == (["lc-2", "lc-3", "lc-0"], "lc-1")
    valid = lcrec.split(data, "valid")
    assert valid["u2"] == (["lc-2", "lc-3"], "lc-0")
    assert "u3" not in valid  # its validation history would be empty
    # No training sequence of a split holds that split's target position.
    assert ["lc-2", "lc-3", "lc-0", "lc-1"] not in lcrec.train_sequences(data, "test")
    assert all(len(s) >= 1 for s in lcrec.train_sequences(data, "valid"))


def test_cases_browse_the_last_pages_and_exclude_the_whole_history(tmp_path):
    data = lcrec.load(_folder(tmp_path))
    titles = {p.id: p.title for p in lcrec.products(data)[0]}
    (case,) = lcrec.cases(data, "test", ["u2"], titles, pages=2)
    assert [s.text for s in case.persona.steps] == ["/p/lc-3", "/p/lc-0"]
    assert case.viewed_ids == ("lc-2", "lc-3", "lc-0") and case.targets == {"lc-1"}


def test_user_sample_is_seeded_and_in_file_order(tmp_path):
    data = lcrec.load(_folder(tmp_path))
    assert lcrec.sample_users(data, "test", 2, seed=3) == lcrec.sample_users(data, "test", 2, seed=3)
    picked = lcrec.sample_users(data, "test", 3, seed=1)
    assert picked == [u for u in INTER if u in picked] and len(picked) == 3


@pytest.mark.parametrize(("setup", "message"), [
    (lambda f: f / "nope", "is not a folder"),
    (lambda f: (f / "Tiny.item.json").unlink() or f, "no *.item.json"),
    (lambda f: (f / "Other.inter.json").write_text("{}") and f, "2 *.inter.json"),
    (lambda f: (f / "Tiny.inter.json").write_text("{oops") and f, "not valid JSON"),
    (lambda f: (f / "Tiny.inter.json").write_text(json.dumps({"u1": ["0", "99"]})) and f, "'99'"),
    (lambda f: (f / "Tiny.inter.json").write_text(json.dumps({"u1": []})) and f, "empty sequence"),
])
def test_bad_folders_are_one_line_usage_errors(tmp_path, capsys, setup, message):
    folder = setup(_folder(tmp_path))
    with pytest.raises(lcrec.LcrecError, match=message.replace("*", r"\*")):
        lcrec.load(folder)
    assert main(["eval", "--dataset", f"lcrec:{folder}", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "Traceback" not in err and len(err.splitlines()) == 1


def test_eval_command_rejects_other_dataset_kinds_and_lcrec_only_options(tmp_path, capsys):
    assert main(["eval", "--dataset", "csv:somewhere", "--out", str(tmp_path)]) == 2
    assert main(["eval", "--suite", "quick", "--users", "3", "--out", str(tmp_path)]) == 2
    assert main(["eval", "--suite", "quick", "--frames-per-page", "all", "--out", str(tmp_path)]) == 2
    assert "--frames-per-page and --modalities apply to --dataset" in capsys.readouterr().err
    folder = _folder(tmp_path)
    assert main(["eval", "--suite", "nonsense", "--dataset", f"lcrec:{folder}", "--out", str(tmp_path)]) == 2


def _case(data, user, which="test"):
    titles = {p.id: p.title for p in lcrec.products(data)[0]}
    return lcrec.cases(data, which, [user], titles)[0]


def test_content_baseline_ranks_what_looks_like_the_history_first(tmp_path):
    data = lcrec.load(_folder(tmp_path))
    products = lcrec.products(data)[0]
    content = ContentRecommender(products)
    content.fit([])
    case = _case(data, "u1")  # history: screws, gloves; the newest (gloves) counts most
    ranked = content.recommend(case, 3)
    assert ranked[0] == "lc-3" and set(ranked).isdisjoint(case.viewed_ids) and len(ranked) == 3


def test_id_baselines_learn_from_training_sequences_only(tmp_path):
    data = lcrec.load(_folder(tmp_path))
    ids = [p.id for p in lcrec.products(data)[0]]
    train = lcrec.train_sequences(data, "test")
    for method in (ItemKnnRecommender(ids), SessionModelRecommender(SKNN(), ids, name="sknn")):
        method.fit(train)
        # u1 viewed screws 0 and gloves 2; in training, gloves 3 sits with both (u2, u4).
        assert method.recommend(_case(data, "u1"), 2)[0] == "lc-3"
        # The beaker (4) was bought after gloves only as u4's test target, which no method may learn from:
        # u3 (history: the beaker) gets the popularity order of the training part, not the gloves by co-occurrence.
        assert method.recommend(_case(data, "u3"), 4) == ["lc-2", "lc-0", "lc-3", "lc-1"]
    combined = CombinedRecommender(ContentRecommender(lcrec.products(data)[0]), ItemKnnRecommender(ids))
    combined.fit(train)
    ranked = combined.recommend(_case(data, "u1"), 3)
    assert ranked[0] == "lc-3" and len(ranked) == 3 and "lc-0" not in ranked


def test_paired_difference_is_on_the_same_users():
    def rec(method, user, hr):
        return Record("d", method, user, 3, {"hr@10": hr, "ndcg@10": hr, "mrr@10": hr}, [])

    records = [rec("a", f"u{i}", 1.0) for i in range(20)] + [rec("b", f"u{i}", float(i < 5)) for i in range(20)]
    result = paired(records, "a", "b", 500)
    assert result["hr@10"]["mean"] == pytest.approx(0.75) and result["hr@10"]["significant"]
    same = paired(records, "a", "a", 500)
    assert same["hr@10"]["mean"] == 0 and not same["hr@10"]["significant"]


def test_a_folder_name_is_looked_up_in_the_shared_data(tmp_path, capsys, monkeypatch):
    shared = tmp_path / "shared"
    shared.mkdir()
    folder = _folder(shared)
    (folder / "Tiny.inter.json").write_text("{oops")  # reached only when the name resolves to this folder
    monkeypatch.setenv("INTERAREC_SHARED_DATA", str(shared))
    monkeypatch.chdir(tmp_path)
    assert main(["eval", "--dataset", f"lcrec:{folder.name}", "--out", str(tmp_path / "out")]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_quick_floors_hold_for_the_dataset_they_were_set_on_only():
    from evals.lcrec_run import LCREC_SUITES, floors_for

    quick = LCREC_SUITES["quick"]
    own, note = floors_for(quick, quick.thresholds_dataset)
    assert own == quick.thresholds and own and note is None
    other, note = floors_for(quick, "0" * 64)  # a folder the floors were not set on: reported, not checked
    assert other == {} and "no floors for this dataset" in note
