"""The screenshot database (content-addressed blobs, SQLite rows, perceptual-hash duplicates) and frame_io."""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tools.capture.frame_io import export_session, import_folder, natural_key
from tools.capture.frames import FrameStore, FrameStoreError
from tools.capture.phash import distance, examine
from tools.lines import SIDECAR_SUFFIX, ScreenLine, TextLayer


def _pixels(seed: int, size: tuple[int, int] = (160, 120)) -> np.ndarray:
    """Seeded random noise: images from different seeds are far apart by perceptual hash."""
    return np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)


def _encode(pixels: np.ndarray, kind: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=kind)
    return buffer.getvalue()


def _png(seed: int) -> bytes:
    return _encode(_pixels(seed))


def _tweaked(seed: int) -> bytes:
    """The image of ``seed`` with a 3x3 patch inverted: other bytes, same picture to the eye."""
    pixels = _pixels(seed)
    pixels[10:13, 10:13] = 255 - pixels[10:13, 10:13]
    return _encode(pixels)


A, B, C = _png(1), _png(2), _png(3)


def _blob_files(root: Path) -> list[Path]:
    return sorted(p for p in (root / "blobs").rglob("*") if p.is_file())


@pytest.fixture
def store(tmp_path):
    frames = FrameStore(tmp_path / "frames")
    yield frames
    frames.close()


def test_test_images_are_what_the_tests_assume():
    assert distance(examine(A).phash, examine(_tweaked(1)).phash) <= 8
    assert _tweaked(1) != A
    assert min(distance(examine(x).phash, examine(y).phash) for x, y in ((A, B), (A, C), (B, C))) > 40


# -- duplicates ------------------------------------------------------------------------------------------------
def test_bytes_are_stored_under_their_hash(store):
    session = store.new_session("test")
    frame = store.add(session, A)
    sha = hashlib.sha256(A).hexdigest()
    assert frame.sha256 == sha
    assert Path(frame.path) == store.root / "blobs" / sha[:2] / f"{sha}.png"
    assert Path(frame.path).read_bytes() == A
    assert _blob_files(store.root) == [Path(frame.path)]  # no temp file left behind
    assert (frame.width, frame.height) == (160, 120)
    assert len(frame.phash) == 64


def test_identical_bytes_make_one_file_and_a_duplicate_reference(store):
    session = store.new_session("test")
    first = store.add(session, A, reason="navigation")
    second = store.add(session, A, reason="interval")
    third = store.add(session, B)
    fourth = store.add(session, A)
    assert first.duplicate_of is None and third.duplicate_of is None
    assert second.duplicate_of == first.frame_id
    assert fourth.duplicate_of == first.frame_id  # points at the original, not at another duplicate
    assert second.path == first.path
    assert len(_blob_files(store.root)) == 2


def test_a_slightly_changed_image_is_a_duplicate_by_perceptual_hash(store):
    session = store.new_session("test")
    first = store.add(session, A)
    near = store.add(session, _tweaked(1))
    assert near.duplicate_of == first.frame_id
    assert near.path == first.path  # its pixels are not stored again
    assert len(_blob_files(store.root)) == 1


def test_a_clearly_different_image_is_kept(store):
    session = store.new_session("test")
    first, other = store.add(session, A), store.add(session, B)
    assert other.duplicate_of is None
    assert other.path != first.path
    assert len(_blob_files(store.root)) == 2


def test_threshold_zero_keeps_near_duplicates_that_are_not_byte_identical(tmp_path):
    frames = FrameStore(tmp_path / "frames", near_duplicate_bits=0)
    try:
        session = frames.new_session("test")
        first = frames.add(session, A)
        near = frames.add(session, _tweaked(1))
        same = frames.add(session, A)
        assert near.duplicate_of is None
        assert same.duplicate_of == first.frame_id  # identical bytes are still one file
        assert len(_blob_files(frames.root)) == 2
    finally:
        frames.close()


def test_same_bytes_in_another_session_share_the_blob_but_are_not_duplicates(store):
    a, b = store.new_session("a"), store.new_session("b")
    in_a, in_b = store.add(a, C), store.add(b, C)
    assert in_b.duplicate_of is None  # duplicates are per session
    assert in_a.path == in_b.path
    assert len(_blob_files(store.root)) == 1


# -- metadata, sequences, sessions -----------------------------------------------------------------------------
def test_metadata_round_trip(store):
    session = store.new_session("persona:watch-buyer")
    added = store.add(session, A, url="http://127.0.0.1:8000/p/w1", title="Titan watch | InteraShop",
                      scroll_y=450, reason="scroll", captured_at=1_700_000_000.5)
    [read] = store.frames(session)
    assert read == added
    assert (read.url, read.title, read.width, read.height, read.scroll_y, read.reason, read.captured_at) == (
        "http://127.0.0.1:8000/p/w1", "Titan watch | InteraShop", 160, 120, 450, "scroll", 1_700_000_000.5)
    assert read.frame_id == f"{session}:0"
    assert read.session_id == session
    assert read.phash == examine(A).phash


def test_a_capture_time_of_zero_is_kept(store):
    session = store.new_session("test")
    assert store.add(session, A, captured_at=0.0).captured_at == 0.0
    assert store.frames(session)[0].captured_at == 0.0


def test_sequence_numbers_are_per_session(store):
    a, b = store.new_session("a"), store.new_session("b")
    assert [store.add(a, png).sequence for png in (A, B)] == [0, 1]
    assert store.add(b, C).sequence == 0
    assert store.add(a, C).sequence == 2
    assert [f.sequence for f in store.frames(a)] == [0, 1, 2]
    assert [f.frame_id for f in store.frames(b)] == [f"{b}:0"]


def test_unique_only_skips_duplicates(store):
    session = store.new_session("test")
    for png in (A, A, B, _tweaked(1), B, C):
        store.add(session, png)
    assert [f.sequence for f in store.frames(session)] == [0, 1, 2, 3, 4, 5]
    unique = store.frames(session, unique_only=True)
    assert [f.sequence for f in unique] == [0, 2, 5]
    assert all(f.duplicate_of is None for f in unique)


def test_unknown_session_has_no_frames_and_no_record(store):
    assert store.frames("no-such-session") == []
    with pytest.raises(FrameStoreError, match="no-such-session"):
        store.session("no-such-session")
    with pytest.raises(FrameStoreError):
        store.delete_session("no-such-session")


def test_session_counts_status_and_end(store):
    assert store.sessions() == []
    session = store.new_session("persona:mug-gifter")
    for png in (A, A, B, _tweaked(2)):
        store.add(session, png)
    info = store.session(session)
    assert (info.source, info.status, info.ended_at, info.note) == ("persona:mug-gifter", "running", None, "")
    assert (info.frames, info.kept, info.duplicates) == (4, 2, 2)
    assert time.time() - 60 < info.created_at <= time.time()

    store.end_session(session, "interrupted", "browser crashed")
    ended = store.session(session)
    assert (ended.status, ended.note) == ("interrupted", "browser crashed")
    assert ended.ended_at is not None and ended.ended_at >= ended.created_at
    assert (ended.frames, ended.kept, ended.duplicates) == (4, 2, 2)


def test_sessions_listing_oldest_first(store):
    a = store.new_session("demo")
    b = store.new_session("persona:mug-gifter")
    store.add(b, A)
    listed = store.sessions()
    assert [(s.session_id, s.source, s.frames) for s in listed] == [(a, "demo", 0), (b, "persona:mug-gifter", 1)]
    assert a != b


# -- deleting and retention ------------------------------------------------------------------------------------
def test_delete_session_removes_rows_and_unshared_files(store):
    a, b = store.new_session("a"), store.new_session("b")
    for png in (A, B, A, _tweaked(2)):
        store.add(a, png)
    store.add(b, B)  # b still uses B's file
    removed = store.delete_session(a)
    assert removed == 1  # A's file; B's is shared, duplicates never had a file
    assert store.frames(a) == []
    assert [s.session_id for s in store.sessions()] == [b]
    assert _blob_files(store.root) == [Path(store.frames(b)[0].path)]
    assert Path(store.frames(b)[0].path).read_bytes() == B

    assert store.delete_session(b) == 1
    assert _blob_files(store.root) == []
    assert store.sessions() == []


def test_delete_an_empty_session(store):
    session = store.new_session("empty")
    assert store.delete_session(session) == 0
    assert store.sessions() == []


def test_a_deleted_session_can_be_reimported_with_the_same_bytes(store):
    a = store.new_session("a")
    store.add(a, A)
    store.delete_session(a)
    b = store.new_session("b")
    frame = store.add(b, A)
    assert frame.duplicate_of is None
    assert Path(frame.path).read_bytes() == A


def test_prune_deletes_sessions_older_than_the_retention(store):
    old, new = store.new_session("old"), store.new_session("new")
    store.add(old, A)
    store.add(new, B)
    with sqlite3.connect(store.database_path) as db:  # as if `old` had been made ten days ago
        db.execute("UPDATE sessions SET created_at = ? WHERE session_id = ?", (time.time() - 10 * 86400, old))
    assert store.prune(older_than_days=7) == [old]
    assert [s.session_id for s in store.sessions()] == [new]
    assert len(_blob_files(store.root)) == 1
    assert store.prune(older_than_days=7) == []


# -- persistence and migration ---------------------------------------------------------------------------------
def test_reopening_the_store_from_disk(tmp_path):
    root = tmp_path / "frames"
    first = FrameStore(root)
    session = first.new_session("demo")
    written = [first.add(session, png, url=f"http://127.0.0.1/{i}", scroll_y=i * 100)
               for i, png in enumerate((A, B, A))]
    first.end_session(session)
    first.close()

    reopened = FrameStore(root)
    try:
        assert [s.session_id for s in reopened.sessions()] == [session]
        assert reopened.session(session).status == "complete"
        assert reopened.frames(session) == written
        assert Path(reopened.frames(session)[1].path).read_bytes() == B
        # adding continues the sequence and still detects duplicates of frames written before the reopen
        more = reopened.add(session, _tweaked(2))
        assert more.sequence == 3
        assert more.duplicate_of == written[1].frame_id
    finally:
        reopened.close()


_OLD_SCHEMA = """
CREATE TABLE sessions (session_id TEXT PRIMARY KEY, created_at REAL NOT NULL, source TEXT NOT NULL);
CREATE TABLE frames (
    session_id TEXT NOT NULL REFERENCES sessions(session_id), sequence INTEGER NOT NULL,
    captured_at REAL NOT NULL, sha256 TEXT NOT NULL, path TEXT NOT NULL, url TEXT NOT NULL, title TEXT NOT NULL,
    width INTEGER NOT NULL, height INTEGER NOT NULL, scroll_y INTEGER NOT NULL, reason TEXT NOT NULL,
    duplicate_of TEXT, PRIMARY KEY (session_id, sequence)
);
"""


def test_a_database_with_the_old_schema_is_migrated(tmp_path):
    root = tmp_path / "frames"
    sha = hashlib.sha256(A).hexdigest()
    blob = root / "blobs" / sha[:2] / f"{sha}.png"
    blob.parent.mkdir(parents=True)
    blob.write_bytes(A)
    with sqlite3.connect(root / "frames.sqlite") as db:
        db.executescript(_OLD_SCHEMA)
        db.execute("INSERT INTO sessions VALUES ('old-1', ?, 'persona:watch-buyer')", (time.time() - 3600,))
        rows = [("old-1", 0, 1.0, sha, str(blob), "http://127.0.0.1/", "Home", 160, 120, 0, "navigation", None),
                ("old-1", 1, 2.0, sha, str(blob), "http://127.0.0.1/", "Home", 160, 120, 0, "interval", "old-1:0")]
        db.executemany("INSERT INTO frames VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    db.close()

    frames = FrameStore(root)
    try:
        info = frames.session("old-1")
        assert (info.status, info.note, info.ended_at) == ("complete", "", None)
        assert (info.frames, info.kept, info.duplicates) == (2, 1, 1)
        old = frames.frames("old-1")
        assert [(f.sequence, f.reason, f.phash, f.duplicate_of) for f in old] == [
            (0, "navigation", "", None), (1, "interval", "", "old-1:0")]
        # the old session takes new frames: identical bytes are still caught without a stored phash
        assert frames.add("old-1", A).duplicate_of == "old-1:0"
        assert frames.add("old-1", B).sequence == 3
        # and new sessions work as in a fresh database
        fresh = frames.new_session("demo")
        assert frames.add(fresh, A).duplicate_of is None
        assert frames.session(fresh).status == "running"
        assert frames.delete_session("old-1") == 1  # B's file; A's is used by the new session
        assert blob.exists()
    finally:
        frames.close()
    reopened = FrameStore(root)  # migrating twice is harmless
    try:
        assert [s.session_id for s in reopened.sessions()] == [fresh]
    finally:
        reopened.close()


# -- import and export -----------------------------------------------------------------------------------------
def test_natural_order():
    names = ["frame10.png", "frame2.png", "Frame1.jpg", "frame02b.png", "a.png"]
    assert sorted(names, key=natural_key) == ["a.png", "Frame1.jpg", "frame2.png", "frame02b.png", "frame10.png"]


def _write(folder: Path, name: str, data: bytes, mtime: float) -> None:
    (folder / name).write_bytes(data)
    os.utime(folder / name, (mtime, mtime))


@pytest.fixture
def shots(tmp_path) -> Path:
    """A folder of screenshots with a note, a corrupt PNG, a GIF named .png and a subfolder among them."""
    folder = tmp_path / "shots"
    folder.mkdir()
    _write(folder, "frame10.png", _png(10), 1_700_000_010)
    _write(folder, "frame2.png", _png(2), 1_700_000_002)
    _write(folder, "frame3.png", _tweaked(2), 1_700_000_003)  # a near-duplicate of frame2
    _write(folder, "frame1.jpg", _encode(_pixels(1), "JPEG"), 1_700_000_001)
    _write(folder, "notes.txt", b"not an image\n", 1_700_000_000)
    _write(folder, "broken.png", _png(4)[:200], 1_700_000_000)  # a PNG header, then nothing
    _write(folder, "anim.png", _encode(_pixels(5), "GIF"), 1_700_000_000)
    (folder / "sub").mkdir()
    return folder


def test_import_folder_reports_bad_files_and_imports_the_rest_in_natural_order(store, shots):
    report = import_folder(store, shots)
    assert report.session_id
    assert (report.imported, report.kept, report.duplicates) == (4, 3, 1)
    skipped = dict(report.skipped)
    assert set(skipped) == {"notes.txt", "broken.png", "anim.png", "sub"}
    assert "GIF" in skipped["anim.png"]
    assert "not a file" in skipped["sub"]

    frames = store.frames(report.session_id)
    assert [f.captured_at for f in frames] == [1_700_000_001, 1_700_000_002, 1_700_000_003, 1_700_000_010]
    assert [f.reason for f in frames] == ["import"] * 4
    assert [f.url for f in frames] == [""] * 4
    assert [Path(f.path).suffix for f in frames] == [".jpg", ".png", ".png", ".png"]
    assert frames[2].duplicate_of == frames[1].frame_id
    assert Path(frames[3].path).read_bytes() == (shots / "frame10.png").read_bytes()

    info = store.session(report.session_id)
    assert (info.source, info.status) == (f"import:{shots}", "complete")
    assert (info.frames, info.kept, info.duplicates) == (4, 3, 1)
    assert report.as_dict()["skipped"][0].keys() == {"name", "reason"}


@pytest.mark.parametrize("make", ["missing", "empty", "no images"])
def test_import_of_a_folder_without_images_is_an_error_and_leaves_no_session(store, tmp_path, make):
    folder = tmp_path / "in"
    if make != "missing":
        folder.mkdir()
    if make == "no images":
        (folder / "readme.txt").write_text("hello")
    with pytest.raises(FrameStoreError, match="cannot import"):
        import_folder(store, folder)
    assert store.sessions() == []


def test_export_copies_kept_frames_and_writes_all_metadata(store, tmp_path):
    session = store.new_session("demo")
    for i, png in enumerate((A, B, _tweaked(1), C)):
        store.add(session, png, url=f"http://127.0.0.1/{i}", title=f"page {i}", reason="scroll")
    dest = tmp_path / "out"
    report = export_session(store, session, dest)
    assert report.files == ["00000.png", "00001.png", "00003.png"]
    assert report.frames == 4
    assert sorted(p.name for p in dest.iterdir()) == ["00000.png", "00001.png", "00003.png", "frames.jsonl"]
    assert (dest / "00001.png").read_bytes() == B
    lines = [json.loads(line) for line in (dest / "frames.jsonl").read_text().splitlines()]
    assert [line["sequence"] for line in lines] == [0, 1, 2, 3]
    assert [line["duplicate_of"] for line in lines] == [None, None, f"{session}:0", None]
    assert [line["file"] for line in lines] == ["00000.png", "00001.png", "00000.png", "00003.png"]
    assert lines[2]["title"] == "page 2" and lines[2]["url"] == "http://127.0.0.1/2"

    # an exported folder imports back as a session with the same kept pictures (frames.jsonl is skipped)
    again = import_folder(store, dest)
    assert (again.imported, again.kept, again.skipped) == (3, 3, [("frames.jsonl", again.skipped[0][1])])


def test_export_refuses_a_non_empty_folder_and_an_unknown_session(store, tmp_path):
    session = store.new_session("demo")
    store.add(session, A)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    with pytest.raises(FrameStoreError, match="not an empty folder"):
        export_session(store, session, busy)
    assert sorted(p.name for p in busy.iterdir()) == ["keep.txt"]
    with pytest.raises(FrameStoreError, match="nope"):
        export_session(store, "nope", tmp_path / "new")
    assert not (tmp_path / "new").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert export_session(store, session, empty).files == ["00000.png"]


# -- text layers -----------------------------------------------------------------------------------------------
def _layer(*texts: str, markup: dict | None = None) -> TextLayer:
    lines = [ScreenLine(text=text, x0=10, y0=20 * i, x1=200, y1=20 * i + 16, source="text-layer", font_size=16)
             for i, text in enumerate(texts)]
    return TextLayer(lines=lines, markup=markup)


def _sidecars(root: Path) -> list[Path]:
    return sorted(p for p in (root / "blobs").rglob(f"*{SIDECAR_SUFFIX}"))


def test_a_text_layer_is_kept_beside_its_blob_and_read_back(store):
    session = store.new_session("test")
    layer = _layer("Aurora Trail Running Shoe", "129.00 EUR", markup={"json-ld": [{"@type": "Product"}]})
    frame = store.add(session, A, text_layer=layer)
    sidecar = Path(frame.path).with_name(f"{frame.sha256}{SIDECAR_SUFFIX}")
    assert _sidecars(store.root) == [sidecar] == [store.text_layer_path(frame.sha256)]
    assert _blob_files(store.root) == sorted([Path(frame.path), sidecar])  # no temp file left behind
    assert store.text_layer(frame) == layer
    assert store.text_layer(store.frames(session)[0]) == layer  # as read back from the database


def test_a_duplicate_has_its_originals_text_layer(store):
    session = store.new_session("test")
    first = store.add(session, A, text_layer=_layer("first"))
    same = store.add(session, A, text_layer=_layer("same pixels"))
    near = store.add(session, _tweaked(1), text_layer=_layer("first"))
    plain = store.add(session, A)  # a duplicate without a text layer of its own still has its original's
    assert first.frame_id == same.duplicate_of == near.duplicate_of == plain.duplicate_of
    assert [store.text_layer(f) for f in (first, same, near, plain)] == [_layer("first")] * 4
    assert len(_sidecars(store.root)) == 1
    # Near in pixels but saying something else (a page of plain text scrolled by a screen) is a frame of its own.
    other = store.add(session, _tweaked(1), text_layer=_layer("a different page of text"))
    assert other.duplicate_of is None and store.text_layer(other) == _layer("a different page of text")


def test_frames_without_a_text_layer_have_none(store, shots, caplog):
    session = store.new_session("test")
    assert store.text_layer(store.add(session, A)) is None
    imported = import_folder(store, shots)
    assert imported.text_layers == 0
    assert all(store.text_layer(f) is None for f in store.frames(imported.session_id))
    assert _sidecars(store.root) == []
    broken = store.add(session, B, text_layer=_layer("soon broken"))
    store.text_layer_path(broken.sha256).write_text("{not json", encoding="utf-8")
    assert store.text_layer(broken) is None  # unreadable: the frame is read without one, and it is said
    assert broken.frame_id in caplog.text


def test_deleting_and_pruning_remove_text_layers_with_their_blobs(store):
    a, b = store.new_session("a"), store.new_session("b")
    store.add(a, A, text_layer=_layer("a"))
    store.add(a, B, text_layer=_layer("b"))
    store.add(a, _tweaked(1))
    store.add(b, B, text_layer=_layer("b in b"))  # b's copy of B: the same file, and the text layer a wrote
    assert len(_sidecars(store.root)) == 2
    assert store.delete_session(a) == 1  # images removed: A's; B's is still used, and so is its text layer
    assert [p.name for p in _sidecars(store.root)] == [f"{store.frames(b)[0].sha256}{SIDECAR_SUFFIX}"]
    assert store.text_layer(store.frames(b)[0]) == _layer("b")

    old = store.new_session("old")
    store.add(old, C, text_layer=_layer("c"))
    with sqlite3.connect(store.database_path) as db:
        db.execute("UPDATE sessions SET created_at = ? WHERE session_id IN (?, ?)", (time.time() - 10 * 86400, old, b))
    assert sorted(store.prune(older_than_days=7)) == sorted([old, b])
    assert _blob_files(store.root) == []


class _FullDisk:
    """The store's connection, except that recording a frame finds the disk full."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def execute(self, sql: str, *args):  # noqa: ANN202
        if sql.lstrip().startswith("INSERT INTO frames"):
            raise sqlite3.OperationalError("database or disk is full")
        return self._db.execute(sql, *args)

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self._db, name)


def test_a_frame_that_could_not_be_recorded_leaves_no_text_layer(store):
    session = store.new_session("test")
    real = store._db
    store._db = _FullDisk(real)
    try:
        with pytest.raises(sqlite3.OperationalError, match="full"):
            store.add(session, A, text_layer=_layer("never recorded"))
    finally:
        store._db = real
    assert _blob_files(store.root) == []
    frame = store.add(session, A, text_layer=_layer("recorded"))
    assert store.text_layer(frame) == _layer("recorded")


def test_export_writes_text_layers_beside_the_images_and_import_brings_them_back(store, tmp_path):
    session = store.new_session("demo")
    layers = {0: _layer("first", markup={"json-ld": [{"@type": "Product", "name": "Mug"}]}), 3: _layer("fourth")}
    for i, png in enumerate((A, B, _tweaked(1), C)):
        store.add(session, png, url=f"http://127.0.0.1/{i}", text_layer=layers.get(i))
    dest = tmp_path / "out"
    report = export_session(store, session, dest)
    assert report.files == ["00000.png", "00001.png", "00003.png"]
    assert report.text_layers == ["00000.text.json", "00003.text.json"]  # 00001 was captured without one
    assert report.as_dict()["text_layers"] == report.text_layers
    assert sorted(p.name for p in dest.iterdir()) == ["00000.png", "00000.text.json", "00001.png", "00003.png",
                                                      "00003.text.json", "frames.jsonl"]
    lines = [json.loads(line) for line in (dest / "frames.jsonl").read_text().splitlines()]
    assert [line["text_layer"] for line in lines] == ["00000.text.json", "", "00000.text.json", "00003.text.json"]

    again = import_folder(store, dest)
    assert (again.imported, again.kept, again.text_layers) == (3, 3, 2)
    assert [name for name, _ in again.skipped] == ["frames.jsonl"]  # the text layers went in with their images
    imported = store.frames(again.session_id)
    assert [store.text_layer(f) for f in imported] == [layers[0], None, layers[3]]


def test_import_reports_a_text_layer_without_its_image_or_unreadable(store, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "1.png").write_bytes(A)
    (folder / "1.text.json").write_text("[1, 2]", encoding="utf-8")
    (folder / "2.png").write_bytes(B)
    (folder / "2.text.json").write_text(_layer("two").dumps(), encoding="utf-8")
    (folder / "9.text.json").write_text(_layer("nine").dumps(), encoding="utf-8")
    report = import_folder(store, folder)
    assert (report.imported, report.text_layers) == (2, 1)
    skipped = dict(report.skipped)
    assert set(skipped) == {"1.text.json", "9.text.json"}
    assert "not a readable text layer" in skipped["1.text.json"] and "without its image" in skipped["9.text.json"]
    first, second = store.frames(report.session_id)
    assert store.text_layer(first) is None and store.text_layer(second) == _layer("two")
