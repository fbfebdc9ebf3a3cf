"""The product catalog in Chroma: idempotent upsert by product id, semantic search with metadata filters."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import chromadb
from chromadb.config import Settings as ChromaSettings

from catalog.embedding import MiniLMOnnxEmbedding
from catalog.models import Product

log = logging.getLogger(__name__)

COLLECTION = "products"
_MAX_CATEGORY_LEVELS = 6  # category filters match any of the first six levels of a product's path
# Bumped when what is indexed per product changes, so an older store re-indexes unchanged products.
INDEX_VERSION = 2


class CatalogError(RuntimeError):
    """The catalog store cannot be opened or used."""


@dataclass(frozen=True)
class SearchFilters:
    """Metadata filters; ``None`` or empty means unconstrained. Categories match any level of the path."""

    min_price: float | None = None
    max_price: float | None = None
    brands: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    min_rating: float | None = None
    exclude_ids: tuple[str, ...] = ()

    def to_where(self) -> dict[str, Any] | None:
        clauses: list[dict[str, Any]] = []
        if self.min_price is not None:
            clauses.append({"price": {"$gte": float(self.min_price)}})
        if self.max_price is not None:
            clauses.append({"price": {"$lte": float(self.max_price)}})
        if self.brands:
            clauses.append({"brand_key": {"$in": [b.casefold() for b in self.brands]}})
        if self.categories:
            keys = [c.casefold() for c in self.categories]
            levels = [{f"cat{i}": {"$in": keys}} for i in range(_MAX_CATEGORY_LEVELS)]
            clauses.append({"$or": levels})
        if self.min_rating is not None:
            clauses.append({"rating": {"$gte": float(self.min_rating)}})
        if self.exclude_ids:
            clauses.append({"product_id": {"$nin": list(self.exclude_ids)}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}


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
    for level in range(_MAX_CATEGORY_LEVELS):
        if level < len(product.category_path):
            meta[f"cat{level}"] = product.category_path[level].casefold()
    if product.price is not None:
        meta["price"] = float(product.price)
    if product.rating is not None:
        meta["rating"] = float(product.rating)
    return meta


class CatalogStore:
    """A Chroma collection of products. Use :meth:`open` for an embedded store on disk."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._collection = client.get_or_create_collection(
            COLLECTION,
            embedding_function=MiniLMOnnxEmbedding(),
            configuration={"hnsw": {"space": "cosine"}},
        )

    @classmethod
    def open(cls, path: Path) -> CatalogStore:
        """An embedded (``PersistentClient``) store at ``path``, created if missing. Telemetry is off."""
        try:
            path.mkdir(parents=True, exist_ok=True)
            client = chromadb.PersistentClient(
                path=str(path), settings=ChromaSettings(anonymized_telemetry=False)
            )
        except OSError as exc:
            raise CatalogError(f"cannot open the catalog store at {path}: {exc}") from exc
        return cls(client)

    @classmethod
    def connect(cls, host: str, port: int) -> CatalogStore:
        """A store on a ``chroma run`` server."""
        client = chromadb.HttpClient(host=host, port=port, settings=ChromaSettings(anonymized_telemetry=False))
        return cls(client)

    def count(self) -> int:
        return self._collection.count()

    def upsert(self, products: list[Product], batch_size: int = 256) -> UpsertReport:
        """Insert or update by product id; rows identical to what is stored are not re-embedded."""
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
                self._collection.upsert(
                    ids=[p.id for p in changed],
                    documents=[p.embedding_text() for p in changed],
                    metadatas=[_metadata(p) for p in changed],
                )
            report.ids.extend(batch)
        return report

    def search(self, query: str, filters: SearchFilters | None = None, limit: int = 20) -> list[SearchHit]:
        """Products most similar to ``query`` that pass ``filters``, best first (ties by product id)."""
        where = (filters or SearchFilters()).to_where()
        total = self.count()
        if total == 0 or limit <= 0:
            return []
        result = self._collection.query(
            query_texts=[query or " "],
            n_results=min(limit, total),
            where=where,
            include=["metadatas", "distances"],
        )
        hits = [
            SearchHit(Product.model_validate_json(meta["json"]), 1.0 - float(distance))
            for meta, distance in zip(result["metadatas"][0], result["distances"][0])
        ]
        hits.sort(key=lambda hit: (-round(hit.similarity, 6), hit.product.id))
        return hits

    def get(self, product_ids: list[str]) -> list[Product]:
        if not product_ids:  # Chroma rejects an empty id list
            return []
        result = self._collection.get(ids=list(product_ids), include=["metadatas"])
        by_id = {i: Product.model_validate_json(m["json"]) for i, m in zip(result["ids"], result["metadatas"])}
        return [by_id[i] for i in product_ids if i in by_id]

    def all_products(self) -> list[Product]:
        result = self._collection.get(include=["metadatas"])
        products = [Product.model_validate_json(m["json"]) for m in result["metadatas"]]
        return sorted(products, key=lambda p: p.id)

    def brands(self) -> list[str]:
        return sorted({p.brand for p in self.all_products() if p.brand})
