"""Faults and how each ends: a hung Chromium, a model endpoint that fails or answers garbage, a disk that fills
while a screenshot is written, and Ctrl-C in the middle of a chat turn.

Each test checks the bound (retries, time), the message, the fallback where there is one, that nothing is lost
or half-written, and that work can go on afterwards. A missing, damaged or locked catalog store is in
test_store_faults.py; killing Chromium outright in tests/capture/test_capture.py; 429s, 503s, timeouts and answers
that are not summaries in tests/agent/mllm/test_mllm_summariser.py."""

from __future__ import annotations

import errno
import io
import json
import os
import pathlib
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import openai
import pytest
from PIL import Image

import tests.fake_openai as fake_openai
from agent.cli.main import main
from agent.mllm.summariser import MllmSummariser
from tests.capture.test_capture import _check_database
from tests.conftest import requires_chromium
from tests.fake_openai import FakeOpenAI, chat_completion, error
from tools.capture.frames import FrameStore
from tools.perception.summariser import SummariserError

QUICK_RETRY = {"headers": {"retry-after-ms": "10"}}  # the openai client honours it: no long backoff
SUMMARY = {"product_characteristics": {"types": [{"value": "Wrist Watches", "frame_ids": ["s:0"]}]},
           "price_range": {"lowest": 500, "highest": 900, "currency": "INR"}}


def _png(seed: int, size: tuple[int, int] = (96, 64)) -> bytes:
    buffer = io.BytesIO()
    pixels = np.random.default_rng(seed).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _processes_with(argument: str) -> list[int]:
    """Processes whose command line holds ``argument`` (an inert switch that marks this test's Chromium)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if argument.encode() in (entry / "cmdline").read_bytes().split(b"\0"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def _kill_groups(groups: set[int]) -> None:
    for group in groups:
        try:
            os.killpg(group, signal.SIGKILL)
        except OSError:
            pass


def _frame_count(database: Path) -> int:
    if not database.exists():
        return 0
    with sqlite3.connect(database) as db:
        try:
            return db.execute("SELECT COUNT(*) FROM frames").fetchone()[0]
        except sqlite3.OperationalError:  # the table is not created yet
            return 0




# -- Chromium hangs -----------------------------------------------------------------------------------------


@requires_chromium
@pytest.mark.browser
def test_a_hung_chromium_is_killed_within_the_bound_and_the_session_ends_interrupted_with_its_frames(tmp_path):
    """SIGSTOP freezes every Chromium process mid-capture: Playwright's evaluate would wait forever; the
    watchdog kills the browser after 3 navigation timeouts + 5 s (14 s here) without progress."""
    marker = f"--interarec-hang-test-{os.getpid()}-{time.monotonic_ns()}"
    env = {**os.environ, "INTERAREC_DATA_DIR": str(tmp_path / "data"), "INTERAREC_NAVIGATION_TIMEOUT_S": "3",
           "INTERAREC_CHROMIUM_ARGS": json.dumps([marker])}
    process = subprocess.Popen(
        [sys.executable, "-m", "agent.cli.main", "capture", "--persona", "watch-buyer", "--seconds", "120", "--json"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    database = tmp_path / "data" / "frames" / "frames.sqlite"
    groups: set[int] = set()
    try:
        deadline = time.monotonic() + 90
        while _frame_count(database) < 4:
            assert time.monotonic() < deadline and process.poll() is None, "the capture never stored 4 frames"
            time.sleep(0.2)
        groups = {os.getpgid(pid) for pid in _processes_with(marker)}
        assert groups, "no Chromium process carried the marker switch"
        for group in groups:
            os.killpg(group, signal.SIGSTOP)
        stopped = time.monotonic()
        out, err = process.communicate(timeout=90)
        took = time.monotonic() - stopped
    finally:
        _kill_groups(groups)  # SIGKILL ends stopped processes too
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 1, err
    assert took < 14 + 15, took  # the limit, plus closing and writing the report on a busy machine
    assert "stopped responding" in err and "kept" in err
    report = json.loads(out)
    assert report["status"] == "interrupted" and report["note"].startswith("Chromium stopped responding")
    rows = _check_database(str(database), report["session_id"], report)
    assert len(rows) >= 4
    assert not _processes_with(marker)  # nothing of that browser is left running or frozen


# -- the disk fills while a screenshot is written -------------------------------------------------------------


class _HalfWriter:
    """A file that takes half of what is written to it, then reports a full disk."""

    def __init__(self, real, seen: list[int]) -> None:  # noqa: ANN001
        self.real, self.seen = real, seen

    def __enter__(self) -> _HalfWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.real.close()

    def write(self, data: bytes) -> int:
        self.real.write(data[: len(data) // 2])
        self.real.flush()
        self.seen.append(os.fstat(self.real.fileno()).st_size)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _files(store: FrameStore) -> list[Path]:
    return sorted(p for p in store.blobs.rglob("*") if p.is_file())


def test_a_full_disk_while_a_blob_is_written_leaves_no_partial_file_and_no_row_and_the_session_goes_on(
        tmp_path, monkeypatch):
    store = FrameStore(tmp_path / "frames")
    session = store.new_session("test")
    first = store.add(session, _png(1))
    real_open, partial, full = pathlib.Path.open, [], [True]

    def full_disk_open(self, mode="r", *args, **kwargs):  # noqa: ANN001, ANN202
        handle = real_open(self, mode, *args, **kwargs)
        blob = "w" in mode and self.parent.parent == store.blobs
        return _HalfWriter(handle, partial) if blob and full[0] else handle

    monkeypatch.setattr(pathlib.Path, "open", full_disk_open)
    with pytest.raises(OSError, match="No space left"):
        store.add(session, _png(2))
    full[0] = False
    assert partial and partial[0] > 0  # half a file was on disk when the write failed ...
    assert _files(store) == [Path(first.path)]  # ... and neither it nor a blob under its hash is left
    assert [f.frame_id for f in store.frames(session)] == [first.frame_id]  # no row without its file

    again = store.add(session, _png(2))  # space is back: the session carries on, without a gap
    assert again.sequence == 1 and again.duplicate_of is None
    assert Path(again.path).read_bytes() == _png(2)


@requires_chromium
@pytest.mark.browser
def test_a_capture_whose_disk_fills_ends_interrupted_with_the_frames_so_far(tmp_path, monkeypatch):
    from agent.settings import load_settings
    from agent.wiring import browser_config, start_demo_shop
    from tools.capture.personas import PERSONAS
    from tools.capture.session import capture_script

    store = FrameStore(tmp_path / "frames")
    add = store.add

    def add_until_full(*args, **kwargs):  # noqa: ANN202
        if len(store.frames(args[0])) >= 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return add(*args, **kwargs)

    monkeypatch.setattr(store, "add", add_until_full)
    with start_demo_shop() as shop:
        report = capture_script(browser_config(load_settings()), store, PERSONAS["watch-buyer"], shop.url, 20,
                                pace_s=0.2)
    assert report.status == "interrupted" and "No space left" in report.note
    assert len(store.frames(report.session_id)) == 3


class _FullDatabase:
    """The frame store's connection, except that recording a frame (or ending a deletion) finds the disk full."""

    def __init__(self, db: sqlite3.Connection, failing: str) -> None:
        self._db, self._failing = db, failing

    def execute(self, sql: str, *args):  # noqa: ANN202
        if sql.lstrip().startswith(self._failing):
            raise sqlite3.OperationalError("database or disk is full")
        return self._db.execute(sql, *args)

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self._db, name)


def test_a_full_database_keeps_no_orphan_file_and_no_phantom_frame_to_be_a_duplicate_of(tmp_path):
    store = FrameStore(tmp_path / "frames")
    session = store.new_session("test")
    store.add(session, _png(1))
    real = store._db
    store._db = _FullDatabase(real, "INSERT INTO frames")
    with pytest.raises(sqlite3.OperationalError, match="full"):
        store.add(session, _png(2))
    store._db = real
    assert len(_files(store)) == 1  # the new file went with its row
    retry = store.add(session, _png(2))  # the same screen again: stored afresh, not a reference to nothing
    assert retry.duplicate_of is None and retry.sequence == 1 and Path(retry.path).exists()
    repeat = store.add(session, _png(2))
    assert repeat.duplicate_of == retry.frame_id


def test_a_deletion_that_fails_half_way_changes_nothing_and_leaves_no_transaction_open(tmp_path):
    store = FrameStore(tmp_path / "frames")
    session = store.new_session("test")
    frames = [store.add(session, _png(seed)) for seed in (1, 2)]
    real = store._db
    store._db = _FullDatabase(real, "DELETE FROM sessions")
    with pytest.raises(sqlite3.OperationalError):
        store.delete_session(session)
    store._db = real
    assert not real.in_transaction
    assert [f.frame_id for f in store.frames(session)] == [f.frame_id for f in frames]
    other = FrameStore(tmp_path / "frames")  # another writer is not locked out
    other.new_session("another")
    assert store.delete_session(session) == 2 and _files(store) == []


# -- the vision model endpoint ------------------------------------------------------------------------------


@pytest.fixture
def screens(tmp_path):
    store = FrameStore(tmp_path / "frames")
    session = store.new_session("test")
    yield [store.add(session, _png(seed, (320, 200))) for seed in (1, 2)]
    store.close()


def _vision(server: FakeOpenAI, max_retries: int = 2) -> MllmSummariser:
    client = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=max_retries, timeout=5)
    return MllmSummariser(client, "fake-vision", mode="json_schema")


def test_a_server_error_then_an_answer_is_retried_and_used(screens):
    with FakeOpenAI([(500, error("upstream hiccup"), QUICK_RETRY),
                     (200, chat_completion(json.dumps(SUMMARY)))]) as server:
        summariser = _vision(server)
        summary = summariser.summarise(screens)
    assert summary.price_range.highest == 900 and summariser.usage[-1]["retries"] == 1


@pytest.mark.parametrize("body", ["<html><body>502 Bad Gateway</body></html>", [1, 2], {"id": "no choices"}])
def test_an_answer_that_is_not_a_chat_completion_names_the_endpoint_and_model(screens, body):
    with FakeOpenAI([(200, body)]) as server, pytest.raises(SummariserError) as caught:
        _vision(server).summarise(screens)
    message = str(caught.value)
    assert server.base_url in message and "fake-vision" in message
    assert "not a chat completion" in message or "empty answer" in message


def test_browse_and_recommend_falls_back_to_the_offline_reader_and_says_so(env, monkeypatch, capsys, caplog,
                                                                           tmp_path):
    from agent.settings import load_settings
    from tools.capture.frame_io import import_folder

    folder = tmp_path / "shots"
    folder.mkdir()
    for seed in (1, 2):
        (folder / f"{seed}.png").write_bytes(_png(seed, (320, 200)))
    frames = FrameStore(load_settings().frames_path)
    session = import_folder(frames, folder).session_id
    frames.close()
    down = (503, error("model is loading"), QUICK_RETRY)
    with FakeOpenAI([down] * 4) as server:  # the probe, tried 1 + 3 times by the client
        monkeypatch.setenv("INTERAREC_OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("INTERAREC_OPENAI_API_KEY", "local")
        monkeypatch.setenv("INTERAREC_VISION_MODEL", "fake-vision")
        code = main(["recommend", "--session", session, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    result = json.loads(captured.out)
    summariser = result["summary"]["summariser"]
    assert "offline-screen-reader" in summariser and "fallback; the MLLM failed" in summariser
    assert "HTTP 503 after 4 attempt(s)" in summariser
    assert "offline screen reader if it fails" in result["backends"]["summariser"]
    warning = caplog.text  # on stderr in a terminal: the CLI logs warnings there
    assert "reading the screenshots with the offline screen reader instead" in warning and server.base_url in warning
    assert len(server.requests) == 4  # bounded: the client's retries, then no more


# -- the chat model endpoint -------------------------------------------------------------------------------


def _checkpoint_messages(data_dir: Path, thread: str) -> list:
    from langgraph.checkpoint.sqlite import SqliteSaver

    with sqlite3.connect(data_dir / "chat.sqlite") as conn:
        saved = SqliteSaver(conn).get_tuple({"configurable": {"thread_id": thread}})
    return saved.checkpoint["channel_values"]["messages"] if saved else []


def test_a_chat_model_endpoint_that_fails_or_answers_garbage_is_answered_by_the_rules_and_the_chat_goes_on(
        env, monkeypatch, capsys):
    streamed = fake_openai._as_event_stream
    monkeypatch.setattr(fake_openai, "_as_event_stream", lambda answer: answer.encode() if isinstance(answer, str)
                        else streamed(answer))  # lets a script entry be raw bytes on the wire
    script = [(500, error("overloaded"), QUICK_RETRY)] * 4 + [
        (200, "data: {not json\n\n"),
        (200, "data: [DONE]\n\n"),  # a stream with no chunk (llama.cpp with tools) is asked again, unstreamed
        (200, chat_completion("Asked again.")),
        (200, chat_completion("Still here."))]
    with FakeOpenAI(script) as server:
        monkeypatch.setenv("INTERAREC_OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("INTERAREC_OPENAI_API_KEY", "local")
        monkeypatch.setenv("INTERAREC_CHAT_MODEL", "fake-chat")
        monkeypatch.setattr("sys.stdin", io.StringIO("hello\nhello again\nand again\nare you there\n"))
        code = main(["chat", "--session", "t-endpoint-faults"])
    out = capsys.readouterr().out
    assert code == 0
    # the local rules model answers the turns the endpoint fails, and says so (agent/chat/graph.py)
    where = "(answered by the local rules model: fake-chat"
    assert f"{where} failed with HTTP 500" in out
    assert out.count(f"{where} answered with something that is not a chat completion") == 1
    assert "interarec> Asked again." in out and "interarec> Still here." in out
    assert len(server.requests) == 8  # 4 attempts for the 500s, garbage is not retried, the empty stream once
    messages = _checkpoint_messages(env, "t-endpoint-faults")
    assert [m.content for m in messages if m.type == "human"] == ["hello", "hello again", "and again",
                                                                  "are you there"]
    assert messages[-1].content == "Still here."


# -- Ctrl-C in the middle of a chat turn ---------------------------------------------------------------------


def _lines(stream, into: queue.Queue) -> None:  # noqa: ANN001
    for line in stream:
        into.put(line)
    into.put(None)


@requires_chromium
@pytest.mark.browser
def test_ctrl_c_during_a_chat_turn_exits_130_with_the_conversation_saved_and_resumable(env, tmp_path):
    from agent.settings import load_settings
    from agent.wiring import ensure_demo_catalog, open_store
    from catalog.files import DEMO_PRODUCTS, load_products

    # The catalog is stored first, so the chat starts browsing at once.
    ensure_demo_catalog(open_store(load_settings()), load_products(DEMO_PRODUCTS))
    marker = f"--interarec-sigint-test-{os.getpid()}-{time.monotonic_ns()}"
    environment = {**os.environ, "INTERAREC_CHROMIUM_ARGS": json.dumps([marker])}
    transcript = tmp_path / "chat.jsonl"
    command = [sys.executable, "-m", "agent.cli.main", "chat", "--transcript", str(transcript)]
    process = subprocess.Popen([*command, "--session", "t-sigint"], env=environment, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    errors: queue.Queue = queue.Queue()
    threading.Thread(target=_lines, args=(process.stderr, errors), daemon=True).start()
    seen = []
    try:
        process.stdin.write("browse as watch-buyer\n")
        process.stdin.flush()
        deadline = time.monotonic() + 120
        while not any("-> browse(" in line for line in seen):
            seen.append(errors.get(timeout=max(0.1, deadline - time.monotonic())) or "")
            assert seen[-1] or process.poll() is None, "".join(seen)
        while not _processes_with(marker):  # the turn is under way: Chromium browses
            assert time.monotonic() < deadline, "".join(seen)
            time.sleep(0.1)
        time.sleep(1.5)
        process.send_signal(signal.SIGINT)
        interrupted = time.monotonic()
        process.wait(timeout=60)
        took = time.monotonic() - interrupted
        out = process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        _kill_groups({os.getpgid(pid) for pid in _processes_with(marker)})
    while (line := errors.get(timeout=5)) is not None:
        seen.append(line)
    err = "".join(seen)
    assert process.returncode == 130, err
    assert took < 20, took
    assert "interrupted; the conversation so far is saved: interarec chat --session t-sigint" in err
    assert "you> browse as watch-buyer" in out  # (a Ctrl-C inside a Playwright callback also prints its trace)
    assert not _processes_with(marker)  # the browser went with the chat

    messages = _checkpoint_messages(env, "t-sigint")
    assert [m.type for m in messages] == ["human", "ai", "tool", "ai"]  # the open tool call was answered
    assert messages[0].content == "browse as watch-buyer" and messages[1].tool_calls[0]["name"] == "browse"
    assert messages[2].status == "error" and "interrupted by the user" in messages[2].content

    resumed = subprocess.run([*command, "--session", "t-sigint"], input="not Maxima\n", env=environment,
                             capture_output=True, text=True, timeout=180)
    assert resumed.returncode == 0, resumed.stderr
    assert "session t-sigint (resumed after 1 turns)" in resumed.stderr
    turn = json.loads(transcript.read_text().splitlines()[-1])
    assert turn["thread"] == "t-sigint" and turn["turn"] == 2 and turn["user"] == "not Maxima"
    assert [m.content for m in _checkpoint_messages(env, "t-sigint") if m.type == "human"] == [
        "browse as watch-buyer", "not Maxima"]
