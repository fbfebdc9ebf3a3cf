"""The real-page eval's scoring (evals/reader/zyte_scoring.py) and plumbing (evals/reader/zyte.py,
evals/reader/zyte_views.py) on hand-made readers, facts and lines. No browser and no OCR run here."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from evals.reader.zyte import dataset_dir, report, run, select_pages
from evals.reader.zyte_scoring import (
    SPLIT_FILE,
    PageCase,
    amounts_in,
    brand_right,
    brand_visible,
    check_split,
    f1,
    format_reach,
    format_table,
    label_amount,
    label_amounts,
    load_split,
    make_split,
    price_right,
    price_visible,
    reach_rows,
    result_rows,
    run_source,
    score_page,
    split_order,
    summarise,
    view_texts,
)
from evals.reader.zyte_views import ViewCache, ViewSettings, decode_html
from tools.lines import ScreenLine
from tools.perception.page.markup import MarkupFacts


def line(text: str, x0: float = 0, y0: float = 0, x1: float | None = None, y1: float | None = None) -> ScreenLine:
    return ScreenLine(text=text, x0=x0, y0=y0, x1=x0 + 8 * len(text) if x1 is None else x1,
                      y1=y0 + 16 if y1 is None else y1, source="text-layer", font_size=14)


@dataclass
class Facts:
    price: float | None = None
    brand: str | None = None
    currency: str | None = None
    title: str | None = None
    category_path: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)


class TinyReader:
    """A stand-in for the page reader: the first line that parses as an amount, and a 'Brand: X' line."""

    def read_page(self, views, markup):
        price = brand = None
        for lines in views:
            for ln in lines:
                if price is None and (value := label_amount(ln.text)) is not None:
                    price = value
                if brand is None and ln.text.startswith("Brand: "):
                    brand = ln.text.removeprefix("Brand: ")
        if markup is not None:
            price = price if price is not None else markup.price
            brand = brand or markup.brand
        return Facts(price=price, brand=brand, sources={"price": "text-layer"} if price is not None else {})


# -- labels and matching -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "amount"), [
    ("1,299.00", 1299.0), ("119,01", 119.01), ("€ 15.99", 15.99), ("87.11", 87.11), ("131990 ", 131990.0),
    ("23.450", 23450.0), ("1.759,99", 1759.99), ("Rs 23,450", 23450.0),
])
def test_label_amount_parses_like_the_benchmark(text, amount):
    assert label_amount(text) == pytest.approx(amount)


def test_label_amounts_skip_unparseable_and_repeats():
    assert label_amounts(["9.49", "12.49", "9,49", "n/a", ""]) == [9.49, 12.49]
    assert label_amounts(None) == []


def test_price_tolerance_is_half_a_cent():
    assert price_right(15.99, [15.99])
    assert price_right(15.994, [15.99])
    assert not price_right(15.996, [15.99])
    assert price_right(12.49, [9.49, 12.49])
    assert not price_right(None, [15.99])
    assert not price_right(15.99, [])


def test_brand_normalisation():
    assert brand_right("  calvin   klein ", ["CALVIN KLEIN"])
    assert brand_right("KÄRCHER", ["kärcher"])
    assert brand_right("ＩＫＥＡ", ["IKEA"])  # NFKC: full-width letters
    assert brand_right("Tikkers", ["Tikkers "])
    assert not brand_right("Calvin Klein Jeans", ["Calvin Klein"])
    assert not brand_right("", ["IKEA"])
    assert not brand_right(None, ["IKEA"])


# -- visibility -----------------------------------------------------------------------------------------------
def test_price_split_over_runs_is_visible():
    runs = [line("$", 100, 50, 108, 66), line("87", 108, 50, 124, 66), line(".", 124, 50, 128, 66),
            line("11", 128, 50, 144, 66)]
    assert "$87.11" in view_texts(runs)
    assert price_visible([[], runs], [87.11])
    assert not price_visible([runs], [87.12])


def test_amounts_in_reads_separators_both_ways():
    assert {1299.0, 10.0} <= amounts_in("EUR 1.299,00 (-10%)")
    assert {1.299, 1299.0} <= amounts_in("1.299")
    assert 1299.0 in amounts_in("1 299,00 €")


def test_brand_visible_as_a_substring_of_a_view():
    views = [[line("Sign in")], [line("by"), line("Calvin  KLEIN", 40)]]
    assert brand_visible(views, ["calvin klein"])
    assert not brand_visible(views, ["Tommy Jeans"])


# -- scoring pages and P/R/F1 ------------------------------------------------------------------------------------
def case(page_id, price=None, brand=None, views=None, markup=None):
    truth = {"url": f"https://shop.example/{page_id}"}
    if price is not None:
        truth["price"] = price
    if brand is not None:
        truth["brand"] = brand
    return PageCase(page_id, truth, views=views or [], markup=markup)


def test_score_page_miss_kinds():
    screen = [[line("€ 15.99"), line("Brand: Acme", 0, 40)]]
    right = score_page(case("a", ["15.99"], ["ACME"], screen), Facts(price=15.99, brand="acme"), "text-layer")
    assert right["fields"]["price"] == {"labelled": True, "output": True, "right": True, "visible": True}
    assert right["fields"]["brand"]["right"]
    wrong = score_page(case("a", ["15.99"], ["ACME"], screen), Facts(price=16.0), "text-layer")
    assert wrong["fields"]["price"]["miss"] == "wrong-value"
    assert wrong["fields"]["brand"]["miss"] == "no-output"
    hidden = score_page(case("b", ["20.00"], ["Other"], screen), Facts(price=15.99), "text-layer")
    assert hidden["fields"]["price"]["miss"] == "not-visible"
    assert hidden["fields"]["brand"]["miss"] == "not-visible"
    # The markup source does not read the screen: its misses are wrong or missing values.
    markup = score_page(case("b", ["20.00"], ["Other"], screen), Facts(price=15.99), "markup")
    assert markup["fields"]["price"]["miss"] == "wrong-value"
    assert markup["fields"]["brand"]["miss"] == "no-output"
    unlabelled = score_page(case("c"), Facts(price=1.0), "markup")
    assert unlabelled["fields"]["price"] == {"labelled": False, "output": True, "right": False,
                                             "miss": "output-without-label"}
    assert unlabelled["fields"]["brand"] == {"labelled": False, "output": False, "right": False}


def test_precision_recall_f1_arithmetic():
    # 5 labelled pages: 3 right, 1 wrong, 1 nothing read; 1 unlabelled page with an output.
    cases = [case("p1", ["10"]), case("p2", ["20"]), case("p3", ["30"]), case("p4", ["40"]), case("p5", ["50"]),
             case("p6")]
    reads = {"p1": 10.0, "p2": 20.0, "p3": 30.0, "p4": 41.0, "p5": None, "p6": 7.0}
    items = [score_page(c, Facts(price=reads[c.page_id]), "markup") for c in cases]
    s = summarise(items, "price")
    assert (s["n"], s["output"], s["right"]) == (5, 5, 3)
    assert s["precision"] == pytest.approx(3 / 5)
    assert s["recall"] == pytest.approx(3 / 5)
    assert s["f1"] == pytest.approx(0.6)
    assert s["misses_by_kind"] == {"no-output": 1, "output-without-label": 1, "wrong-value": 1}
    assert {m["page_id"]: m["read"] for m in s["misses"]} == {"p4": 41.0, "p5": None, "p6": 7.0}
    assert f1(1.0, 0.5) == pytest.approx(2 / 3)
    assert f1(0.0, 0.0) == 0.0
    assert f1(None, 0.5) is None
    empty = summarise([score_page(case("x", ["1"]), None, "markup")], "price")
    assert (empty["precision"], empty["recall"], empty["f1"]) == (None, 0.0, None)


def test_run_source_with_a_tiny_reader_and_markup_evidence():
    reader = TinyReader()
    cases = [
        case("a", ["1,299.00"], ["Acme"], [[line("Menu")], [line("1.299,00 €"), line("Brand: Acme", 0, 30)]]),
        case("b", ["5"], ["Zed"], [[line("nothing here")]], markup=MarkupFacts(price=5.0, brand="ZED")),
        case("c", ["9"], None, [[line("Boom")]]),
    ]

    def read(views, markup):
        if views and views[0] and views[0][0].text == "Boom":
            raise RuntimeError("reader bug")
        return reader.read_page(views, markup)

    items = run_source(cases, read, "text-layer+markup", clock=iter(range(100)).__next__)
    by_id = {item["page_id"]: item for item in items}
    assert by_id["a"]["read"]["price"] == 1299.0 and by_id["a"]["fields"]["price"]["right"]
    assert by_id["a"]["read_sources"] == {"price": "text-layer"}
    assert by_id["b"]["fields"]["brand"]["right"]
    assert by_id["c"]["reader_error"] == "RuntimeError: reader bug"
    assert by_id["c"]["fields"]["price"]["miss"] == "not-visible"
    assert all(item["read_ms"] == 1000 for item in items)
    rows = result_rows({"text-layer+markup": items}, {"dev": ["a", "b"], "all": ["a", "b", "c"]})
    table = {(r["split"], r["field"]): r for r in rows}
    assert table[("dev", "price")]["f1"] == 1.0 and table[("dev", "price")]["status"] == "PASS"
    assert table[("all", "price")]["recall"] == pytest.approx(2 / 3, abs=1e-4)  # rounded to 4 places
    assert table[("all", "brand")]["target"] == 0.75
    text = format_table(rows)
    assert "text-layer+markup" in text and "PASS" in text


def test_markup_baseline_is_a_callable_too():
    items = run_source([case("a", ["€ 15.99"], ["Acme"], markup=MarkupFacts(price=15.99, brand="acme"))],
                       lambda views, markup: markup, "markup")
    assert items[0]["fields"]["price"]["right"] and items[0]["fields"]["brand"]["right"]


def test_reach_counts_visible_or_right_in_the_markup():
    shown = [[line("€ 15.99"), line("Acme", 0, 40)]]
    cases = [
        PageCase("a", {"price": ["15.99"], "brand": ["ACME"]}, screen=shown),  # both visible
        PageCase("b", {"price": ["20"], "brand": ["Zed"]}, screen=shown, markup=MarkupFacts(price=20.0)),
        PageCase("c", {"price": ["30"]}, screen=shown, markup=MarkupFacts(price=31.0, brand="Acme")),
        PageCase("d", {}, screen=shown),  # nothing labelled: not counted
    ]
    rows = {(r["split"], r["field"]): r for r in reach_rows(cases, {"all": ["a", "b", "c", "d"], "dev": ["a"]})}
    assert rows[("all", "price")] == {"split": "all", "field": "price", "n": 3, "visible": 1, "markup_right": 1,
                                      "either": 2, "reachable_recall": 0.6667}
    assert (rows[("all", "brand")]["n"], rows[("all", "brand")]["either"]) == (2, 1)
    assert rows[("dev", "price")]["reachable_recall"] == 1.0
    assert "reachable recall" in format_reach(list(rows.values()))


# -- the split -------------------------------------------------------------------------------------------------
def test_split_rule_and_checks():
    ids = [f"{i:02x}" * 4 for i in range(10)]
    split = make_split(ids)
    assert len(split["dev"]) == len(split["test"]) == 5
    assert set(split["dev"]) == set(split_order(ids)[:5])
    assert check_split(split, ids) == []
    assert check_split({"dev": ["a", "b"], "test": ["b"]}, ["a", "b"]) == ["1 ids in both dev and test"]
    assert "not in the data set" in check_split({"dev": ["a"], "test": ["z"]}, ["a"])[0]


def test_split_file_is_frozen_and_sane():
    split = load_split(SPLIT_FILE)
    assert split["rule"]
    assert len(split["dev"]) == len(split["test"]) == 70
    assert not set(split["dev"]) & set(split["test"])
    assert check_split(split) == []
    assert make_split(split["dev"] + split["test"]) == {"dev": split["dev"], "test": split["test"]}


def test_split_ids_are_in_the_ground_truth():
    data = dataset_dir()
    if data is None:
        pytest.skip("product-pages-zyte is not here")
    truth = json.loads((data / "ground-truth.json").read_text(encoding="utf-8"))
    split = load_split(SPLIT_FILE)
    assert set(split["dev"]) | set(split["test"]) == set(truth)
    assert all((data / "html" / f"{i}.html.gz").exists() for i in split["dev"] + split["test"])


def test_select_pages():
    split = {"dev": ["a", "b", "c"], "test": ["d", "e"]}
    assert select_pages(split, "dev", None) == {"dev": ["a", "b", "c"]}
    assert select_pages(split, "test", 1) == {"test": ["d"]}
    assert select_pages(split, "all", None) == {"dev": ["a", "b", "c"], "test": ["d", "e"],
                                                "all": ["a", "b", "c", "d", "e"]}
    assert select_pages(split, "all", 4)["test"] == ["d"]


def test_run_without_the_data_reports_skipped(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERAREC_SHARED_DATA", str(tmp_path / "nowhere"))
    result = run("dev", ["markup"], ViewSettings(views=1), None, tmp_path / "cache", tmp_path / "out")
    assert "skipped" in result
    assert "skipped" in report(result, tmp_path / "out")
    assert json.loads((tmp_path / "out" / "zyte_reader.json").read_text())["skipped"]


# -- capture helpers -----------------------------------------------------------------------------------------------
def test_decode_html_follows_the_declared_charset():
    text, charset, why = decode_html('<html><head><meta charset="windows-1251"></head>Цена'.encode("cp1251"))
    assert (charset, why) == ("cp1251", "meta") and text.endswith("Цена")
    meta = b'<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1">'
    page = b"<script>" + b"x" * 5000 + b"</script>" + meta
    text, charset, why = decode_html(page + b"\xe9")
    assert (charset, why) == ("iso8859-1", "meta") and text.endswith("é")
    text, charset, why = decode_html('<script charset="utf-8"></script><p>€ 15,99</p>'.encode() + b"\xff")
    assert (charset, why) == ("utf-8", "default") and text.endswith("€ 15,99</p>\ufffd")
    assert decode_html(b'<meta charset="no-such-charset">x')[1:] == ("utf-8", "default")
    assert decode_html(b"\xef\xbb\xbf<p>\xc3\xa9</p>") == ("<p>é</p>", "utf-8-sig", "bom")


def test_view_settings_key_names_what_changes_the_capture():
    assert ViewSettings().step == 680
    assert ViewSettings().key != ViewSettings(views=4).key != ViewSettings(javascript=True).key


def test_cached_views_are_not_rendered_or_ocred_again(tmp_path):
    from tools.lines import dump_lines
    from tools.perception.ocr import OcrLine

    cache = ViewCache(tmp_path, ViewSettings(views=2))
    folder = cache.folder("p1")
    folder.mkdir(parents=True)
    (folder / "view-00.png").write_bytes(b"not really a png")
    (folder / "view-00.lines.json").write_text(dump_lines([line("€ 15.99")]), encoding="utf-8")
    (folder / "markup.json").write_text('{"json-ld": [], "microdata": [], "opengraph": {}}', encoding="utf-8")
    (folder / "meta.json").write_text(json.dumps({"page_id": "p1", "url": "u", "scroll_ys": [0]}), encoding="utf-8")

    def no_render(page_id):
        raise AssertionError("a cached page was rendered again")

    pages = cache.ensure([("p1", "u")], no_render)
    assert pages["p1"].text_layer()[0][0].text == "€ 15.99" and pages["p1"].markup()["json-ld"] == []

    class FakeOcr:
        calls = 0

        def read(self, path, sha256=None):
            self.calls += 1
            return [OcrLine("€ 15.99", 10, 20, 70, 41, 0.98)]

    ocr = FakeOcr()
    first = cache.ocr_views(pages["p1"], ocr, "engine-a")
    again = ViewCache(tmp_path, ViewSettings(views=2)).ocr_views(pages["p1"], ocr, "engine-a")
    assert ocr.calls == 1 and first == again
    assert first[0][0].source == "ocr" and first[0][0].font_size == pytest.approx(21 * 0.76, abs=0.1)
    cache.ocr_views(pages["p1"], ocr, "engine-b")  # another engine: read again
    assert ocr.calls == 2
