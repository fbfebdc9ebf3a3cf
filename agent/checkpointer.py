"""Chat memory: LangGraph's checkpointer, one thread per chat session, in SQLite (``DATA_DIR/chat.sqlite``, the
default) or, for deployments shared by many users and processes, in PostgreSQL (``checkpoint_url``; the
``postgres`` extra)."""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

from agent.settings import Settings


class CheckpointError(RuntimeError):
    """The chat memory (the checkpointer's database) cannot be opened; the message says why and what to do."""


POSTGRES_EXTRA = "the Postgres checkpointer needs the extra: pip install 'interarec[postgres]'"
CHECKPOINT_CONNECT_TIMEOUT_S = 5
_SETUP_LOCK = 0x696E7465726172  # advisory lock key ("interar"): one process at a time creates or migrates the tables
_SETUP_WAIT_S = 60


def without_password(url: str) -> str:
    """The URL to show in messages: a password in it (user:password@, ?password=) replaced by ***."""
    parts = urlsplit(url)
    userinfo, at, hosts = parts.netloc.rpartition("@")
    netloc = f"{userinfo.partition(':')[0]}:***@{hosts}" if at and ":" in userinfo else parts.netloc
    query = re.sub(r"(?i)(^|&)(password=)[^&]*", r"\1\2***", parts.query)
    # Built by hand: urlunsplit would drop the empty host of postgresql:///db?host=/run/postgresql.
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "") + (
        f"#{parts.fragment}" if parts.fragment else "")


def open_checkpointer(settings: Settings):
    """LangGraph's checkpointer: one thread of conversation memory per chat session, in the PostgreSQL database
    at ``checkpoint_url`` when set (shared by many users and processes), else in ``DATA_DIR/chat.sqlite``.
    Close it with ``close_checkpointer``."""
    if settings.checkpoint_url:
        return _open_postgres_checkpointer(settings.checkpoint_url)
    import sqlite3

    from langgraph.checkpoint.sqlite import SqliteSaver

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteSaver(sqlite3.connect(settings.data_dir / "chat.sqlite", check_same_thread=False))


def _open_postgres_checkpointer(url: str):
    shown = without_password(url)
    try:
        import psycopg
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.rows import dict_row
    except ImportError as exc:
        raise CheckpointError(f"checkpoint_url is set ({shown}), but {POSTGRES_EXTRA}") from exc
    try:
        # What PostgresSaver.from_conn_string opens (autocommit, dict rows, no prepared statements, which a
        # pgbouncer in transaction mode would break), plus a connect timeout: libpq's default waits for ever.
        conn = psycopg.Connection.connect(url, autocommit=True, prepare_threshold=0, row_factory=dict_row,
                                          connect_timeout=CHECKPOINT_CONNECT_TIMEOUT_S)
    except psycopg.Error as exc:
        reason = " ".join(str(exc).replace(url, shown).split())
        raise CheckpointError(f"cannot open the chat memory at {shown} (connect timeout "
                              f"{CHECKPOINT_CONNECT_TIMEOUT_S} s): {reason}; start the server or fix "
                              "INTERAREC_CHECKPOINT_URL (--checkpoint-url), or unset it to keep chat memory in "
                              "DATA_DIR/chat.sqlite") from exc
    saver = PostgresSaver(conn)
    try:
        _setup_one_at_a_time(conn, saver, shown)
    except psycopg.Error as exc:
        conn.close()
        raise CheckpointError(f"cannot create the chat memory tables at {shown}: {' '.join(str(exc).split())} "
                              "(the user needs CREATE on the database, at least the first time)") from exc
    except CheckpointError:
        conn.close()
        raise
    return saver


def _setup_one_at_a_time(conn, saver, shown: str) -> None:
    """``saver.setup()`` (create or migrate the tables) under a database-wide advisory lock: chats that start at
    once on a new database would otherwise all create the tables, and all but one fail (duplicate key). The lock
    is tried, not waited for: a session blocked in pg_advisory_lock is an open transaction, which the setup's
    CREATE INDEX CONCURRENTLY waits for, a deadlock."""
    deadline = time.monotonic() + _SETUP_WAIT_S
    while not conn.execute("SELECT pg_try_advisory_lock(%s) AS got", (_SETUP_LOCK,)).fetchone()["got"]:
        if time.monotonic() > deadline:
            raise CheckpointError(f"another process has been creating the chat memory tables at {shown} for "
                                  f"{_SETUP_WAIT_S} s; try again, or look at the server's activity")
        time.sleep(0.05)
    try:
        saver.setup()
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_LOCK,))


def close_checkpointer(checkpointer) -> None:
    """Close the database connection of a checkpointer from ``open_checkpointer`` (SQLite or PostgreSQL)."""
    conn = getattr(checkpointer, "conn", None)
    if conn is not None:
        conn.close()
