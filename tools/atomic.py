"""Writing a file so that readers see the old content or the whole new one, never half (a crash or a full disk
mid-write leaves no partial file behind)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path


def write_atomically(path: Path, data: bytes, durable: bool = False) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it over ``path``; ``durable`` also syncs
    the bytes to disk before the rename. On any failure the temporary file is removed and the error raised."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")  # same dir: atomic rename
    try:
        with tmp.open("wb") as out:
            out.write(data)
            if durable:
                out.flush()
                os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:  # cleanup only: the error still reaches the caller
        tmp.unlink(missing_ok=True)
        raise
