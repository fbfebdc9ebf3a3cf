"""The optional Postgres checkpointer (INTERAREC_CHECKPOINT_URL, --checkpoint-url): its setting, its error messages
(which never show a password), and chat memory kept in a real PostgreSQL server.

The integration tests use the server at INTERAREC_TEST_POSTGRES_URL when it is set; otherwise they start a
throwaway cluster with Debian's server binaries (/usr/lib/postgresql/*/bin) in a temporary directory on a free
127.0.0.1 port, and stop it afterwards; with neither they are skipped. Each test works in a schema of its own,
so a shared server is left as it was found.
"""

from __future__ import annotations

import glob
import io
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

from agent.checkpointer import POSTGRES_EXTRA, CheckpointError, close_checkpointer, open_checkpointer, without_password
from agent.cli.common import EXIT_ERROR, EXIT_OK, EXIT_USAGE
from agent.cli.main import main
from agent.settings import SettingsError, load_settings
from tests.conftest import free_port

# Read at import: the autouse fixture in conftest.py removes every INTERAREC_* variable before each test.
SERVER_URL = os.environ.get("INTERAREC_TEST_POSTGRES_URL")
NO_SERVER = ("no PostgreSQL server for the checkpointer tests: set INTERAREC_TEST_POSTGRES_URL=postgresql://..., "
             "or install the server binaries (apt-get install postgresql: /usr/lib/postgresql/*/bin/initdb and "
             "pg_ctl) so a throwaway cluster is started")


# -- the setting ---------------------------------------------------------------------------------------------------

def test_unset_means_sqlite_and_postgres_urls_come_from_the_env_or_the_flag(monkeypatch):
    assert load_settings().checkpoint_url is None
    monkeypatch.setenv("INTERAREC_CHECKPOINT_URL", "  postgres://chat@db.internal:5432/interarec ")
    assert load_settings().checkpoint_url == "postgres://chat@db.internal:5432/interarec"
    flag = "postgresql:///interarec?host=/run/postgresql"  # a unix socket: no host in the URL is fine
    assert load_settings(checkpoint_url=flag).checkpoint_url == flag  # the flag wins over the environment
    monkeypatch.setenv("INTERAREC_CHECKPOINT_URL", "")
    assert load_settings().checkpoint_url is None


@pytest.mark.parametrize("url", ["mysql://chat:hunter2@db/interarec", "chat:hunter2@db:5432/interarec",
                                 "http://chat:hunter2@db:5432/"])
def test_a_url_that_is_not_postgres_is_refused_naming_the_setting_but_not_the_password(url):
    with pytest.raises(SettingsError) as caught:
        load_settings(checkpoint_url=url)
    message = str(caught.value)
    assert "checkpoint_url" in message and "postgresql:// or postgres://" in message
    assert "INTERAREC_CHECKPOINT_URL" in message and "--checkpoint-url" in message
    assert "hunter2" not in message


def test_the_chat_command_takes_the_flag_and_reports_a_bad_one_as_a_usage_error(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("help\n"))
    assert main(["chat", "--checkpoint-url", "sqlite:///chat.db"]) == EXIT_USAGE
    assert "must start with postgresql:// or postgres:// (not sqlite:)" in capsys.readouterr().err


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://chat:hunter2@db:5432/interarec", "postgresql://chat:***@db:5432/interarec"),
    ("postgres://chat:p%40ss@h1:5432,h2:5433/x?sslmode=require", "postgres://chat:***@h1:5432,h2:5433/x?sslmode=require"),
    ("postgresql://chat@db/interarec?password=hunter2&sslmode=disable",
     "postgresql://chat@db/interarec?password=***&sslmode=disable"),
    ("postgresql:///interarec?host=/run/postgresql", "postgresql:///interarec?host=/run/postgresql"),
])
def test_messages_show_the_url_without_its_password(url, shown):
    assert without_password(url) == shown


def test_the_evals_settings_record_leaves_the_url_out():
    from evals import run

    source = Path(run.__file__).read_text()
    assert 'exclude={"openai_api_key", "checkpoint_url"}' in source


# -- opening and closing -------------------------------------------------------------------------------------------

def test_sqlite_stays_the_default_and_closes_the_same_way():
    settings = load_settings()
    checkpointer = open_checkpointer(settings)
    assert type(checkpointer).__name__ == "SqliteSaver" and (settings.data_dir / "chat.sqlite").exists()
    close_checkpointer(checkpointer)
    with pytest.raises(sqlite3.ProgrammingError):
        checkpointer.conn.execute("SELECT 1")


def test_without_the_extra_the_error_says_how_to_install_it(monkeypatch, capsys):
    for module in ("psycopg", "psycopg.rows", "langgraph.checkpoint.postgres"):
        monkeypatch.setitem(__import__("sys").modules, module, None)  # as if not installed: import fails
    url = "postgresql://chat:hunter2@127.0.0.1:5432/interarec"
    with pytest.raises(CheckpointError) as caught:
        open_checkpointer(load_settings(checkpoint_url=url))
    assert POSTGRES_EXTRA in str(caught.value) and "hunter2" not in str(caught.value)
    monkeypatch.setattr("sys.stdin", io.StringIO("help\n"))
    assert main(["chat", "--checkpoint-url", url]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert "pip install 'interarec[postgres]'" in err and "hunter2" not in err


def test_a_server_that_is_down_is_named_without_the_password_and_nothing_else_starts(monkeypatch, capsys):
    pytest.importorskip("psycopg", reason=POSTGRES_EXTRA)
    port = free_port()  # nothing listens there
    monkeypatch.setattr("sys.stdin", io.StringIO("help\n"))
    started = time.perf_counter()
    code = main(["chat", "--checkpoint-url", f"postgresql://chat:hunter2@127.0.0.1:{port}/interarec"])
    err = capsys.readouterr().err
    assert code == EXIT_ERROR
    assert f"cannot open the chat memory at postgresql://chat:***@127.0.0.1:{port}/interarec" in err
    assert "hunter2" not in err and "unset it to keep chat memory in DATA_DIR/chat.sqlite" in err
    assert time.perf_counter() - started < 5  # refused at once; the catalog was not even opened


def test_a_server_that_never_answers_times_out(monkeypatch):
    pytest.importorskip("psycopg", reason=POSTGRES_EXTRA)
    monkeypatch.setattr("agent.checkpointer.CHECKPOINT_CONNECT_TIMEOUT_S", 2)  # libpq's smallest; 5 s in real use
    with socket.socket() as silent:  # accepts connections (the kernel does) and never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"postgresql://chat:hunter2@127.0.0.1:{silent.getsockname()[1]}/interarec"
        started = time.perf_counter()
        with pytest.raises(CheckpointError) as caught:
            open_checkpointer(load_settings(checkpoint_url=url))
        waited = time.perf_counter() - started
    assert 1.5 < waited < 15, waited
    assert "(connect timeout 2 s)" in str(caught.value) and "hunter2" not in str(caught.value)


# -- a real server -------------------------------------------------------------------------------------------------

def _server_binaries() -> Path | None:
    found = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")
             if Path(p).with_name("pg_ctl").exists()]
    return max(found, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0) if found else None


@pytest.fixture(scope="module")
def postgres_url():
    """A PostgreSQL server's URL: INTERAREC_TEST_POSTGRES_URL, or a throwaway cluster started for this module."""
    pytest.importorskip("psycopg", reason=POSTGRES_EXTRA)
    if SERVER_URL:
        yield SERVER_URL
        return
    binaries = _server_binaries()
    if binaries is None:
        pytest.skip(NO_SERVER)
    as_user: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="interarec-pg-"))  # not pytest's tmp dir: its parents are root-only
    if os.geteuid() == 0:  # initdb refuses to run as root: run the cluster as the postgres system user
        runuser = shutil.which("runuser")
        if runuser is None:
            pytest.skip(f"running as root without runuser to start the cluster as 'postgres'; {NO_SERVER}")
        try:
            shutil.chown(root, user="postgres")
        except LookupError:
            pytest.skip(f"running as root and there is no 'postgres' user to run the cluster as; {NO_SERVER}")
        as_user = [runuser, "-u", "postgres", "--"]
    data, log = root / "data", root / "server.log"
    port = free_port()

    def run(*command: str) -> None:
        done = subprocess.run([*as_user, *command], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            server_log = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            pytest.fail(f"{' '.join(command)} failed ({done.returncode}): {done.stdout}{done.stderr}{server_log}")

    try:
        run(str(binaries / "initdb"), "-D", str(data), "-U", "interarec", "--auth=trust", "--encoding=UTF8",
            "--locale=C", "--no-sync")
        run(str(binaries / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o",
            f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off -c full_page_writes=off", "start")
        yield f"postgresql://interarec@127.0.0.1:{port}/postgres"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run([*as_user, str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                           capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def checkpoint_url(postgres_url):
    """The server's URL, with its tables in a fresh schema of this test's own (dropped afterwards)."""
    import psycopg

    schema = f"interarec_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    joiner = "&" if "?" in postgres_url else "?"
    yield f"{postgres_url}{joiner}options={quote(f'-csearch_path={schema}', safe='')}"
    with psycopg.connect(postgres_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def _watches_and_mugs():
    from catalog.files import DEMO_PRODUCTS, load_products

    return [p for p in load_products(DEMO_PRODUCTS) if p.category_path[-1] in ("Wrist Watches", "Coffee Mugs")]


def _chat(monkeypatch, capsys, lines: list[str], *flags: str) -> tuple[int, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(f"{line}\n" for line in lines)))
    code = main(["chat", *flags])
    return code, capsys.readouterr().out


def test_a_chat_resumed_by_another_process_keeps_its_memory_in_postgres(checkpoint_url, monkeypatch, capsys,
                                                                        tmp_path):
    from agent import wiring

    # The real `interarec chat`, on part of the demo catalog: embedding all of it would take most of a minute.
    products = _watches_and_mugs()
    monkeypatch.setattr("agent.cli.chat.build_runtime", lambda settings: wiring.build_runtime(settings, products))
    transcript = tmp_path / "chat.jsonl"
    flags = ("--checkpoint-url", checkpoint_url, "--session", "pg-chat", "--transcript", str(transcript))
    code, _ = _chat(monkeypatch, capsys, ["looking for analog wrist watch"], *flags)
    assert code == EXIT_OK
    code, _ = _chat(monkeypatch, capsys, ["under 2000"], *flags)  # a new graph, checkpointer and connection
    assert code == EXIT_OK
    first, second = (json.loads(line) for line in transcript.read_text().splitlines())
    assert first["turn"] == 1 and second["turn"] == 2  # resumed from Postgres, not started again
    # the request parser puts the type first: the same words, kept across processes
    assert second["constraints"]["query"] == first["constraints"]["query"]
    assert sorted(first["constraints"]["query"].split()) == ["analog", "watch", "wrist"]
    assert second["constraints"]["max_price"] == 2000
    assert second["recommendations"] and all(r["price"] <= 2000 for r in second["recommendations"])
    assert not (load_settings().data_dir / "chat.sqlite").exists()  # the memory went to Postgres only


def test_two_threads_stay_apart_across_graph_instances(checkpoint_url):
    from agent.chat.graph import build_chat_graph
    from agent.chat.local_model import LocalChatModel
    from agent.chat.session import ChatSession
    from agent.chat.tools import ChatContext
    from agent.wiring import build_runtime

    settings = load_settings(checkpoint_url=checkpoint_url)
    runtime = build_runtime(settings, products=_watches_and_mugs())
    ctx = ChatContext(runtime)

    def session(thread: str) -> tuple[ChatSession, object]:
        checkpointer = open_checkpointer(settings)
        return ChatSession(build_chat_graph(ctx, LocalChatModel(), checkpointer), thread, 12), checkpointer

    try:
        (watch, cp1), (mug, cp2) = session("pg-watch"), session("pg-mug")
        watch.ask("looking for analog wrist watch")
        mug.ask("looking for printed coffee mug")
        mug.ask("under 400")
        close_checkpointer(cp1)
        close_checkpointer(cp2)

        (watch, cp3), (mug, cp4) = session("pg-watch"), session("pg-mug")  # new graphs over the same database
        try:
            assert [m.content for m in mug.state["messages"] if m.type == "human"] == [
                "looking for printed coffee mug", "under 400"]
            assert [m.content for m in watch.state["messages"] if m.type == "human"] == [
                "looking for analog wrist watch"]
            assert watch.state["constraints"]["max_price"] is None  # the other thread's budget did not leak
            assert mug.state["constraints"]["max_price"] == 400
            again = watch.ask("under 1500")
            assert again.turn == 2 and sorted(again.constraints["query"].split()) == ["analog", "watch", "wrist"]
            assert again.recommendations and all(r["price"] <= 1500 for r in again.recommendations)
            assert sorted(mug.state["constraints"]["query"].split()) == ["coffee", "mug", "printed"]
        finally:
            close_checkpointer(cp3)
            close_checkpointer(cp4)
    finally:
        ctx.close()
        runtime.close()


def test_chats_starting_at_once_on_a_new_database_create_the_tables_once(checkpoint_url):
    settings = load_settings(checkpoint_url=checkpoint_url)
    opened, failed = [], []
    barrier = threading.Barrier(6)

    def start() -> None:
        barrier.wait(timeout=30)
        try:
            opened.append(open_checkpointer(settings))
        except Exception as exc:  # reported below
            failed.append(repr(exc))

    workers = [threading.Thread(target=start) for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    for checkpointer in opened:
        close_checkpointer(checkpointer)
    assert failed == [], "\n".join(failed)
    assert len(opened) == 6
