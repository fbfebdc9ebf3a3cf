"""Catalog stores in both modes for tests: the embedded store (a folder each) and a real `chroma run` server
(a collection each, on the ``chroma_server`` fixture of conftest.py). conftest.py loads this module as a plugin,
so a test that takes the ``store`` or ``stores`` fixture runs in both modes."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from chromadb.api.shared_system_client import SharedSystemClient

from catalog.store import CatalogStore


class Stores:
    """Opens stores in one mode: ``embedded`` (a folder each) or ``server`` (a collection each on the server)."""

    def __init__(self, mode: str, root: Path, server_url: str | None) -> None:
        self.mode, self.root, self.server_url = mode, root, server_url
        self.prefix = f"t{uuid.uuid4().hex[:12]}"
        self.opened: list[CatalogStore] = []

    def open(self, name: str = "store") -> CatalogStore:
        if self.mode == "embedded":
            store = CatalogStore.open(self.root / name)
        else:
            store = CatalogStore.connect(self.server_url, collection=f"{self.prefix}-{name}")
        self.opened.append(store)
        return store

    def reopen(self, name: str = "store") -> CatalogStore:
        """The store as a new process would see it: Chroma's per-path client cache dropped first."""
        SharedSystemClient.clear_system_cache()
        return self.open(name)

    def close(self) -> None:
        if self.mode == "server":  # keep the shared server small; the tests' collections are theirs alone
            for name in {s._collection.name for s in self.opened}:
                self.opened[0]._client.delete_collection(name)


@pytest.fixture(scope="module", params=["embedded", "server"])
def mode(request) -> str:
    return request.param


def make_stores(mode: str, request, root: Path) -> Stores:
    """The server is started only when a server-mode test runs (so ``-k embedded`` needs no server)."""
    return Stores(mode, root, request.getfixturevalue("chroma_server") if mode == "server" else None)


@pytest.fixture
def stores(mode, request, tmp_path):
    stores = make_stores(mode, request, tmp_path)
    yield stores
    stores.close()


@pytest.fixture
def store(stores) -> CatalogStore:
    """A new, empty store in this test's mode."""
    return stores.open()
