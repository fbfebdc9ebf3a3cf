"""The screenshot database: image files on disk addressed by content hash, metadata rows in SQLite (WAL).

A frame whose perceptual hash is within ``near_duplicate_bits`` of an earlier kept frame of the same session
(or whose bytes are identical) is recorded as a reference to that frame (``duplicate_of``) and its pixels are
not stored again. A blob is written (atomically) before its row, so a crash never leaves a row without a file.
A frame may come with a text layer (``tools.capture.text_layers``), kept in a sidecar file beside its blob
(``<sha>.text.json``), written before the row too and removed with the blob.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from tools.atomic import write_atomically
from tools.capture.phash import ImageFacts, distance, examine
from tools.lines import SIDECAR_SUFFIX, TextLayer
from tools.schemas import Frame, Session

log = logging.getLogger(__name__)

SAME_TEXT = 0.8  # share of words two near-identical frames must have in common to be duplicates
DEFAULT_NEAR_DUPLICATE_BITS = 8  # of 256; distinct pages and scroll positions differ by 18 or more

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    source TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'running',
    ended_at REAL,
    note TEXT NOT NULL DEFAULT ''
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
    phash TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (session_id, sequence)
);
CREATE INDEX IF NOT EXISTS frames_by_sha ON frames(sha256);
"""
_COLUMNS = ("session_id, sequence, captured_at, sha256, path, url, title, width, height, scroll_y, reason, "
            "duplicate_of, phash")


def _write_atomically(path: Path, data: bytes) -> bool:
    """Write a blob under its content hash, synced to disk, never half-written (tools/atomic.py)."""
    path.parent.mkdir(exist_ok=True)
    write_atomically(path, data, durable=True)
    return True


def _words(layer: TextLayer | None) -> frozenset[str] | None:
    return frozenset(w for line in layer.lines for w in line.text.casefold().split()) if layer is not None else None


def _same_text(a: frozenset[str] | None, b: frozenset[str] | None) -> bool:
    """Whether two frames' words mostly agree; unknown (no text layer on either side) counts as the same."""
    if a is None or b is None:
        return True
    if not a and not b:
        return True
    return len(a & b) / max(1, len(a | b)) >= SAME_TEXT


class FrameStoreError(RuntimeError):
    """The screenshot database cannot be used (unknown session, unreadable file)."""


def _frame(row: tuple) -> Frame:
    return Frame(
        frame_id=f"{row[0]}:{row[1]}", session_id=row[0], sequence=row[1], captured_at=row[2], sha256=row[3],
        path=row[4], url=row[5], title=row[6], width=row[7], height=row[8], scroll_y=row[9], reason=row[10],
        duplicate_of=row[11], phash=row[12],
    )


class FrameStore:
    """Frames of browsing sessions under ``root`` (``root/frames.sqlite`` and ``root/blobs/``)."""

    def __init__(self, root: Path, near_duplicate_bits: int = DEFAULT_NEAR_DUPLICATE_BITS) -> None:
        self.root = root
        self.blobs = root / "blobs"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.near_duplicate_bits = near_duplicate_bits
        self._lock = threading.Lock()
        self._db = sqlite3.connect(root / "frames.sqlite", check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._migrate()
        self._db.executescript(_SCHEMA)
        self._kept: dict[str, list[tuple[str, int, str]]] = {}  # session -> [(phash, sequence, sha)]
        self._kept_words: dict[tuple[str, int], frozenset[str]] = {}  # (session, sequence) -> its text's words

    def _migrate(self) -> None:
        """Databases written before the status and phash columns existed gain them."""
        tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        additions = {"sessions": {"status": "TEXT NOT NULL DEFAULT 'complete'", "ended_at": "REAL",
                                  "note": "TEXT NOT NULL DEFAULT ''"},
                     "frames": {"phash": "TEXT NOT NULL DEFAULT ''"}}
        for table, columns in additions.items():
            if table not in tables:
                continue
            present = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            for name, kind in columns.items():
                if name not in present:
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")

    @property
    def database_path(self) -> Path:
        return self.root / "frames.sqlite"

    def close(self) -> None:
        self._db.close()

    # -- sessions ----------------------------------------------------------------------------------------
    def new_session(self, source: str) -> str:
        session_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        with self._lock:
            # status set explicitly: a migrated database's column defaults to 'complete' (for its old rows)
            self._db.execute("INSERT INTO sessions (session_id, created_at, source, status) VALUES (?, ?, ?, ?)",
                             (session_id, time.time(), source, "running"))
        return session_id

    def end_session(self, session_id: str, status: str = "complete", note: str = "") -> None:
        with self._lock:
            self._db.execute("UPDATE sessions SET status = ?, ended_at = ?, note = ? WHERE session_id = ?",
                             (status, time.time(), note, session_id))

    def session(self, session_id: str) -> Session:
        row = self._db.execute(
            "SELECT s.session_id, s.created_at, s.source, s.status, s.ended_at, s.note, "
            "COUNT(f.sequence), COUNT(f.sequence) - COUNT(f.duplicate_of) "
            "FROM sessions s LEFT JOIN frames f USING (session_id) WHERE s.session_id = ? GROUP BY s.session_id",
            (session_id,),
        ).fetchone()
        if row is None:
            raise FrameStoreError(f"no session {session_id!r}; `interarec sessions list` shows them")
        return Session(session_id=row[0], created_at=row[1], source=row[2], status=row[3], ended_at=row[4],
                       note=row[5], frames=row[6], kept=row[7], duplicates=row[6] - row[7])

    def sessions(self) -> list[Session]:
        ids = [row[0] for row in self._db.execute("SELECT session_id FROM sessions ORDER BY created_at, rowid")]
        return [self.session(session_id) for session_id in ids]

    def delete_session(self, session_id: str, forget: Callable[[set[str]], None] | None = None) -> int:
        """Remove a session's rows and every file no other session uses; returns the files removed. ``forget``
        gets the content hashes no session holds any more, so caches of what was read from them go too."""
        self.session(session_id)  # raises for an unknown id
        with self._lock:
            shas = {row[0] for row in self._db.execute(
                "SELECT DISTINCT sha256 FROM frames WHERE session_id = ? AND duplicate_of IS NULL", (session_id,))}
            self._db.execute("BEGIN")
            try:
                self._db.execute("DELETE FROM frames WHERE session_id = ?", (session_id,))
                self._db.execute("DELETE FROM sessions WHERE session_id = ?", (session_id,))
                still_used = {row[0] for row in self._db.execute(
                    f"SELECT DISTINCT sha256 FROM frames WHERE sha256 IN ({','.join('?' * len(shas))})",
                    tuple(shas))}
                self._db.execute("COMMIT")
            except BaseException:  # all or nothing, and no transaction left open to block other writers
                if self._db.in_transaction:  # SQLite may have rolled back itself (a full disk)
                    self._db.execute("ROLLBACK")
                raise
            self._kept.pop(session_id, None)
        removed = 0
        for sha in shas - still_used:
            for path in self.blobs.glob(f"{sha[:2]}/{sha}.*"):  # the image and its text layer, if any
                path.unlink(missing_ok=True)
                removed += not path.name.endswith(SIDECAR_SUFFIX)  # the count is of images, as users see them
        if forget is not None and shas - still_used:
            forget(shas - still_used)
        return removed

    def prune(self, older_than_days: float, forget: Callable[[set[str]], None] | None = None) -> list[str]:
        """Delete sessions created more than ``older_than_days`` ago (the retention period)."""
        cutoff = time.time() - older_than_days * 86400
        old = [row[0] for row in self._db.execute("SELECT session_id FROM sessions WHERE created_at < ?", (cutoff,))]
        for session_id in old:
            self.delete_session(session_id, forget)
        return old

    # -- frames ------------------------------------------------------------------------------------------
    def _kept_frames(self, session_id: str) -> list[tuple[str, int, str]]:
        if session_id not in self._kept:
            self._kept[session_id] = [
                (row[0], row[1], row[2]) for row in self._db.execute(
                    "SELECT phash, sequence, sha256 FROM frames WHERE session_id = ? AND duplicate_of IS NULL "
                    "ORDER BY sequence", (session_id,))
            ]
        return self._kept[session_id]

    def add(
        self,
        session_id: str,
        data: bytes,
        *,
        url: str = "",
        title: str = "",
        scroll_y: int = 0,
        reason: str = "",
        facts: ImageFacts | None = None,
        suffix: str = ".png",
        captured_at: float | None = None,
        text_layer: TextLayer | None = None,
    ) -> Frame:
        """Store one screenshot, with its text layer if it has one. Near-duplicates of a kept frame become
        references to it, and their text layer is the original's."""
        facts = facts or examine(data)
        sha = hashlib.sha256(data).hexdigest()
        with self._lock:
            kept = self._kept_frames(session_id)
            words = _words(text_layer)
            # Near in pixels is a duplicate only if the page said the same: pages of plain text look alike to a
            # perceptual hash (a text-only page scrolled by a screen), their text layers do not.
            match = next((seq for phash, seq, kept_sha in reversed(kept)
                          if kept_sha == sha or (self.near_duplicate_bits and phash
                                                 and distance(phash, facts.phash) <= self.near_duplicate_bits
                                                 and _same_text(words, self._kept_words.get((session_id, seq))))),
                         None)
            sequence = self._db.execute(
                "SELECT COALESCE(MAX(sequence), -1) + 1 FROM frames WHERE session_id = ?", (session_id,)
            ).fetchone()[0]
            wrote = wrote_text = False  # a new image / text layer file under its hash, by this call
            if match is not None:
                duplicate_of = f"{session_id}:{match}"
                sha, path = self._db.execute(
                    "SELECT sha256, path FROM frames WHERE session_id = ? AND sequence = ?", (session_id, match)
                ).fetchone()
            else:
                duplicate_of = None
                path = str(self.blobs / sha[:2] / f"{sha}{suffix}")
                wrote = not Path(path).exists() and _write_atomically(Path(path), data)
            frame = Frame(
                frame_id=f"{session_id}:{sequence}", session_id=session_id, sequence=sequence, path=path,
                sha256=sha, captured_at=time.time() if captured_at is None else captured_at, url=url, title=title,
                width=facts.width, height=facts.height, scroll_y=scroll_y, reason=reason, duplicate_of=duplicate_of,
                phash=facts.phash,
            )
            sidecar = self.text_layer_path(sha)
            try:
                # Same pixels already stored with a text layer (another session): that one stands for both.
                if duplicate_of is None and text_layer is not None and not sidecar.exists():
                    wrote_text = _write_atomically(sidecar, text_layer.dumps().encode())
                self._db.execute(
                    f"INSERT INTO frames ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (session_id, sequence, frame.captured_at, sha, path, url, title, facts.width, facts.height,
                     scroll_y, reason, duplicate_of, facts.phash),
                )
            except (sqlite3.Error, OSError):  # e.g. the disk is full: no row, and no file only this row would use
                if (wrote or wrote_text) and not self._db.execute("SELECT 1 FROM frames WHERE sha256 = ?",
                                                                  (sha,)).fetchone():
                    for written, file in ((wrote, Path(path)), (wrote_text, sidecar)):
                        if written:
                            file.unlink(missing_ok=True)
                raise
            if duplicate_of is None:  # only a frame with a row can be the original of a later duplicate
                kept.append((facts.phash, sequence, sha))
                if words is not None:
                    self._kept_words[(session_id, sequence)] = words
        return frame

    def text_layer_path(self, sha: str) -> Path:
        """Where the text layer of the image with this content hash is (or would be) kept."""
        return self.blobs / sha[:2] / f"{sha}{SIDECAR_SUFFIX}"

    def text_layer(self, frame: Frame) -> TextLayer | None:
        """The text layer stored with ``frame`` (a duplicate's is its original's); None when it has none (an
        imported picture, a frame of an older database, a failed read) or its file is unreadable."""
        try:
            return TextLayer.loads(self.text_layer_path(frame.sha256).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("the text layer of frame %s is unreadable (%s); reading it without one", frame.frame_id,
                        exc)
            return None

    def frames(self, session_id: str, unique_only: bool = False) -> list[Frame]:
        query = f"SELECT {_COLUMNS} FROM frames WHERE session_id = ?"
        if unique_only:
            query += " AND duplicate_of IS NULL"
        return [_frame(row) for row in self._db.execute(query + " ORDER BY sequence", (session_id,))]
