"""The embedded store: the eventsourcing library's SQLite recorders, plus the chain.

Set up once here: WAL journal, ``synchronous=FULL`` (a committed touchpoint survives a
power cut), a busy timeout so writers queue instead of failing, and ``secure_delete`` so a
destroyed key is overwritten on disk rather than left in a free page.

Besides the library's ``stored_events`` table the store holds:
- ``event_chain``: one tamper-evidence link per event, written in the same transaction;
- ``subject_keys``: per-subject keys for crypto-shredding, apart from the events;
- ``touchpoints``: producer ids already recorded (idempotency) with a content digest;
- ``checkpoints``: signed heads of the chain.

:func:`inspect` looks at a path before any of this is set up, opening nothing for writing:
the store refuses a folder, a file that is not SQLite, and another application's database.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote
from uuid import UUID

from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.sqlite import (
    SQLiteConnection,
    SQLiteConnectionPool,
    SQLiteCursor,
    SQLiteDatastore,
    SQLiteFactory,
    SQLiteProcessRecorder,
)
from eventsourcing.utils import Environment, EnvType

from orchestrator.errors import UsageError
from orchestrator.persistence import chain

BUSY_TIMEOUT_SECONDS = 300
READ_ONLY = "ORCHESTRATOR_READ_ONLY"

EXTRA_TABLES = (
    "CREATE TABLE IF NOT EXISTS event_chain ("
    "position INTEGER PRIMARY KEY, previous INTEGER NOT NULL, link BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS subject_keys ("
    "subject_id TEXT PRIMARY KEY, key BLOB NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS touchpoints ("
    "id TEXT PRIMARY KEY, digest BLOB NOT NULL, position INTEGER NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS checkpoints ("
    "position INTEGER PRIMARY KEY, link BLOB NOT NULL, created_at TEXT NOT NULL, "
    "public_key BLOB, signature BLOB)",
)


class LedgerConnectionPool(SQLiteConnectionPool):
    def __init__(self, *, read_only: bool, **kwargs: Any):
        self.read_only = read_only
        super().__init__(**kwargs)

    def _create_connection(self) -> SQLiteConnection:
        if self.read_only:
            return self._create_read_only_connection()
        connection = super()._create_connection()
        raw = connection._sqlite_conn
        raw.execute("PRAGMA synchronous=FULL")
        raw.execute("PRAGMA secure_delete=ON")
        raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
        return connection

    def _create_read_only_connection(self) -> SQLiteConnection:
        # An auditor's connection: the file is opened with mode=ro, so no statement
        # issued through it can change the store, whatever the code above it does.
        raw = sqlite3.connect(
            read_only_uri(self.db_name), uri=True, check_same_thread=False,
            isolation_level=None, timeout=BUSY_TIMEOUT_SECONDS,
        )
        raw.row_factory = sqlite3.Row
        raw.execute("PRAGMA query_only=ON")
        return SQLiteConnection(sqlite_conn=raw, max_age=self.max_age)


def read_only_uri(path: str) -> str:
    """``path`` as an SQLite URI opened read-only ('?', '#' and '%' in the name quoted, so
    they stay part of the name)."""
    return f"file:{quote(path)}?mode=ro"


def inspect(path: str, *, read_only: bool) -> tuple[frozenset[str] | None, str, str]:
    """What is at ``path``, found without writing anything: the names of its tables (None
    when there is no file), the place as messages name it, and why there is no store
    when there is none. A path that cannot hold a store raises :class:`UsageError`."""
    if os.path.isdir(path):
        raise UsageError(f"{path} is a folder; a store is an SQLite file, such as "
                         f"{os.path.join(path, 'orchestrator.db')}")
    if not os.path.exists(path):
        folder = os.path.dirname(os.path.abspath(path))
        if not read_only and not os.path.isdir(folder):
            raise UsageError(f"cannot make a store at {path}: the folder {folder} "
                             "does not exist")
        return None, path, "the file does not exist"
    if not os.path.isfile(path):
        raise UsageError(f"{path} is not a regular file; a store is an SQLite file")
    # The header is read through SQLite, never with open(): closing any other descriptor
    # of the database file drops every POSIX lock this process holds on it, so another
    # process could take this process's open connections for gone and reset the WAL
    # under them ("disk I/O error"; sqlite.org/howtocorrupt.html, 2.2). A process that
    # keeps a connection open (the live service) opens stores all the time.
    if not os.access(path, os.R_OK):
        raise UsageError(f"cannot read {path}: permission denied") from None
    try:
        connection = sqlite3.connect(read_only_uri(path), uri=True,
                                     timeout=BUSY_TIMEOUT_SECONDS)
        try:
            rows = connection.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')").fetchall()
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        if "file is not a database" in str(error):
            raise UsageError(f"{path} is not an SQLite database; refusing to use it, "
                             "nothing was written") from None
        raise UsageError(f"{path} is not a readable SQLite database ({error}); refusing "
                         "to use it") from None
    except sqlite3.Error as error:
        raise UsageError(f"{path} is not a readable SQLite database ({error}); refusing "
                         "to use it") from None
    tables = frozenset(name for (name,) in rows if not name.startswith("sqlite_"))
    return tables, path, "the database is empty"


class LedgerDatastore(SQLiteDatastore):
    def __init__(self, db_name: str, *, read_only: bool = False):
        super().__init__(db_name, lock_timeout=BUSY_TIMEOUT_SECONDS)
        self.pool.close()
        self.pool = LedgerConnectionPool(
            read_only=read_only, db_name=db_name, lock_timeout=BUSY_TIMEOUT_SECONDS,
        )
        self.read_only = read_only


class ChainedSQLiteRecorder(SQLiteProcessRecorder):
    """The library's recorder; every insert also extends the chain, in the same
    transaction. SQLite has one writer at a time, so the head read here is the head."""

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *EXTRA_TABLES]

    def create_table(self) -> None:
        # Two processes opening a fresh file at once both try to write the library's
        # tracking-migration row; the loser finds the tables made and simply goes on.
        try:
            super().create_table()
        except IntegrityError:
            self.tracking_table_exists = True
            self.tracking_migration_previous = self.tracking_migration_current = 1

    def _insert_events(self, c: SQLiteCursor, stored_events: Sequence[StoredEvent],
                       **kwargs: Any) -> Sequence[int] | None:
        tracking = kwargs.get("tracking")
        if tracking is not None:
            self._insert_tracking(c, tracking)
        positions = self._insert_rows(c, stored_events)
        if positions:
            previous, head = SQLiteTables(c).chain_head()
            c.executemany("INSERT INTO event_chain (position, previous, link) VALUES (?, ?, ?)",
                          chain.extend(previous, head, positions, stored_events))
        return positions

    def _insert_rows(self, c: SQLiteCursor, stored_events: Sequence[StoredEvent]) -> list[int]:
        """One executemany instead of the library's row-by-row inserts. The rowids are
        known without asking for each: the writer lock is held, and SQLite gives a new row
        max(rowid) + 1, so a batch takes the next consecutive positions (checked below)."""
        if not stored_events:
            return []
        c.execute(self.select_max_notification_id_statement)
        first = (c.fetchone()[0] or 0) + 1
        c.executemany(self.insert_events_statement, [
            (s.originator_id.hex if isinstance(s.originator_id, UUID) else s.originator_id,
             s.originator_version, s.topic, s.state) for s in stored_events])
        last = first + len(stored_events) - 1
        c.execute(self.select_max_notification_id_statement)
        if c.fetchone()[0] != last:
            raise IntegrityError("event positions were not consecutive; write refused")
        return list(range(first, last + 1))


class Factory(SQLiteFactory):
    """Found by eventsourcing through ``PERSISTENCE_MODULE=orchestrator.persistence.sqlite``."""

    application_recorder_class = ChainedSQLiteRecorder
    process_recorder_class = ChainedSQLiteRecorder

    def __init__(self, env: Environment | EnvType | None):
        super().__init__(env)
        self.datastore.close()
        read_only = (self.env.get(READ_ONLY) or "") == "1"
        self.datastore = LedgerDatastore(self.env.get(self.SQLITE_DBNAME), read_only=read_only)

    def env_create_table(self) -> bool:
        return not self.datastore.read_only and super().env_create_table()

    def application_recorder(self) -> ChainedSQLiteRecorder:  # type: ignore[override]
        recorder = ChainedSQLiteRecorder(datastore=self.datastore)
        if self.env_create_table():
            recorder.create_table()
        return recorder

    process_recorder = application_recorder  # type: ignore[assignment]


class SQLiteTables:
    """The store's own tables, read and written through one cursor (one transaction)."""

    def __init__(self, cursor: SQLiteCursor):
        self.c = cursor

    def _in(self, values: Sequence[Any]) -> str:
        return ",".join("?" * len(values))

    def touchpoint_digests(self, ids: Sequence[str]) -> dict[str, bytes]:
        if not ids:
            return {}
        self.c.execute(f"SELECT id, digest FROM touchpoints WHERE id IN ({self._in(ids)})",
                       list(ids))
        return {row[0]: bytes(row[1]) for row in self.c.fetchall()}

    def touchpoint_positions(self, ids: Sequence[str]) -> dict[str, int]:
        if not ids:
            return {}
        self.c.execute(f"SELECT id, position FROM touchpoints WHERE id IN ({self._in(ids)})",
                       list(ids))
        return {row[0]: row[1] for row in self.c.fetchall()}

    def record_touchpoints(self, rows: Iterable[tuple[str, bytes, int]]) -> None:
        self.c.executemany("INSERT INTO touchpoints (id, digest, position) VALUES (?, ?, ?)",
                           list(rows))

    def stream_versions(self, streams: Sequence[UUID]) -> dict[UUID, int]:
        if not streams:
            return {}
        self.c.execute(
            "SELECT originator_id, MAX(originator_version) FROM stored_events "
            f"WHERE originator_id IN ({self._in(streams)}) GROUP BY originator_id",
            [s.hex for s in streams],
        )
        return {UUID(row[0]): row[1] for row in self.c.fetchall()}

    def stored_events(self, streams: Sequence[UUID]) -> list[StoredEvent]:
        """Every stored event of ``streams`` in one query, by stream then version."""
        if not streams:
            return []
        self.c.execute(
            "SELECT originator_id, originator_version, topic, state FROM stored_events "
            f"WHERE originator_id IN ({self._in(streams)}) "
            "ORDER BY originator_id, originator_version",
            [s.hex for s in streams],
        )
        return [StoredEvent(originator_id=UUID(row[0]), originator_version=row[1],
                            topic=row[2], state=row[3]) for row in self.c.fetchall()]

    def load_keys(self, subjects: Iterable[UUID]) -> dict[UUID, bytes]:
        hexes = [s.hex for s in subjects]
        if not hexes:
            return {}
        self.c.execute(
            f"SELECT subject_id, key FROM subject_keys WHERE subject_id IN ({self._in(hexes)})",
            hexes,
        )
        return {UUID(row[0]): bytes(row[1]) for row in self.c.fetchall()}

    def create_keys(self, keys: Mapping[UUID, bytes]) -> None:
        self.c.executemany("INSERT INTO subject_keys (subject_id, key) VALUES (?, ?)",
                           [(s.hex, k) for s, k in keys.items()])

    def delete_keys(self, subjects: Iterable[UUID]) -> int:
        hexes = [s.hex for s in subjects]
        if not hexes:
            return 0
        # A tombstone, not a deletion: the row says the subject was erased, so no new key
        # is made for it (its old blobs must keep reading as erased).
        self.c.execute("UPDATE subject_keys SET key = X'' WHERE length(key) > 0 AND "
                       f"subject_id IN ({self._in(hexes)})", hexes)
        return self.c.sqlite_cursor.rowcount

    def chain_links(self, after: int, limit: int) -> list[tuple[int, int, bytes]]:
        return self._tuples("SELECT position, previous, link FROM event_chain "
                            "WHERE position > ? ORDER BY position LIMIT ?", (after, limit))

    def _tuples(self, statement: str, params: Sequence[Any]) -> list[Any]:
        """Rows as plain tuples (BLOBs come back as bytes), through a cursor of the same
        connection without the library's ``sqlite3.Row`` factory: the bulk reads
        (``audit verify``, reading the log) build no row object per row."""
        cursor = self.c.sqlite_cursor.connection.cursor()
        cursor.row_factory = None
        try:
            cursor.execute(statement, params)
            return cursor.fetchall()
        finally:
            cursor.close()

    def chain_head(self) -> tuple[int, bytes]:
        self.c.execute("SELECT position, link FROM event_chain ORDER BY position DESC LIMIT 1")
        row = self.c.fetchone()
        return (row[0], bytes(row[1])) if row else (0, chain.GENESIS)


    def raw_events(self, after: int, limit: int) -> list[tuple[int, str, int, str, bytes]]:
        """Stored rows as they are (the stream id as its stored hex text)."""
        self.c.execute("SELECT rowid, originator_id, originator_version, topic, state "
                       "FROM stored_events WHERE rowid > ? ORDER BY rowid LIMIT ?",
                       (after, limit))
        return [tuple(r) for r in self.c.fetchall()]

    def raw_events_with_keys(self, after: int, limit: int
                             ) -> list[tuple[int, str, int, str, bytes, bytes | None]]:
        """``raw_events``, each with its subject's key (None when it has none), read in the
        same query: ``audit verify`` opens every sealed blob without a look-up per subject."""
        return self._tuples("SELECT e.rowid, e.originator_id, e.originator_version, e.topic, "
                            "e.state, k.key FROM stored_events e LEFT JOIN subject_keys k "
                            "ON k.subject_id = e.originator_id WHERE e.rowid > ? "
                            "ORDER BY e.rowid LIMIT ?", (after, limit))

    def log_rows_with_keys(self, after: int, limit: int, upto: int | None = None,
                           topics: Sequence[str] = ()
                           ) -> list[tuple[int, str, int, str, bytes, bytes | None]]:
        """The notification log after ``after`` (up to ``upto``, of ``topics`` only when
        given), each row with its subject's key, as plain tuples: what reading the log
        decodes, in one query a page."""
        where, params = "e.rowid > ?", [after]
        if upto is not None:
            where += " AND e.rowid <= ?"
            params.append(upto)
        if topics:
            where += f" AND e.topic IN ({self._in(topics)})"
            params.extend(topics)
        params.append(limit)
        return self._tuples("SELECT e.rowid, e.originator_id, e.originator_version, e.topic, "
                            "e.state, k.key FROM stored_events e LEFT JOIN subject_keys k "
                            f"ON k.subject_id = e.originator_id WHERE {where} "
                            "ORDER BY e.rowid LIMIT ?", params)

    # Copying a whole store (``store copy``): rows as they are, positions kept. --------

    def holds_anything(self) -> bool:
        """Whether any event, key, touchpoint or checkpoint is here (a copy's target must
        hold none)."""
        self.c.execute("SELECT EXISTS (SELECT 1 FROM stored_events) OR EXISTS (SELECT 1 "
                       "FROM subject_keys) OR EXISTS (SELECT 1 FROM touchpoints) OR "
                       "EXISTS (SELECT 1 FROM checkpoints)")
        return bool(self.c.fetchone()[0])

    def raw_keys(self, after: UUID | None, limit: int) -> list[tuple[UUID, bytes]]:
        """Subjects' keys (an erased subject's tombstone included), by subject."""
        self.c.execute("SELECT subject_id, key FROM subject_keys WHERE subject_id > ? "
                       "ORDER BY subject_id LIMIT ?", (after.hex if after else "", limit))
        return [(UUID(row[0]), bytes(row[1])) for row in self.c.fetchall()]

    def raw_touchpoints(self, after: str, limit: int) -> list[tuple[str, bytes, int]]:
        self.c.execute("SELECT id, digest, position FROM touchpoints WHERE id > ? "
                       "ORDER BY id LIMIT ?", (after, limit))
        return [(row[0], bytes(row[1]), row[2]) for row in self.c.fetchall()]

    def copy_events(self, events: Sequence[tuple[int, UUID | str, int, str, bytes]],
                    links: Sequence[tuple[int, int, bytes]]) -> None:
        """Events at the positions they had in the store they come from, with the links
        that store computed for them (the copy is verified before it commits)."""
        self.c.executemany(
            "INSERT INTO stored_events (rowid, originator_id, originator_version, topic, "
            "state) VALUES (?, ?, ?, ?, ?)",
            [(position, stream.hex if isinstance(stream, UUID) else stream, version, topic,
              state) for position, stream, version, topic, state in events])
        self.c.executemany("INSERT INTO event_chain (position, previous, link) "
                           "VALUES (?, ?, ?)", list(links))

    def copy_keys(self, keys: Sequence[tuple[UUID, bytes]]) -> None:
        self.create_keys(dict(keys))

    def copy_touchpoints(self, rows: Sequence[tuple[str, bytes, int]]) -> None:
        self.record_touchpoints(rows)

    def copied(self) -> None:
        """After ``copy_events``: nothing to adjust (SQLite numbers on from max(rowid))."""

    def record_checkpoint(self, position: int, link: bytes, created_at: str,
                          public_key: bytes | None, signature: bytes | None) -> None:
        self.c.execute("INSERT OR REPLACE INTO checkpoints VALUES (?, ?, ?, ?, ?)",
                       (position, link, created_at, public_key, signature))

    def checkpoints(self) -> list[tuple[int, bytes, str, bytes | None, bytes | None]]:
        self.c.execute("SELECT position, link, created_at, public_key, signature "
                       "FROM checkpoints ORDER BY position")
        return [(r[0], bytes(r[1]), r[2], _opt_bytes(r[3]), _opt_bytes(r[4]))
                for r in self.c.fetchall()]


def _opt_bytes(value: Any) -> bytes | None:
    return None if value is None else bytes(value)


@contextmanager
def write_transaction(recorder: ChainedSQLiteRecorder) -> Iterator[tuple[Any, SQLiteTables]]:
    """One write transaction, taken with BEGIN IMMEDIATE so that the writer lock is held
    from the start: reads made inside it (versions, known ids) stay true until commit."""
    datastore = recorder.datastore
    with datastore.get_connection(commit=True) as connection:
        cursor = connection.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        try:
            yield cursor, SQLiteTables(cursor)
        except BaseException:
            connection.rollback()
            raise
        else:
            connection.commit()
        finally:
            cursor.sqlite_cursor.close()


@contextmanager
def read_transaction(recorder: ChainedSQLiteRecorder) -> Iterator[SQLiteTables]:
    """A consistent snapshot for reading (one transaction)."""
    with recorder.datastore.transaction(commit=False) as cursor:
        yield SQLiteTables(cursor)


def insert_events(recorder: ChainedSQLiteRecorder, cursor: Any,
                  stored_events: Sequence[StoredEvent]) -> list[int]:
    return list(recorder._insert_events(cursor, stored_events) or [])


def after_erasure(recorder: ChainedSQLiteRecorder) -> None:
    """Push the WAL back into the main file and empty it, so no page that held a destroyed
    key survives in the log."""
    with recorder.datastore.get_connection(commit=True) as connection:
        connection._sqlite_conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
