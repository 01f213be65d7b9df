"""The scale path: the eventsourcing library's PostgreSQL recorders, plus the chain.

The library serialises event inserts with an EXCLUSIVE lock on the events table (so
notification ids commit in order); the chain link is computed under that same lock, in
the same transaction, so several worker processes can share one store. Triggers make the
event and chain tables append-only: UPDATE, DELETE and TRUNCATE are refused by the
database itself (erasure never needs them: it destroys keys, which live elsewhere).

:func:`inspect` connects once, with a short connect timeout, before any of this is set up:
an unreachable server is reported at once, naming host, port, database and user (never
the password), and a schema holding another application's tables is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresFactory, PostgresProcessRecorder
from psycopg.sql import SQL, Identifier

from orchestrator.errors import UsageError
from orchestrator.persistence import chain
from orchestrator.persistence.pg_address import (
    CONNECT_TIMEOUT_SECONDS,
    READ_ONLY,
    READ_ONLY_OPTIONS,
    Address,
)

APPEND_ONLY_TABLES = ("stored_events", "event_chain", "touchpoints")
def inspect(address: Address, *, read_only: bool) -> tuple[frozenset[str] | None, str, str]:
    """What is in the store's schema, found in one short connection: the names of its
    tables (None when the schema does not exist), the place as messages name it, and why
    there is no store when there is none. For a writer a missing schema is made (as a
    missing SQLite file would be). A server that cannot be reached, or a query refused,
    raises :class:`UsageError` with the server's reason, never the password."""
    where = f"schema {address.schema} of database {address.dbname}"
    kwargs: dict[str, Any] = {"host": address.host, "port": address.port,
                              "dbname": address.dbname,
                              "connect_timeout": CONNECT_TIMEOUT_SECONDS}
    if address.user:
        kwargs["user"] = address.user
    if address.password:
        kwargs["password"] = address.password
    if read_only:
        kwargs["options"] = READ_ONLY_OPTIONS
    try:
        connection = psycopg.connect(autocommit=True, **kwargs)
    except psycopg.Error as error:
        raise UsageError(f"cannot connect to PostgreSQL at {address.server()}: "
                         f"{_reason(error, address)}") from None
    try:
        with connection:
            if connection.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s",
                                  (address.schema,)).fetchone() is None:
                if read_only:
                    return None, where, (f"schema {address.schema} does not exist in "
                                         f"database {address.dbname}")
                connection.execute(SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                    Identifier(address.schema)))
                return frozenset(), where, ""
            # Tables and views, except those an extension owns (PostGIS puts one in
            # public): they are the database's, not another application's.
            rows = connection.execute(
                "SELECT c.relname FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f') "
                "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = "
                "'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')",
                (address.schema,)).fetchall()
    except psycopg.Error as error:
        raise UsageError(f"cannot use {where} at {address.server()}: "
                         f"{_reason(error, address)}") from None
    return frozenset(row[0] for row in rows), where, f"{where} holds no tables"


def _reason(error: BaseException, address: Address) -> str:
    """The server's or libpq's reason, on one line, without the connection preamble
    (which repeats host and port) and without the password, should it ever appear."""
    text = (str(error).strip().splitlines() or [type(error).__name__])[0]
    text = text.rsplit(" failed: ", 1)[-1].strip()
    text = text.removeprefix("FATAL:").strip()
    if address.password:
        text = text.replace(address.password, "***")
    return text or type(error).__name__


class ChainedPostgresRecorder(PostgresProcessRecorder):
    def __init__(self, datastore: Any, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        schema = Identifier(self.datastore.schema)
        self.sql_create_statements.extend(
            SQL(statement).format(schema=schema) for statement in (
                "CREATE TABLE IF NOT EXISTS {schema}.event_chain ("
                "position bigint PRIMARY KEY, previous bigint NOT NULL, link bytea NOT NULL)",
                "CREATE TABLE IF NOT EXISTS {schema}.subject_keys ("
                "subject_id uuid PRIMARY KEY, key bytea NOT NULL)",
                "CREATE TABLE IF NOT EXISTS {schema}.touchpoints ("
                "id text PRIMARY KEY, digest bytea NOT NULL, position bigint NOT NULL)",
                "CREATE TABLE IF NOT EXISTS {schema}.checkpoints ("
                "position bigint PRIMARY KEY, link bytea NOT NULL, created_at text NOT NULL, "
                "public_key bytea, signature bytea)",
                "CREATE OR REPLACE FUNCTION {schema}.orchestrator_refuse_change() "
                "RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP; "
                "END $$",
            )
        )
        for table in APPEND_ONLY_TABLES:
            self.sql_create_statements.append(
                SQL("CREATE OR REPLACE TRIGGER {trigger} BEFORE UPDATE OR DELETE ON "
                    "{schema}.{table} FOR EACH ROW EXECUTE FUNCTION "
                    "{schema}.orchestrator_refuse_change()").format(
                    trigger=Identifier(f"{table}_append_only"), schema=schema,
                    table=Identifier(table)))
            self.sql_create_statements.append(
                SQL("CREATE OR REPLACE TRIGGER {trigger} BEFORE TRUNCATE ON "
                    "{schema}.{table} FOR EACH STATEMENT EXECUTE FUNCTION "
                    "{schema}.orchestrator_refuse_change()").format(
                    trigger=Identifier(f"{table}_no_truncate"), schema=schema,
                    table=Identifier(table)))

    def create_table(self) -> None:
        # Two processes opening a fresh store at once would race on CREATE TYPE (which
        # has no IF NOT EXISTS); a session advisory lock makes set-up one at a time.
        with self.datastore.get_connection() as conn:
            conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (self.datastore.schema,))
            try:
                super().create_table()
            finally:
                conn.execute("SELECT pg_advisory_unlock(hashtext(%s))",
                             (self.datastore.schema,))

    def _fetch_ids_after_insert_events(self, curs: Any, stored_events: Sequence[StoredEvent],
                                       **kwargs: Any) -> Sequence[int] | None:
        positions = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        if positions:
            tables = PostgresTables(curs, self.datastore.schema)
            previous, head = tables.chain_head()
            curs.executemany(
                SQL("INSERT INTO {schema}.event_chain (position, previous, link) "
                    "VALUES (%s, %s, %s)").format(schema=Identifier(self.datastore.schema)),
                chain.extend(previous, head, positions, stored_events),
            )
        return positions


class Factory(PostgresFactory):
    """Found by eventsourcing through ``PERSISTENCE_MODULE=orchestrator.persistence.postgres``."""

    application_recorder_class = ChainedPostgresRecorder
    process_recorder_class = ChainedPostgresRecorder

    def __init__(self, env: Any):
        super().__init__(env)
        # Set before the pool opens: each connection attempt gives up after a few seconds.
        self.datastore.pool.kwargs["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
        if (self.env.get(READ_ONLY) or "") == "1":
            # Every transaction of an auditor's session is READ ONLY: the server refuses
            # any write, whatever the role could otherwise do.
            self.datastore.pool.kwargs["options"] = READ_ONLY_OPTIONS

    def application_recorder(self) -> ChainedPostgresRecorder:  # type: ignore[override]
        recorder = ChainedPostgresRecorder(datastore=self.datastore)
        if self.env_create_table():
            recorder.create_table()
        return recorder

    process_recorder = application_recorder  # type: ignore[assignment]


class PostgresTables:
    """The store's own tables, read and written through one cursor (one transaction)."""

    def __init__(self, cursor: Any, schema: str):
        self.c = cursor
        self.schema = Identifier(schema)
        self.schema_name = schema  # a plain lowercase identifier (store URLs refuse others)

    def _sql(self, text: str) -> Any:
        return SQL(text).format(schema=self.schema)

    def touchpoint_digests(self, ids: Sequence[str]) -> dict[str, bytes]:
        if not ids:
            return {}
        self.c.execute(self._sql("SELECT id, digest FROM {schema}.touchpoints "
                                 "WHERE id = ANY(%s)"), (list(ids),))
        return {row["id"]: bytes(row["digest"]) for row in self.c.fetchall()}

    def touchpoint_positions(self, ids: Sequence[str]) -> dict[str, int]:
        if not ids:
            return {}
        self.c.execute(self._sql("SELECT id, position FROM {schema}.touchpoints "
                                 "WHERE id = ANY(%s)"), (list(ids),))
        return {row["id"]: row["position"] for row in self.c.fetchall()}

    def record_touchpoints(self, rows: Iterable[tuple[str, bytes, int]]) -> None:
        self.c.executemany(self._sql("INSERT INTO {schema}.touchpoints (id, digest, position) "
                                     "VALUES (%s, %s, %s)"), list(rows))

    def stream_versions(self, streams: Sequence[UUID]) -> dict[UUID, int]:
        if not streams:
            return {}
        self.c.execute(self._sql(
            "SELECT originator_id, MAX(originator_version) AS version "
            "FROM {schema}.stored_events WHERE originator_id = ANY(%s) GROUP BY originator_id"),
            (list(streams),))
        return {row["originator_id"]: row["version"] for row in self.c.fetchall()}

    def stored_events(self, streams: Sequence[UUID]) -> list[StoredEvent]:
        """Every stored event of ``streams`` in one query, by stream then version."""
        if not streams:
            return []
        self.c.execute(self._sql(
            "SELECT originator_id, originator_version, topic, state "
            "FROM {schema}.stored_events WHERE originator_id = ANY(%s) "
            "ORDER BY originator_id, originator_version"), (list(streams),))
        return [StoredEvent(originator_id=row["originator_id"],
                            originator_version=row["originator_version"],
                            topic=row["topic"], state=bytes(row["state"]))
                for row in self.c.fetchall()]

    def load_keys(self, subjects: Iterable[UUID]) -> dict[UUID, bytes]:
        subjects = list(subjects)
        if not subjects:
            return {}
        self.c.execute(self._sql("SELECT subject_id, key FROM {schema}.subject_keys "
                                 "WHERE subject_id = ANY(%s)"), (subjects,))
        return {row["subject_id"]: bytes(row["key"]) for row in self.c.fetchall()}

    def create_keys(self, keys: Mapping[UUID, bytes]) -> None:
        self.c.executemany(self._sql("INSERT INTO {schema}.subject_keys (subject_id, key) "
                                     "VALUES (%s, %s) ON CONFLICT DO NOTHING"),
                           list(keys.items()))

    def delete_keys(self, subjects: Iterable[UUID]) -> int:
        subjects = list(subjects)
        if not subjects:
            return 0
        # A tombstone, not a deletion (see the SQLite recorder).
        self.c.execute(self._sql("UPDATE {schema}.subject_keys SET key = ''::bytea "
                                 "WHERE length(key) > 0 AND subject_id = ANY(%s)"),
                       (subjects,))
        return self.c.rowcount

    def chain_links(self, after: int, limit: int) -> list[tuple[int, int, bytes]]:
        self.c.execute(self._sql("SELECT position, previous, link FROM {schema}.event_chain "
                                 "WHERE position > %s ORDER BY position LIMIT %s"),
                       (after, limit))
        return [(row["position"], row["previous"], bytes(row["link"]))
                for row in self.c.fetchall()]

    def chain_head(self) -> tuple[int, bytes]:
        self.c.execute(self._sql("SELECT position, link FROM {schema}.event_chain "
                                 "ORDER BY position DESC LIMIT 1"))
        row = self.c.fetchone()
        return (row["position"], bytes(row["link"])) if row else (0, chain.GENESIS)


    def raw_events(self, after: int, limit: int) -> list[tuple[int, UUID, int, str, bytes]]:
        self.c.execute(self._sql(
            "SELECT notification_id, originator_id, originator_version, topic, state "
            "FROM {schema}.stored_events WHERE notification_id > %s "
            "ORDER BY notification_id LIMIT %s"), (after, limit))
        return [(r["notification_id"], r["originator_id"], r["originator_version"], r["topic"],
                 bytes(r["state"])) for r in self.c.fetchall()]

    def raw_events_with_keys(self, after: int, limit: int
                             ) -> list[tuple[int, UUID, int, str, bytes, bytes | None]]:
        """``raw_events``, each with its subject's key (None when it has none), read in the
        same query: ``audit verify`` opens every sealed blob without a look-up per subject."""
        self.c.execute(self._sql(
            "SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, "
            "e.state, k.key FROM {schema}.stored_events e LEFT JOIN {schema}.subject_keys k "
            "ON k.subject_id = e.originator_id WHERE e.notification_id > %s "
            "ORDER BY e.notification_id LIMIT %s"), (after, limit))
        return [(r["notification_id"], r["originator_id"], r["originator_version"], r["topic"],
                 bytes(r["state"]), None if r["key"] is None else bytes(r["key"]))
                for r in self.c.fetchall()]

    def log_rows_with_keys(self, after: int, limit: int, upto: int | None = None,
                           topics: Sequence[str] = ()
                           ) -> list[tuple[int, UUID, int, str, bytes, bytes | None]]:
        """The notification log after ``after`` (up to ``upto``, of ``topics`` only when
        given), each row with its subject's key: what reading the log decodes, in one
        query a page."""
        where, params = "e.notification_id > %s", [after]
        if upto is not None:
            where += " AND e.notification_id <= %s"
            params.append(upto)
        if topics:
            where += " AND e.topic = ANY(%s)"
            params.append(list(topics))
        params.append(limit)
        self.c.execute(self._sql(
            "SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, "
            "e.state, k.key FROM {schema}.stored_events e LEFT JOIN {schema}.subject_keys k "
            "ON k.subject_id = e.originator_id WHERE " + where +
            " ORDER BY e.notification_id LIMIT %s"), params)
        return [(r["notification_id"], r["originator_id"], r["originator_version"], r["topic"],
                 bytes(r["state"]), None if r["key"] is None else bytes(r["key"]))
                for r in self.c.fetchall()]

    # Copying a whole store (``store copy``): rows as they are, positions kept. --------

    def holds_anything(self) -> bool:
        """Whether any event, key, touchpoint or checkpoint is here (a copy's target must
        hold none)."""
        self.c.execute(self._sql(
            "SELECT EXISTS (SELECT 1 FROM {schema}.stored_events) OR EXISTS (SELECT 1 FROM "
            "{schema}.subject_keys) OR EXISTS (SELECT 1 FROM {schema}.touchpoints) OR "
            "EXISTS (SELECT 1 FROM {schema}.checkpoints) AS found"))
        return bool(self.c.fetchone()["found"])

    def raw_keys(self, after: UUID | None, limit: int) -> list[tuple[UUID, bytes]]:
        """Subjects' keys (an erased subject's tombstone included), by subject."""
        self.c.execute(self._sql("SELECT subject_id, key FROM {schema}.subject_keys "
                                 "WHERE subject_id > %s ORDER BY subject_id LIMIT %s"),
                       (after or UUID(int=0), limit))
        rows = self.c.fetchall()
        if after is None:  # the all-zero id itself, if a subject ever had it
            self.c.execute(self._sql("SELECT subject_id, key FROM {schema}.subject_keys "
                                     "WHERE subject_id = %s"), (UUID(int=0),))
            rows = [*self.c.fetchall(), *rows]
        return [(row["subject_id"], bytes(row["key"])) for row in rows]

    def raw_touchpoints(self, after: str, limit: int) -> list[tuple[str, bytes, int]]:
        # COLLATE "C": byte order, the same for the page boundary and the ordering.
        self.c.execute(self._sql('SELECT id, digest, position FROM {schema}.touchpoints '
                                 'WHERE id > %s COLLATE "C" ORDER BY id COLLATE "C" LIMIT %s'),
                       (after, limit))
        return [(row["id"], bytes(row["digest"]), row["position"]) for row in self.c.fetchall()]

    def copy_events(self, events: Sequence[tuple[int, UUID | str, int, str, bytes]],
                    links: Sequence[tuple[int, int, bytes]]) -> None:
        """Events at the positions they had in the store they come from, with the links
        that store computed for them (the copy is verified before it commits)."""
        # COPY, not INSERTs: a store of a million events moves in seconds.
        with self.c.copy(self._sql("COPY {schema}.stored_events (notification_id, "
                                   "originator_id, originator_version, topic, state) "
                                   "FROM STDIN")) as copy:
            for position, stream, version, topic, state in events:
                copy.write_row((position, stream if isinstance(stream, UUID) else UUID(stream),
                                version, topic, state))
        with self.c.copy(self._sql("COPY {schema}.event_chain (position, previous, link) "
                                   "FROM STDIN")) as copy:
            for link in links:
                copy.write_row(link)

    def copy_keys(self, keys: Sequence[tuple[UUID, bytes]]) -> None:
        with self.c.copy(self._sql("COPY {schema}.subject_keys (subject_id, key) "
                                   "FROM STDIN")) as copy:
            for row in keys:
                copy.write_row(row)

    def copy_touchpoints(self, rows: Sequence[tuple[str, bytes, int]]) -> None:
        with self.c.copy(self._sql("COPY {schema}.touchpoints (id, digest, position) "
                                   "FROM STDIN")) as copy:
            for row in rows:
                copy.write_row(row)

    def copied(self) -> None:
        """After ``copy_events``: the next event the library records takes the position
        after the last one copied."""
        self.c.execute(self._sql(
            "SELECT setval(pg_get_serial_sequence(%s, 'notification_id'), "
            "GREATEST((SELECT MAX(notification_id) FROM {schema}.stored_events), 1), "
            "(SELECT MAX(notification_id) FROM {schema}.stored_events) IS NOT NULL)"),
            (f"{self.schema_name}.stored_events",))

    def record_checkpoint(self, position: int, link: bytes, created_at: str,
                          public_key: bytes | None, signature: bytes | None) -> None:
        self.c.execute(self._sql(
            "INSERT INTO {schema}.checkpoints VALUES (%s, %s, %s, %s, %s) "
            "ON CONFLICT (position) DO UPDATE SET link = EXCLUDED.link, "
            "created_at = EXCLUDED.created_at, public_key = EXCLUDED.public_key, "
            "signature = EXCLUDED.signature"),
            (position, link, created_at, public_key, signature))

    def checkpoints(self) -> list[tuple[int, bytes, str, bytes | None, bytes | None]]:
        self.c.execute(self._sql("SELECT position, link, created_at, public_key, signature "
                                 "FROM {schema}.checkpoints ORDER BY position"))
        return [(r["position"], bytes(r["link"]), r["created_at"],
                 None if r["public_key"] is None else bytes(r["public_key"]),
                 None if r["signature"] is None else bytes(r["signature"]))
                for r in self.c.fetchall()]


@contextmanager
def write_transaction(recorder: ChainedPostgresRecorder) -> Iterator[tuple[Any, PostgresTables]]:
    """One write transaction holding the library's events-table lock from the start, so
    reads made inside it (versions, known ids, the chain head) stay true until commit."""
    with recorder.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
        recorder._lock_table(curs)
        yield curs, PostgresTables(curs, recorder.datastore.schema)


@contextmanager
def read_transaction(recorder: ChainedPostgresRecorder) -> Iterator[PostgresTables]:
    with recorder.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
        curs.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield PostgresTables(curs, recorder.datastore.schema)


def insert_events(recorder: ChainedPostgresRecorder, cursor: Any,
                  stored_events: Sequence[StoredEvent]) -> list[int]:
    recorder._insert_stored_events(cursor, stored_events)
    return list(recorder._fetch_ids_after_insert_events(cursor, stored_events) or [])


def after_erasure(recorder: ChainedPostgresRecorder) -> None:
    """Nothing to flush: PostgreSQL reclaims deleted key rows with VACUUM (see docs)."""
