"""Reading user catalog files (JSONL, CSV) row by row, and `interarec catalog ingest/search` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.cli.main import main
from catalog.ingest import IngestError, RowError, parse_file


def _good(pid: str, **extra) -> dict:
    row = {"id": pid, "title": f"Product {pid}", "category_path": ["Watches", "Wrist Watches"], "price": 999.0}
    row.update(extra)
    return row


def _write_jsonl(path: Path, lines: list[object]) -> Path:
    path.write_text(
        "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n", encoding="utf-8"
    )
    return path


def _fields_by_line(errors: list[RowError]) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for error in errors:
        out.setdefault(error.line, set()).add(error.field)
    return out


# ---------------------------------------------------------------- JSONL


def test_jsonl_good_and_bad_rows(tmp_path):
    path = _write_jsonl(tmp_path / "products.jsonl", [
        _good("a1"),                                         # line 1
        _good("a2", price=-5),                               # line 2: negative price
        {"id": "a3", "category_path": ["Watches"]},          # line 3: no title
        "{not json",                                         # line 4
        _good("a5", category_path=[]),                      # line 5: empty category path
        "",                                                  # line 6: blank, skipped
        _good("a7", category_path=["  ", ""]),               # line 7: only blank categories
        _good("a8", rating=4.5, brand="Titan"),              # line 8
        "[1, 2]",                                            # line 9: not an object
        _good("a10", colour="Red", unknown_field="x"),       # line 10: extra field
    ])
    parsed = parse_file(path)

    assert [p.id for p in parsed.products] == ["a1", "a8"]
    assert parsed.products[1].brand == "Titan" and parsed.products[1].rating == 4.5
    assert _fields_by_line(parsed.errors) == {
        2: {"price"}, 3: {"title"}, 4: {"(row)"}, 5: {"category_path"}, 7: {"category_path"},
        9: {"(row)"}, 10: {"unknown_field"},
    }
    messages = {e.line: str(e) for e in parsed.errors}
    assert messages[2].startswith("line 2, field price:")
    assert "greater than or equal to 0" in messages[2]
    assert "line 3, field title:" in messages[3] and "required" in messages[3].lower()
    assert "not valid JSON" in messages[4]
    assert "line 7, field category_path:" in messages[7]
    assert "JSON object" in messages[9]
    assert parsed.duplicates == 0


def test_jsonl_duplicates_are_counted_and_last_one_wins(tmp_path):
    path = _write_jsonl(tmp_path / "dups.ndjson", [
        _good("d1", price=100), _good("d2"), _good("d1", price=150), _good("d1", price=175),
    ])
    parsed = parse_file(path)
    assert parsed.duplicates == 2
    assert sorted(p.id for p in parsed.products) == ["d1", "d2"]
    assert next(p for p in parsed.products if p.id == "d1").price == 175
    assert parsed.errors == []


def test_json_suffix_is_read_as_one_object_per_line(tmp_path):
    path = _write_jsonl(tmp_path / "products.JSON", [_good("j1"), _good("j2")])
    assert [p.id for p in parse_file(path).products] == ["j1", "j2"]


# ---------------------------------------------------------------- CSV

CSV_HEADER = "id,title,brand,category_path,price,rating,specifications,derived_fields\n"


def test_csv_text_forms_of_lists_and_mappings(tmp_path):
    path = tmp_path / "products.csv"
    path.write_text(
        CSV_HEADER
        + 'c1,Titan watch,Titan,Watches > Wrist Watches > Analog,1450,4.3,"Strap: Leather; Dial Shape: Round",\n'
        + 'c2,Mug,,Home >Coffee Mugs,349,,"{""Material"": ""Ceramic""}","price, brand"\n',
        encoding="utf-8",
    )
    parsed = parse_file(path)
    assert parsed.errors == []
    c1, c2 = parsed.products
    assert c1.category_path == ["Watches", "Wrist Watches", "Analog"]
    assert c1.specifications == {"Strap": "Leather", "Dial Shape": "Round"}
    assert (c1.price, c1.rating, c1.brand) == (1450.0, 4.3, "Titan")
    assert c2.category_path == ["Home", "Coffee Mugs"]
    assert c2.specifications == {"Material": "Ceramic"}
    assert c2.brand is None and c2.rating is None  # empty cells are missing values
    assert c2.derived_fields == ["price", "brand"]


def test_csv_bad_rows_name_line_and_field(tmp_path):
    path = tmp_path / "products.csv"
    path.write_text(
        CSV_HEADER
        + "c1,Good one,Titan,Watches,1000,4,,\n"      # line 2
        + "c2,Negative,Titan,Watches,-1,,,\n"         # line 3
        + "c3,,Titan,Watches,10,,,\n"                  # line 4: empty title
        + "c4,No category,Titan,,10,,,\n"              # line 5: empty category_path
        + "c5,Blank levels,Titan, > ,10,,,\n"          # line 6: only separators
        + "c6,Bad rating,Titan,Watches,10,9,,\n"       # line 7: rating > 5
        + "c7,Price text,Titan,Watches,cheap,,,\n"     # line 8
        + "c1,Good one again,Titan,Watches,900,4,,\n",  # line 9: duplicate id
        encoding="utf-8",
    )
    parsed = parse_file(path)
    assert [(p.id, p.title) for p in parsed.products] == [("c1", "Good one again")]
    assert parsed.duplicates == 1
    assert _fields_by_line(parsed.errors) == {
        3: {"price"}, 4: {"title"}, 5: {"category_path"}, 6: {"category_path"}, 7: {"rating"}, 8: {"price"},
    }
    assert all(str(e).startswith(f"line {e.line}, field {e.field}: ") for e in parsed.errors)


# ---------------------------------------------------------------- whole-file errors


def test_unknown_extension_raises_a_clear_error(tmp_path):
    path = tmp_path / "products.xlsx"
    path.write_text("id,title\n", encoding="utf-8")
    with pytest.raises(IngestError) as excinfo:
        parse_file(path)
    message = str(excinfo.value)
    assert "products.xlsx" in message and "'.xlsx'" in message
    assert ".jsonl" in message and ".csv" in message


def test_missing_file_raises_a_clear_error(tmp_path):
    with pytest.raises(IngestError, match="no such file") as excinfo:
        parse_file(tmp_path / "absent.jsonl")
    assert "absent.jsonl" in str(excinfo.value)


def test_non_utf8_file_raises_ingest_error(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("id,title,category_path\nx1,Caf\xe9 mug,Mugs\n".encode("latin-1"))
    with pytest.raises(IngestError, match="not UTF-8"):
        parse_file(path)


# ---------------------------------------------------------------- CLI end to end


def _run_json(capsys, argv: list[str]) -> tuple[int, object]:
    code = main(argv)
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_cli_ingest_reports_and_is_idempotent(tmp_path, capsys):
    path = _write_jsonl(tmp_path / "mine.jsonl", [
        _good("u1", title="Steel analog watch"),
        _good("u2", price=-3),
        _good("u3", title="Ceramic mug", category_path=["Home", "Mugs"], price=250),
        "{broken",
        _good("u5", title="Leather strap watch", brand="Fastrack"),
    ])

    code, first = _run_json(capsys, ["catalog", "ingest", str(path), "--json"])
    assert code == 0
    assert (first["added"], first["updated"], first["unchanged"], first["rejected"]) == (3, 0, 0, 2)
    assert first["catalog_count"] == 3
    assert len(first["errors"]) == 2
    assert first["errors"][0].startswith("line 2, field price:")
    assert first["errors"][1].startswith("line 4, field (row): not valid JSON")

    code, second = _run_json(capsys, ["catalog", "ingest", str(path), "--json"])
    assert code == 0
    assert (second["added"], second["updated"], second["unchanged"], second["rejected"]) == (0, 0, 3, 2)
    assert second["catalog_count"] == first["catalog_count"]


def test_cli_ingest_of_only_bad_rows_exits_1(tmp_path, capsys):
    path = _write_jsonl(tmp_path / "bad.jsonl", [_good("b1", price=-1), "nope"])
    code, result = _run_json(capsys, ["catalog", "ingest", str(path), "--json"])
    assert code == 1
    assert result["added"] == 0 and result["rejected"] == 2


def test_cli_ingest_missing_file_is_a_usage_error(tmp_path, capsys):
    code = main(["catalog", "ingest", str(tmp_path / "absent.csv"), "--json"])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert "no such file" in captured.err and "absent.csv" in captured.err


def test_cli_search_auto_ingests_demo_catalog_and_applies_filters(capsys):
    # The only test that embeds the whole demo catalog (~10 s): the per-test store starts empty.
    code, rows = _run_json(capsys, ["catalog", "search", "analog wrist watch", "--json", "--max-price", "1000"])
    assert code == 0
    assert 0 < len(rows) <= 10
    assert all(row["price"] is not None and row["price"] <= 1000 for row in rows)
    assert any("watch" in row["title"].lower() for row in rows)
    sims = [row["similarity"] for row in rows]
    assert sims == sorted(sims, reverse=True)

    # the store is now filled; more filters on the same data
    code, rows = _run_json(capsys, ["catalog", "search", "coffee mug", "--json", "--min-price", "200",
                                    "--max-price", "450", "--min-rating", "4", "--limit", "5"])
    assert code == 0 and rows
    assert all(200 <= row["price"] <= 450 and row["rating"] >= 4 for row in rows)

    brand = rows[0]["brand"]
    assert brand
    code, rows = _run_json(capsys, ["catalog", "search", "gift", "--json", "--brand", brand.upper()])
    assert code == 0 and rows
    assert {row["brand"] for row in rows} == {brand}
