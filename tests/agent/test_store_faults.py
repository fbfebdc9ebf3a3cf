"""Faults of the catalog store and how each ends: a missing folder is created; a file that is not a database, a
truncated database, a damaged vector index and a store another process keeps locked are each one clear error
naming the store and the remedy, and the store works again once the remedy is applied."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.cli.main import main
from catalog.store import CatalogError, CatalogStore

# -- the catalog store: missing, damaged, locked ----------------------------------------------------------------


def test_a_missing_store_folder_is_created(tmp_path):
    store = CatalogStore.open(tmp_path / "not" / "yet" / "there")
    assert store.count() == 0 and (tmp_path / "not" / "yet" / "there" / "chroma.sqlite3").exists()


def test_a_store_file_that_is_not_a_database_is_one_clear_line_and_deleting_the_folder_fixes_it(tmp_path, capsys):
    from agent.settings import load_settings

    folder = load_settings().catalog_path
    folder.mkdir(parents=True)
    (folder / "chroma.sqlite3").write_bytes(b"\x00garbage, not SQLite" * 200)
    assert main(["catalog", "search", "analog watch"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(folder) in err
    assert "cannot be read (file is not a database)" in err and f"delete the folder {folder}" in err
    shutil.rmtree(folder)  # what the message says to do
    from catalog.files import DEMO_PRODUCTS, load_products

    store = CatalogStore.open(folder)
    store.upsert(load_products(DEMO_PRODUCTS)[:5])
    assert store.count() == 5 and store.search("watch", limit=1)


def _small_store(path: Path) -> None:
    """A 3-product store written by another process (so this one has never opened it)."""
    code = ("import sys; from pathlib import Path; from catalog.store import CatalogStore; "
            "from catalog.files import DEMO_PRODUCTS, load_products; "
            "CatalogStore.open(Path(sys.argv[1])).upsert(load_products(DEMO_PRODUCTS)[:3])")
    subprocess.run([sys.executable, "-c", code, str(path)], check=True, timeout=120)


def test_a_truncated_store_file_names_the_store_and_the_remedy(tmp_path):
    path = tmp_path / "store"
    _small_store(path)
    database = path / "chroma.sqlite3"
    database.write_bytes(database.read_bytes()[: database.stat().st_size // 3])
    with pytest.raises(CatalogError, match="database disk image is malformed") as caught:
        CatalogStore.open(path)
    assert f"delete the folder {path}" in str(caught.value)


def test_a_damaged_vector_index_is_a_catalog_error_not_a_crash(env, tmp_path):
    from agent.settings import load_settings
    from agent.wiring import ensure_demo_catalog, open_store

    source = load_settings().catalog_path
    ensure_demo_catalog(open_store(load_settings()), _demo_products())  # 1,647 products: the index is on disk
    copy = tmp_path / "store"
    shutil.copytree(source, copy)
    index_files = list(copy.glob("*/*.bin"))
    assert index_files
    for file in index_files:
        file.write_bytes(os.urandom(max(16, file.stat().st_size // 2)))
    with pytest.raises(CatalogError, match="hnsw") as caught:
        CatalogStore.open(copy)
    assert str(copy) in str(caught.value) and "delete the folder" in str(caught.value)


def _demo_products():  # noqa: ANN202
    from catalog.files import DEMO_PRODUCTS, load_products

    return load_products(DEMO_PRODUCTS)


def test_a_store_another_process_keeps_locked_fails_within_the_wait_and_opens_once_it_is_free(tmp_path):
    path = tmp_path / "store"
    _small_store(path)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3, sys, time; db = sqlite3.connect(sys.argv[1], isolation_level=None);"
         " db.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(120)", str(path / "chroma.sqlite3")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        with pytest.raises(CatalogError, match=r"locked by another process \(still after 1 s\): wait for it"):
            CatalogStore.open(path, lock_wait_s=1)
        assert time.monotonic() - started < 10
    finally:
        holder.kill()
        holder.wait()
    assert CatalogStore.open(path, lock_wait_s=1).count() == 3
