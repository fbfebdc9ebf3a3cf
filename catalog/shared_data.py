"""Where the third-party datasets of this project live (standard library only: the session-model peer
benchmark imports it in a venv without our dependencies)."""

from __future__ import annotations

import os
from pathlib import Path


def shared_data_root() -> Path | None:
    """Where the third-party datasets are (``shared/data``): ``$INTERAREC_SHARED_DATA``, else the first
    ``shared/data`` beside the checkout or one of its parents; None when there is none (a clone elsewhere)."""
    if os.environ.get("INTERAREC_SHARED_DATA"):
        return Path(os.environ["INTERAREC_SHARED_DATA"])
    for folder in Path(__file__).resolve().parents[1:]:
        if (folder / "shared" / "data").is_dir():
            return folder / "shared" / "data"
    return None
