"""The screenshot database: content-addressed PNG blobs plus SQLite metadata rows."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from PIL import Image

from tools.frames import FrameStore


def _png(colour: tuple[int, int, int], size: tuple[int, int] = (8, 6)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


RED, GREEN, BLUE = _png((255, 0, 0)), _png((0, 255, 0)), _png((0, 0, 255))


def _blob_files(root: Path) -> list[Path]:
    return sorted(p for p in (root / "blobs").rglob("*") if p.is_file())


@pytest.fixture
def store(tmp_path):
    frames = FrameStore(tmp_path / "frames")
    yield frames
    frames.close()


def test_bytes_are_stored_under_their_hash(store):
    session = store.new_session("test")
    frame = store.add(session, RED)
    sha = hashlib.sha256(RED).hexdigest()
    assert frame.sha256 == sha
    assert Path(frame.path) == store.root / "blobs" / sha[:2] / f"{sha}.png"
    assert Path(frame.path).read_bytes() == RED
    assert _blob_files(store.root) == [Path(frame.path)]  # no temp file left behind


def test_same_bytes_make_one_file_and_a_duplicate_reference(store):
    session = store.new_session("test")
    first = store.add(session, RED, reason="navigation")
    second = store.add(session, RED, reason="interval")
    third = store.add(session, GREEN)
    fourth = store.add(session, RED)

    assert first.duplicate_of is None
    assert second.duplicate_of == first.frame_id
    assert fourth.duplicate_of == first.frame_id  # points at the original, not at another duplicate
    assert third.duplicate_of is None
    assert second.path == first.path
    assert len(_blob_files(store.root)) == 2


def test_same_bytes_in_another_session_share_the_blob_but_are_not_duplicates(store):
    a, b = store.new_session("a"), store.new_session("b")
    in_a = store.add(a, BLUE)
    in_b = store.add(b, BLUE)
    assert in_b.duplicate_of is None  # duplicates are per session
    assert in_a.path == in_b.path
    assert len(_blob_files(store.root)) == 1


def test_metadata_round_trip(store):
    session = store.new_session("persona:watch-buyer")
    added = store.add(session, RED, url="http://127.0.0.1:8000/p/w1", title="Titan watch | InteraShop",
                      width=1280, height=800, scroll_y=450, reason="scroll")
    [read] = store.frames(session)
    assert read == added
    assert (read.url, read.title, read.width, read.height, read.scroll_y, read.reason) == (
        "http://127.0.0.1:8000/p/w1", "Titan watch | InteraShop", 1280, 800, 450, "scroll")
    assert read.frame_id == f"{session}:0"
    assert read.session_id == session


def test_sequence_numbers_are_per_session(store):
    a, b = store.new_session("a"), store.new_session("b")
    assert [store.add(a, png).sequence for png in (RED, GREEN)] == [0, 1]
    assert store.add(b, BLUE).sequence == 0
    assert store.add(a, BLUE).sequence == 2
    assert [f.sequence for f in store.frames(a)] == [0, 1, 2]
    assert [f.frame_id for f in store.frames(b)] == [f"{b}:0"]


def test_unique_only_skips_duplicates(store):
    session = store.new_session("test")
    for png in (RED, RED, GREEN, RED, GREEN, BLUE):
        store.add(session, png)
    assert [f.sequence for f in store.frames(session)] == [0, 1, 2, 3, 4, 5]
    unique = store.frames(session, unique_only=True)
    assert [f.sequence for f in unique] == [0, 2, 5]
    assert all(f.duplicate_of is None for f in unique)


def test_unknown_session_has_no_frames(store):
    assert store.frames("no-such-session") == []


def test_sessions_listing(store):
    assert store.sessions() == []
    a = store.new_session("demo")
    b = store.new_session("persona:mug-gifter")
    sessions = store.sessions()
    assert sorted((sid, source) for sid, _, source in sessions) == sorted([(a, "demo"), (b, "persona:mug-gifter")])
    assert a != b
    created = [at for _, at, _ in sessions]
    assert created == sorted(created)  # oldest first


def test_reopening_the_store_from_disk(tmp_path):
    root = tmp_path / "frames"
    first = FrameStore(root)
    session = first.new_session("demo")
    written = [first.add(session, png, url=f"http://127.0.0.1/{i}", scroll_y=i * 100)
               for i, png in enumerate((RED, GREEN, RED))]
    first.close()

    reopened = FrameStore(root)
    try:
        assert [sid for sid, _, _ in reopened.sessions()] == [session]
        assert reopened.frames(session) == written
        assert Path(reopened.frames(session)[1].path).read_bytes() == GREEN
        # adding continues the sequence and still detects duplicates of frames written before the reopen
        more = reopened.add(session, GREEN)
        assert more.sequence == 3
        assert more.duplicate_of == written[1].frame_id
    finally:
        reopened.close()
