"""Property tests (hypothesis) of the price and rating parsers and of catalog ingestion (issue #8).

Parsers: never raise on any text; every amount found is finite and non-negative; ratings are 0-5 stars; prices
written the ways shops write them ('₹1,23,456', 'Rs. 1,234.50', '$1,234,567', '1,234') parse back to their value.
Ingestion: no JSONL or CSV content makes it raise; every row is either ingested or reported with its line and a
field, and rows that are valid come back as written. Derandomized, so CI sees the same examples every run."""

from __future__ import annotations

import csv
import io
import json
import math
import string

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from catalog.ingest import parse_file
from catalog.models import Product
from tools.perception import parsing

FUZZ = settings(max_examples=200, derandomize=True, database=None, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

# Text that looks like what OCR reads off shop screens, with arbitrary text mixed in.
TOKENS = ["₹", "Rs.", "rs", "INR", "$", "€", "£", "¥", "平", "天", "%", " off", "★", "☆", "*", " ", ",", ".", "-", "–",
          " to ", "(", ")", " ratings", " reviews", "Brand:", "Colour", "Home", "›", ">", "deal", "0", "5", "9",
          "1,234", "1,23,456", "12,499", "5.9", "4.3", "999999999999999", "9" * 400, ",00" * 50, ".99", "\n"]
SHOP_TEXT = st.lists(st.one_of(st.sampled_from(TOKENS), st.text(max_size=12)), max_size=25).map("".join)


@FUZZ
@given(SHOP_TEXT)
def test_the_parsers_never_raise_and_what_they_find_is_sane(text):
    amounts = [price.amount for price in parsing.find_prices(text)]
    amounts += [a for a in (parsing.bare_amount(text), parsing.card_price(text), parsing.leading_amount(text))
                if a is not None]
    price_range = parsing.find_price_range(text)
    if price_range is not None:
        assert price_range[0] < price_range[1]
        amounts += price_range
    assert all(math.isfinite(a) and a >= 0 for a in amounts)
    rating = parsing.find_rating(text)
    assert rating is None or 0 <= rating <= 5
    count = parsing.find_rating_count(text)
    assert count is None or (isinstance(count, int) and count >= 0)
    discount = parsing.find_discount(text)
    assert discount is None or 0 <= discount <= 99
    assert set(parsing.find_colours(text)) <= set(parsing.COLOURS)
    parsing.find_promotions(text)
    parsing.breadcrumb(text)
    parsing.labelled(text, "brand")


def _indian(n: int) -> str:
    """1234567 -> '12,34,567'."""
    head, tail = str(n)[:-3], str(n)[-3:]
    groups = []
    while len(head) > 2:
        head, group = head[:-2], head[-2:]
        groups.insert(0, group)
    return ",".join(([head] if head else []) + groups + [tail])


STYLES = {
    "₹{indian}": "INR", "Rs. {indian}.{paise:02d}": "INR", "Rs.{plain}": "INR", "INR {indian}": "INR",
    "$ {western}.{paise:02d}": "USD", "€{western}": "EUR", "£{plain}.{paise:02d}": "GBP",
}


@FUZZ
@given(rupees=st.integers(0, 10**11), paise=st.integers(0, 99), style=st.sampled_from(sorted(STYLES)),
       context=st.sampled_from(["{}", "Price: {} only", "Special price {} (inclusive of all taxes)"]))
def test_formatted_prices_parse_back_to_their_value(rupees, paise, style, context):
    written = style.format(indian=_indian(rupees), western=f"{rupees:,}", plain=rupees, paise=paise)
    value = float(f"{rupees}.{paise:02d}") if "paise" in style else float(rupees)
    assert parsing.find_prices(context.format(written)) == [parsing.Price(value, STYLES[style])]
    assert parsing.bare_amount(written) == value
    assert parsing.bare_amount(written.split(" ")[-1].lstrip("₹$€£")) == value  # the sign lost by OCR


@FUZZ
@given(tenths=st.integers(0, 50), count=st.integers(0, 10**9), indian=st.booleans())
def test_ratings_and_counts_parse_back(tenths, count, indian):
    written = _indian(count) if indian else f"{count:,}"
    line = f"{tenths / 10:.1f} ★ ({written} ratings)"
    assert parsing.find_rating(line) == tenths / 10
    assert parsing.find_rating_count(line) == count


@pytest.mark.parametrize("text", ["5.9 ★", "6 ★", "9.5★"])
def test_a_rating_above_five_stars_is_not_a_rating(text):
    assert parsing.find_rating(text) is None


# -- catalog ingestion -----------------------------------------------------------------------------------------
FIELDS = set(Product.model_fields)
IDS = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,15}", fullmatch=True)
WORDS = st.text(string.ascii_letters + " &", min_size=1, max_size=15).filter(str.strip)
ANY_TEXT = st.text(max_size=30)  # any code point: quotes, commas, newlines, U+2028, NUL ...
VALID_ROWS = st.fixed_dictionaries({
    "id": IDS, "title": ANY_TEXT.filter(str.strip), "category_path": st.lists(WORDS, min_size=1, max_size=3),
}, optional={
    "price": st.floats(0, 1e7), "rating": st.floats(0, 5), "brand": ANY_TEXT, "rating_count": st.integers(0, 10**6),
    "specifications": st.dictionaries(ANY_TEXT, ANY_TEXT, max_size=3),
})
JSON_VALUES = st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | ANY_TEXT,
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ANY_TEXT, inner, max_size=3),
                           max_leaves=8)


@st.composite
def jsonl_rows(draw) -> tuple[str, object]:
    """(line, what it was made from): a valid row, a valid row with one field spoiled, any JSON value, or text."""
    kind = draw(st.sampled_from(["valid", "spoiled", "json", "text"]))
    if kind == "text":
        return draw(st.text(max_size=40).map(lambda t: t.replace("\n", " "))), None
    if kind == "json":
        return json.dumps(draw(JSON_VALUES), ensure_ascii=draw(st.booleans())), None
    row = draw(VALID_ROWS)
    if kind == "spoiled":
        row = {**row, draw(st.sampled_from(sorted(FIELDS) + ["surplus"])): draw(JSON_VALUES)}
    return json.dumps(row, ensure_ascii=draw(st.booleans())), (row if kind == "valid" else None)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def _check_outcome(parsed, records: int, first_line: int) -> set[int]:
    """Every error names a line from ``first_line`` on and a field; every record is ingested or has an error."""
    failed = {error.line for error in parsed.errors}
    assert all(line >= first_line for line in failed)
    assert all(error.field and error.message for error in parsed.errors)
    assert len(parsed.products) + parsed.duplicates + len(failed) == records
    return failed


@FUZZ
@given(st.lists(jsonl_rows(), max_size=8), st.sampled_from(["\n", "\r\n"]))
@example([(json.dumps(row, ensure_ascii=False), row) for row in (
    {"id": f"s{i}", "title": f"Watch{separator}strap", "category_path": ["Watches"]}
    for i, separator in enumerate(["\u2028", "\x85", "\x0c", "\x1c"]))], "\n")
def test_jsonl_ingestion_reports_or_ingests_every_line(workdir, rows, newline):
    path = workdir / "rows.jsonl"
    path.write_text(newline.join(line for line, _ in rows), encoding="utf-8", newline="")
    lines = {n for n, (line, _) in enumerate(rows, start=1) if line.strip()}
    parsed = parse_file(path)
    failed = _check_outcome(parsed, len(lines), first_line=1)
    assert failed <= lines  # the line numbers are the file's own
    products = {p.id: p for p in parsed.products}
    for n, (_, row) in enumerate(rows, start=1):  # a valid row is ingested as written, unless its id comes again
        if row is not None and not any(row["id"] in later for later, _ in rows[n:]):
            assert n not in failed and products[row["id"]].title == row["title"]


COLUMNS = ["id", "title", "category_path", "price", "brand", "rating", "specifications"]
CELLS = st.one_of(ANY_TEXT, st.sampled_from(["", " ", "12.5", "-3", "nan", "inf", "1e999", "{", '{"a": 1}', "a:b;c"]))


@st.composite
def csv_rows(draw) -> tuple[list[str], bool]:
    """(cells, valid): a valid row or cells of anything, sometimes one cell too many or too few."""
    if draw(st.booleans()):
        row = draw(VALID_ROWS)
        price = draw(st.none() | st.floats(0, 1e7))
        return [row["id"], row["title"], " > ".join(row["category_path"]), "" if price is None else repr(price),
                "", "", ""], True
    width = len(COLUMNS) + draw(st.sampled_from([0, 0, 0, 1, -1]))
    return draw(st.lists(CELLS, min_size=width, max_size=width)), False


@FUZZ
@given(st.lists(csv_rows(), max_size=8))
@example([([f"c{i}", f"Watch{separator}strap", "Watches", "", "", "", ""], True)
          for i, separator in enumerate(["\r", "\n", "\r\n", "\u2028", "\x0c"])])
def test_csv_ingestion_reports_or_ingests_every_record(workdir, rows):
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    for cells in [COLUMNS, *(cells for cells, _ in rows)]:
        writer.writerow(cells)
    path = workdir / "rows.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")
    parsed = parse_file(path)
    _check_outcome(parsed, len(rows), first_line=2)
    assert {e.field.split(".")[0] for e in parsed.errors} <= {*COLUMNS, "(row)"}
    products = {p.id: p for p in parsed.products}
    for n, (cells, valid) in enumerate(rows):  # valid rows come back as written (cells are stripped)
        if valid and not any(cells[0] in later for later, _ in rows[n + 1:] for later in later):
            assert products[cells[0]].title == cells[1].strip()
