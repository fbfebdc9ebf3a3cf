"""The screenshot database: PNG files on disk addressed by content hash, metadata rows in SQLite (WAL).

A frame whose pixels equal an earlier frame of the same session is recorded as a reference to it
(``duplicate_of``) and its bytes are not stored again.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
import uuid
from pathlib import Path

from tools.schemas import Frame

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    source TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS frames (
    session_id TEXT NOT NULL REFERENCES sessions(session_id),
    sequence INTEGER NOT NULL,
    captured_at REAL NOT NULL,
    sha256 TEXT NOT NULL,
    path TEXT NOT NULL,
    url TEXT NOT NULL,
    title TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    scroll_y INTEGER NOT NULL,
    reason TEXT NOT NULL,
    duplicate_of TEXT,
    PRIMARY KEY (session_id, sequence)
);
"""


class FrameStore:
    """Frames of browsing sessions under ``root`` (``root/frames.sqlite`` and ``root/blobs/``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs = root / "blobs"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(root / "frames.sqlite", check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def new_session(self, source: str) -> str:
        session_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        with self._lock:
            self._db.execute(
                "INSERT INTO sessions VALUES (?, ?, ?)", (session_id, time.time(), source)
            )
        return session_id

    def add(
        self,
        session_id: str,
        png: bytes,
        *,
        url: str = "",
        title: str = "",
        width: int = 0,
        height: int = 0,
        scroll_y: int = 0,
        reason: str = "",
    ) -> Frame:
        sha = hashlib.sha256(png).hexdigest()
        path = self.blobs / sha[:2] / f"{sha}.png"
        with self._lock:
            sequence = self._db.execute(
                "SELECT COALESCE(MAX(sequence), -1) + 1 FROM frames WHERE session_id = ?", (session_id,)
            ).fetchone()[0]
            earlier = self._db.execute(
                "SELECT sequence FROM frames WHERE session_id = ? AND sha256 = ? AND duplicate_of IS NULL",
                (session_id, sha),
            ).fetchone()
            duplicate_of = f"{session_id}:{earlier[0]}" if earlier else None
            if not path.exists():
                path.parent.mkdir(exist_ok=True)
                tmp = path.with_suffix(".tmp")
                tmp.write_bytes(png)
                tmp.replace(path)  # atomic: a crash never leaves a half-written blob under its hash
            frame = Frame(
                frame_id=f"{session_id}:{sequence}", session_id=session_id, sequence=sequence, path=str(path),
                sha256=sha, captured_at=time.time(), url=url, title=title, width=width, height=height,
                scroll_y=scroll_y, reason=reason, duplicate_of=duplicate_of,
            )
            self._db.execute(
                "INSERT INTO frames VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (session_id, sequence, frame.captured_at, sha, str(path), url, title, width, height, scroll_y,
                 reason, duplicate_of),
            )
        return frame

    def frames(self, session_id: str, unique_only: bool = False) -> list[Frame]:
        query = "SELECT * FROM frames WHERE session_id = ?"
        if unique_only:
            query += " AND duplicate_of IS NULL"
        rows = self._db.execute(query + " ORDER BY sequence", (session_id,)).fetchall()
        return [
            Frame(
                frame_id=f"{r[0]}:{r[1]}", session_id=r[0], sequence=r[1], captured_at=r[2], sha256=r[3],
                path=r[4], url=r[5], title=r[6], width=r[7], height=r[8], scroll_y=r[9], reason=r[10],
                duplicate_of=r[11],
            )
            for r in rows
        ]

    def sessions(self) -> list[tuple[str, float, str]]:
        return self._db.execute("SELECT * FROM sessions ORDER BY created_at, rowid").fetchall()
