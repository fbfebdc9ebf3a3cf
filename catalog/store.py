"""The product catalog in Chroma: idempotent upsert by product id, semantic search with metadata filters."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import chromadb
import httpx
import numpy as np
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import ChromaError

from catalog.embedding import MiniLMOnnxEmbedding, embed_texts
from catalog.filter_index import FilterIndex
from catalog.models import Product
from catalog.search_filters import MAX_CATEGORY_LEVELS, SearchFilters

log = logging.getLogger(__name__)

COLLECTION = "products"
_REVISION_KEY = "interarec_revision"  # collection metadata: changes with every write, so readers see new data
# Fewer products pass a filter than this: rank them here from their vectors. Chroma's search restricted to so few
# ids took 50-120 ms at 100,000 products; reading 300 vectors takes about 17 ms.
SMALL_SELECTION = 400
# Bumped when what is indexed per product changes, so an older store re-indexes unchanged products.
INDEX_VERSION = 2


CONNECT_TIMEOUT_S = 5.0  # how long connecting waits for a Chroma server's heartbeat
LOCK_WAIT_S = 10.0  # how long opening waits for another process's write to the store to finish
_DATABASE = "chroma.sqlite3"


class CatalogError(RuntimeError):
    """The catalog store cannot be opened or used."""


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _remedy(location: str) -> str:
    if location.startswith(("http://", "https://")):
        return f"check that the Chroma server at {location} is running and healthy (its log says more)"
    return (f"if it is damaged, delete the folder {location} and run again: the demo catalog is embedded again "
            "on the next run (about 15 s), a catalog of your own with `interarec catalog ingest FILE`")


_checked: set[Path] = set()  # stores this process has opened


def _check_database(database: Path, lock_wait_s: float) -> None:
    """Fail fast and clearly on a store file that is not a database or that another process keeps locked
    (Chroma itself would wait as long as the lock is held). Only before this process first opens the store:
    closing a second connection to a file Chroma has open in this process could drop Chroma's POSIX locks."""
    if database.resolve() in _checked or not database.exists():
        return
    try:
        with contextlib.closing(sqlite3.connect(database, timeout=lock_wait_s, isolation_level=None)) as db:
            db.execute("BEGIN IMMEDIATE")  # the write lock: free unless another process is writing
            db.execute("ROLLBACK")
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc):
            raise CatalogError(f"cannot open the catalog store at {database.parent}: {exc}") from exc
        raise CatalogError(f"the catalog store at {database.parent} is locked by another process (still after "
                           f"{lock_wait_s:g} s): wait for it to finish, or stop it, and run again") from exc
    except sqlite3.DatabaseError as exc:
        raise CatalogError(f"the catalog store at {database.parent} cannot be read ({exc}); "
                           f"{_remedy(str(database.parent))}") from exc


@dataclass(frozen=True)
class SearchHit:
    product: Product
    similarity: float  # cosine similarity of query and product text, in [-1, 1]


@dataclass
class UpsertReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    ids: list[str] = field(default_factory=list)


def _metadata(product: Product) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "product_id": product.id,
        "json": product.model_dump_json(),
        "index_version": INDEX_VERSION,
        "brand_key": (product.brand or "").casefold(),
    }
    for level in range(MAX_CATEGORY_LEVELS):
        if level < len(product.category_path):
            meta[f"cat{level}"] = product.category_path[level].casefold()
    if product.price is not None:
        meta["price"] = float(product.price)
    if product.rating is not None:
        meta["rating"] = float(product.rating)
    return meta


def _ranked(rows: list[tuple[dict[str, Any], float]], limit: int) -> list[SearchHit]:
    """(metadata, similarity) rows as hits, best first, ties by product id."""
    hits = [SearchHit(Product.model_validate_json(meta["json"]), similarity) for meta, similarity in rows]
    hits.sort(key=lambda hit: (-round(hit.similarity, 6), hit.product.id))
    return hits[:limit]


class CatalogStore:
    """A Chroma collection of products. Use :meth:`open` for an embedded store on disk."""

    def __init__(self, client: Any, location: str = "the Chroma server", collection: str = COLLECTION) -> None:
        self._client = client
        self.location = location
        self._filter_index: FilterIndex | None = None
        self._index_revision: str | None = None
        with self._errors("opening the products collection"):
            self._collection = client.get_or_create_collection(
                collection,
                embedding_function=MiniLMOnnxEmbedding(),
                configuration={"hnsw": {"space": "cosine"}},
            )

    @contextlib.contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """Chroma's own errors (a damaged file, an unreadable index) as a CatalogError naming the store."""
        try:
            yield
        except ChromaError as exc:
            raise CatalogError(f"the catalog store at {self.location} failed {doing}: {_first_line(exc)}; "
                               f"{_remedy(self.location)}") from exc
        except httpx.HTTPError as exc:  # a Chroma server that went away or stopped answering
            raise CatalogError(f"the Chroma server at {self.location} failed {doing}: {_first_line(exc)}; "
                               f"{_remedy(self.location)}") from exc

    @classmethod
    def open(cls, path: Path, lock_wait_s: float = LOCK_WAIT_S) -> CatalogStore:
        """An embedded (``PersistentClient``) store at ``path``, created if missing. Telemetry is off. A store that
        is damaged or locked by another process fails here with a CatalogError that says what to do."""
        try:
            path.mkdir(parents=True, exist_ok=True)
            _check_database(path / _DATABASE, lock_wait_s)
            client = chromadb.PersistentClient(
                path=str(path), settings=ChromaSettings(anonymized_telemetry=False)
            )
        except OSError as exc:
            raise CatalogError(f"cannot open the catalog store at {path}: {exc}") from exc
        except ChromaError as exc:
            raise CatalogError(f"the catalog store at {path} cannot be opened: {_first_line(exc)}; "
                               f"{_remedy(str(path))}") from exc
        store = cls(client, str(path))
        _checked.add((path / _DATABASE).resolve())
        store.count()  # reads the index, so damage shows now rather than in the middle of a run
        return store

    @classmethod
    def connect(cls, host: str, port: int | None = None, *, ssl: bool = False, collection: str = COLLECTION,
                timeout_s: float = CONNECT_TIMEOUT_S) -> CatalogStore:
        """A store on a ``chroma run`` server: ``connect("127.0.0.1", 8000)`` or ``connect("http://127.0.0.1:8000")``
        (an https URL turns on ``ssl``). Telemetry is off. Embeddings are computed here, by our registered function,
        so the server needs no model. A server that does not answer its heartbeat within ``timeout_s`` fails here
        with a CatalogError naming the URL."""
        if "://" in host:
            parts = urlsplit(host)
            if parts.scheme not in ("http", "https") or not parts.hostname or parts.port is None:
                raise CatalogError(f"not a Chroma server URL: {host!r} (expected e.g. http://127.0.0.1:8000)")
            host, port, ssl = parts.hostname, parts.port, parts.scheme == "https"
        if port is None:
            raise CatalogError(f"no port given for the Chroma server at {host}")
        scheme = "https" if ssl else "http"
        url = f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"
        try:  # Chroma's own client waits without a time limit, so a silent server would hang the run
            httpx.get(f"{url}/api/v2/heartbeat", timeout=timeout_s).raise_for_status()
        except httpx.HTTPError as exc:
            why = f"no answer within {timeout_s:g} s" if isinstance(exc, httpx.TimeoutException) else _first_line(exc)
            raise CatalogError(f"cannot reach the Chroma server at {url} ({why}): start it (`chroma run --host HOST "
                               "--port PORT --path DIR`), or drop --chroma-url / INTERAREC_CHROMA_URL to use the "
                               "embedded store") from exc
        try:
            client = chromadb.HttpClient(host=host, port=port, ssl=ssl,
                                         settings=ChromaSettings(anonymized_telemetry=False))
        except (ValueError, ChromaError, httpx.HTTPError) as exc:  # Chroma says ValueError for "cannot connect"
            raise CatalogError(f"cannot use the Chroma server at {url}: {_first_line(exc)}") from exc
        return cls(client, url, collection)

    def count(self) -> int:
        with self._errors("counting products"):
            return self._collection.count()

    def upsert(self, products: list[Product], batch_size: int = 256) -> UpsertReport:
        """Insert or update by product id; rows identical to what is stored are not re-embedded."""
        with self._errors("storing products"):
            return self._upsert(products, batch_size)

    def _upsert(self, products: list[Product], batch_size: int) -> UpsertReport:
        report = UpsertReport()
        for start in range(0, len(products), batch_size):
            batch = {p.id: p for p in products[start : start + batch_size]}  # last duplicate wins
            existing = self._collection.get(ids=list(batch), include=["metadatas"])
            stored = {
                i: (m or {}).get("json") if (m or {}).get("index_version") == INDEX_VERSION else "(stale index)"
                for i, m in zip(existing["ids"], existing["metadatas"])
            }
            changed = [p for p in batch.values() if stored.get(p.id) != p.model_dump_json()]
            for product in batch.values():
                if product.id not in stored:
                    report.added += 1
                elif stored[product.id] == product.model_dump_json():
                    report.unchanged += 1
                else:
                    report.updated += 1
            if changed:
                metadatas = [_metadata(p) for p in changed]
                self._collection.upsert(ids=[p.id for p in changed], documents=[p.embedding_text() for p in changed],
                                        metadatas=metadatas)
                self._changed(metadatas)
            report.ids.extend(batch)
        return report

    def search(self, query: str, filters: SearchFilters | None = None, limit: int = 20) -> list[SearchHit]:
        """Products most similar to ``query`` that pass ``filters``, best first (ties by product id). With the
        filter index loaded (``load_filter_index``) the filter is evaluated in memory, else by Chroma."""
        filters = filters or SearchFilters()
        if limit <= 0:
            return []
        if not filters.is_empty() and self._filter_index is not None:
            return self._search_selected(query, filters, limit)
        with self._errors("searching"):  # n_results may exceed the count: Chroma returns what there is
            result = self._collection.query(query_embeddings=[embed_texts([query or " "])[0].tolist()],
                                            n_results=limit, where=filters.to_where(),
                                            include=["metadatas", "distances"])
        rows = [(m, 1.0 - float(d)) for m, d in zip(result["metadatas"][0], result["distances"][0])]
        return _ranked(rows, limit)

    # -------------------------------------------------------------------- the in-memory filter index

    def load_filter_index(self) -> int:
        """Load every product's filterable fields into memory (catalog/filter_index.py), so that filtered searches
        from now on filter here instead of in Chroma: worth it for a process that searches many times on a large
        catalog. Returns how many products it holds."""
        with self._errors("loading the filter index"):
            revision = self._revision()
            index = FilterIndex()
            offset = 0
            while page := self._collection.get(limit=5000, offset=offset, include=["metadatas"])["metadatas"]:
                index.put(page)
                offset += len(page)
        self._filter_index, self._index_revision = index, revision
        return len(index)

    def _revision(self) -> str | None:
        return (self._client.get_collection(self._collection.name).metadata or {}).get(_REVISION_KEY)

    def _changed(self, metadatas: list[dict[str, Any]]) -> None:
        """After a write: a new revision for other processes to notice, and this process's index kept current."""
        stale = self._filter_index is not None and self._revision() != self._index_revision
        revision = uuid.uuid4().hex
        self._collection.modify(metadata={_REVISION_KEY: revision})
        if self._filter_index is not None:
            if stale:  # another process wrote since the index was loaded: load it again at the next search
                self._index_revision = None
            else:
                self._filter_index.put(metadatas)
                self._index_revision = revision

    def _search_selected(self, query: str, filters: SearchFilters, limit: int) -> list[SearchHit]:
        """Filter in memory, then rank only the products that pass: here when they are few, else by Chroma."""
        with self._errors("searching"):
            if self._revision() != self._index_revision:
                log.info("the catalog at %s changed since its filter index was loaded: loading it again", self.location)
                self.load_filter_index()
            selected = self._filter_index.select(filters)
            if not selected:
                return []
            vector = embed_texts([query or " "])[0]
            if len(selected) < SMALL_SELECTION:  # vectors only, then the metadata of the best alone
                got = self._collection.get(ids=selected, include=["embeddings"])
                similarities = np.asarray(got["embeddings"], dtype=np.float32) @ vector  # unit vectors: cosine
                best = sorted(zip(got["ids"], (float(s) for s in similarities)),
                              key=lambda row: (-round(row[1], 6), row[0]))[:limit]
                metas = self._collection.get(ids=[i for i, _ in best], include=["metadatas"])
                by_id = dict(zip(metas["ids"], metas["metadatas"]))
                rows = [(by_id[i], similarity) for i, similarity in best]
            else:
                result = self._collection.query(query_embeddings=[vector.tolist()], ids=selected,
                                                n_results=min(limit, len(selected)), include=["metadatas", "distances"])
                rows = [(m, 1.0 - float(d)) for m, d in zip(result["metadatas"][0], result["distances"][0])]
        return _ranked(rows, limit)

    def get(self, product_ids: list[str]) -> list[Product]:
        if not product_ids:  # Chroma rejects an empty id list
            return []
        with self._errors("reading products"):
            result = self._collection.get(ids=list(product_ids), include=["metadatas"])
        by_id = {i: Product.model_validate_json(m["json"]) for i, m in zip(result["ids"], result["metadatas"])}
        return [by_id[i] for i in product_ids if i in by_id]

    def all_products(self) -> list[Product]:
        with self._errors("reading products"):
            result = self._collection.get(include=["metadatas"])
        products = [Product.model_validate_json(m["json"]) for m in result["metadatas"]]
        return sorted(products, key=lambda p: p.id)

    def brands(self) -> list[str]:
        return sorted({p.brand for p in self.all_products() if p.brand})
