"""Loading a product file of any size into the catalog store: streamed, in batches, resumable.

The file is read as a stream and stored ``batch_size`` products at a time, so memory does not grow with the
file. Resuming needs no journal: the store compares each product with what it holds and embeds only new or
changed ones, so running the same ingest again after an interruption (Ctrl-C, a crash, a lost server) skips
everything already stored and carries on where it stopped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from catalog.ingest import RowError, check_file, iter_file
from catalog.models import Product
from catalog.store import CatalogStore

DEFAULT_BATCH = 1000  # products per store call; large enough that sorting by length saves padding


@dataclass
class IngestRun:
    """What one ingest did. ``skipped`` counts products already stored unchanged (a resumed run's head)."""

    lines: int = 0
    lines_read: int = 0
    added: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)
    duplicates: int = 0  # rows whose id appeared earlier in the file (the last one wins)
    seconds: float = 0.0

    @property
    def stored(self) -> int:
        return self.added + self.updated

    @property
    def products_per_second(self) -> float:
        """Products read and made current (stored or found unchanged) per second of the whole run."""
        return (self.stored + self.skipped) / self.seconds if self.seconds else 0.0


Progress = Callable[[IngestRun], None]


def ingest_file(store: CatalogStore, path: Path, *, batch_size: int = DEFAULT_BATCH,
                on_batch: Progress | None = None) -> IngestRun:
    """Stream ``path`` into ``store``. Raises IngestError before storing anything when the file as a whole
    cannot be read; bad rows are collected in ``run.errors`` and never stop the rest. ``on_batch`` is called
    after each stored batch (for progress displays)."""
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, not {batch_size}")
    run = IngestRun(lines=check_file(path))
    started = time.perf_counter()
    seen: set[str] = set()
    batch: dict[str, Product] = {}

    def flush() -> None:
        report = store.upsert(list(batch.values()), batch_size=len(batch))
        run.added += report.added
        run.updated += report.updated
        run.skipped += report.unchanged
        batch.clear()
        run.seconds = time.perf_counter() - started
        if on_batch:
            on_batch(run)

    for line, product in iter_file(path, run.errors):
        run.lines_read = line
        run.duplicates += product.id in seen  # a later row replaces the earlier one, in the batch or the store
        seen.add(product.id)
        batch[product.id] = product
        if len(batch) >= batch_size:
            flush()
    run.lines_read = run.lines
    if batch:
        flush()
    run.seconds = time.perf_counter() - started
    return run


def tree_bytes(path: Path) -> int:
    """Bytes of the files under ``path`` (the on-disk size of an embedded store)."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
