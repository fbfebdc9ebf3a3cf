"""Streaming a product file into the store: batches, bad rows, duplicates, and resuming after an interruption,
on the embedded store and on a `chroma run` server (the ``store``/``stores`` fixtures run each test in both)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from catalog import embedding
from catalog.bulk_ingest import ingest_file
from catalog.files import load_products
from catalog.ingest import IngestError

DEMO = load_products()[:45]


def _write(path: Path, rows: list[str]) -> Path:
    path.write_text("".join(row + "\n" for row in rows), encoding="utf-8")
    return path


def _jsonl(tmp_path: Path, products=DEMO, extra: list[str] = ()) -> Path:
    return _write(tmp_path / "products.jsonl", [p.model_dump_json() for p in products] + list(extra))


class _Stop(Exception):
    pass


@pytest.fixture
def embedded_texts(monkeypatch) -> list[str]:
    """Every text the catalog embeds, in order (the real model still runs)."""
    seen: list[str] = []
    real = embedding.embed_texts

    def counting(texts):
        seen.extend(texts)
        return real(texts)

    monkeypatch.setattr(embedding, "embed_texts", counting)
    return seen


def test_a_file_is_stored_in_batches_with_progress_after_each(store, tmp_path):
    calls = []
    run = ingest_file(store, _jsonl(tmp_path), batch_size=10, on_batch=lambda r: calls.append(r.lines_read))
    assert (run.added, run.updated, run.skipped, run.errors) == (45, 0, 0, [])
    assert store.count() == 45
    assert calls == [10, 20, 30, 40, 45]  # lines read when each batch was stored; the last one is the whole file
    assert run.products_per_second > 0
    assert store.get([DEMO[-1].id]) == [DEMO[-1]]


def test_bad_rows_are_reported_by_line_and_the_rest_is_stored(store, tmp_path):
    path = _jsonl(tmp_path, DEMO[:5], extra=['{"id": "x1", "title": "No category"}', "not json",
                                              DEMO[5].model_dump_json()])
    run = ingest_file(store, path, batch_size=2)
    assert run.added == 6 and store.count() == 6
    assert [(e.line, e.field) for e in run.errors] == [(6, "category_path"), (7, "(row)")]


def test_a_repeated_id_counts_once_and_the_last_row_wins_across_batches(store, tmp_path):
    first = DEMO[0]
    later = first.model_copy(update={"price": 1.0})
    run = ingest_file(store, _jsonl(tmp_path, [first, *DEMO[1:4], later]), batch_size=2)
    assert run.duplicates == 1
    assert store.count() == 4
    assert store.get([first.id])[0].price == 1.0


def test_an_interrupted_ingest_resumes_without_embedding_stored_products_again(stores, tmp_path, embedded_texts):
    path = _jsonl(tmp_path)

    def stop_after_two_batches(run):
        if run.stored >= 20:
            raise _Stop

    with pytest.raises(_Stop):
        ingest_file(stores.open(), path, batch_size=10, on_batch=stop_after_two_batches)
    assert len(embedded_texts) == 20
    embedded_texts.clear()

    store = stores.reopen()  # as a new process would: what the first run stored is there
    assert store.count() == 20
    run = ingest_file(store, path, batch_size=10)
    assert (run.skipped, run.added) == (20, 25)
    assert sorted(embedded_texts) == sorted(p.embedding_text() for p in DEMO[20:])
    assert store.count() == 45
    assert store.search(DEMO[-1].title, limit=1)[0].product.id == DEMO[-1].id


def test_a_file_that_is_not_utf8_fails_before_anything_is_stored(store, tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b"".join(p.model_dump_json().encode() + b"\n" for p in DEMO[:3]) + b'{"title": "caf\xe9"}\n')
    with pytest.raises(IngestError, match="not UTF-8"):
        ingest_file(store, path)
    assert store.count() == 0


def test_the_cli_streams_a_file_and_a_second_run_finds_everything_unchanged(tmp_path, capsys):
    from agent.cli.main import main

    path = _jsonl(tmp_path, DEMO[:12])
    data = ["--data-dir", str(tmp_path / "data")]
    assert main(["catalog", "ingest", str(path), "--batch-size", "5", "--json", *data]) == 0
    first = json.loads(capsys.readouterr().out)
    assert (first["added"], first["unchanged"], first["catalog_count"]) == (12, 0, 12)
    assert first["products_per_second"] > 0
    assert main(["catalog", "ingest", str(path), "--json", *data]) == 0
    second = json.loads(capsys.readouterr().out)
    assert (second["added"], second["unchanged"], second["catalog_count"]) == (0, 12, 12)


def test_the_cli_rejects_a_batch_size_below_one(tmp_path, capsys):
    from agent.cli.main import main

    assert main(["catalog", "ingest", str(_jsonl(tmp_path, DEMO[:2])), "--batch-size", "0",
                 "--data-dir", str(tmp_path / "data")]) == 2
    assert "--batch-size must be at least 1" in capsys.readouterr().err
