"""The event store, set up in one place.

The URL comes from the composition root (``--store``, else ``ORCHESTRATOR_STORE``,
else ``sqlite:///orchestrator.db``). ``sqlite:///PATH`` is the embedded default;
``postgresql://user[:password]@host[:port]/db[?schema=NAME]`` runs the same product on
PostgreSQL.

Everything is the eventsourcing library underneath: its recorders (subclassed only to
extend the tamper-evidence chain in the same transaction), its mapper (subclassed to seal
personal fields per subject) and its notification log.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder, Mapper

from orchestrator.domain.new_fact import NewFact
from orchestrator.errors import UsageError
from orchestrator.persistence import postgres as pg_backend
from orchestrator.persistence import sqlite as sqlite_backend
from orchestrator.persistence.sealing import KeyRing, SealingMapper, new_key

APPEND_BATCH = 2000
VERSION_LOOKUP_BATCH = 500


@dataclass(frozen=True)
class StoreLocation:
    url: str
    backend: str  # "sqlite" or "postgresql"
    sqlite_path: str = ""
    pg_host: str = ""
    pg_port: str = ""
    pg_user: str = ""
    pg_password: str = ""
    pg_dbname: str = ""
    pg_schema: str = ""

    @classmethod
    def parse(cls, url: str) -> StoreLocation:
        parts = urlsplit(url)
        if parts.scheme == "sqlite":
            path = unquote(url[len("sqlite:///"):]) if url.startswith("sqlite:///") else ""
            if not path:
                raise UsageError(f"store URL {redact(url)!r}: expected sqlite:///PATH")
            return cls(url=url, backend="sqlite", sqlite_path=path)
        if parts.scheme in ("postgresql", "postgres"):
            dbname = parts.path.lstrip("/")
            if not dbname or not parts.hostname:
                raise UsageError(f"store URL {redact(url)!r}: expected "
                                 "postgresql://user@host:port/database")
            schema = parse_qs(parts.query).get("schema", [""])[0]
            return cls(url=url, backend="postgresql", pg_host=parts.hostname,
                       pg_port=str(parts.port or 5432), pg_user=unquote(parts.username or ""),
                       pg_password=unquote(parts.password or ""), pg_dbname=dbname,
                       pg_schema=schema)
        raise UsageError(f"store URL {redact(url)!r}: unknown scheme {parts.scheme!r}; "
                         "expected sqlite:///PATH or postgresql://user@host:port/db")

    def redacted(self) -> str:
        return redact(self.url)

    def eventsourcing_env(self, *, read_only: bool) -> dict[str, str]:
        if self.backend == "sqlite":
            return {
                "PERSISTENCE_MODULE": "orchestrator.persistence.sqlite:Factory",
                "SQLITE_DBNAME": self.sqlite_path,
                sqlite_backend.READ_ONLY: "1" if read_only else "",
            }
        env = {
            "PERSISTENCE_MODULE": "orchestrator.persistence.postgres:Factory",
            "POSTGRES_DBNAME": self.pg_dbname,
            "POSTGRES_HOST": self.pg_host,
            "POSTGRES_PORT": self.pg_port,
            "POSTGRES_USER": self.pg_user,
            "POSTGRES_PASSWORD": self.pg_password,
            "POSTGRES_POOL_SIZE": "2",
            "POSTGRES_MAX_OVERFLOW": "4",
            "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "0",
        }
        if self.pg_schema:
            env["POSTGRES_SCHEMA"] = self.pg_schema
        if read_only:
            env["CREATE_TABLE"] = "no"
            env[pg_backend.READ_ONLY] = "1"
        return env


def redact(url: str) -> str:
    """The URL with any password replaced, fit for logs and error messages."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


class Ledger(Application[UUID]):
    """The one eventsourcing application: every fact is recorded through it."""

    name = "orchestrator"

    def __init__(self, env: dict[str, str]):
        self.keys = KeyRing(table=None)
        super().__init__(env=env)

    def construct_env(self, name: str, env: Any = None) -> Any:
        # Configuration comes from the store URL only: never pick up stray
        # eventsourcing variables (or credentials) from the process environment.
        from eventsourcing.utils import Environment
        return Environment(name, dict(env or {}))

    def construct_mapper(self) -> Mapper[UUID]:
        mapper = self.factory.mapper(transcoder=self.construct_transcoder(),
                                     mapper_class=SealingMapper)
        mapper.keys = self.keys  # type: ignore[attr-defined]
        return mapper

    def construct_transcoder(self) -> JSONTranscoder:
        transcoder = JSONTranscoder()
        self.register_transcodings(transcoder)
        return transcoder


class Store:
    """An open store: the ledger application plus the backend's own tables."""

    def __init__(self, location: StoreLocation, *, read_only: bool = False):
        self.location = location
        self.read_only = read_only
        self._engine: Any = None
        self.backend: Any = sqlite_backend if location.backend == "sqlite" else pg_backend
        if location.backend == "sqlite" and read_only and not os.path.exists(
                location.sqlite_path):
            raise UsageError(f"store {location.redacted()!r} does not exist")
        self.ledger = Ledger(location.eventsourcing_env(read_only=read_only))
        self.recorder: Any = self.ledger.recorder
        self.ledger.keys.table = _StoreKeyTable(self)

    @classmethod
    def open(cls, url: str, *, read_only: bool = False) -> Store:
        return cls(StoreLocation.parse(url), read_only=read_only)

    @property
    def engine(self) -> Any:
        """The SQLAlchemy engine for read models (same database), made on first use."""
        if self._engine is None:
            from orchestrator.store.sql import engine_for
            self._engine = engine_for(self.location, read_only=self.read_only)
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        self.ledger.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def write(self) -> Iterator[WriteUnit]:
        """One atomic write: everything appended inside commits together or not at all."""
        if self.read_only:
            raise UsageError("this store was opened read-only")
        unit: WriteUnit | None = None
        try:
            with self.backend.write_transaction(self.recorder) as (cursor, tables):
                unit = WriteUnit(self, cursor, tables)
                yield unit
        finally:
            self.ledger.keys.drop_staged()

    @contextmanager
    def read(self) -> Iterator[Any]:
        with self.backend.read_transaction(self.recorder) as tables:
            yield tables

    def max_position(self) -> int:
        return self.recorder.max_notification_id() or 0


class WriteUnit:
    """Appends events inside one store transaction."""

    def __init__(self, store: Store, cursor: Any, tables: Any):
        self.store = store
        self.cursor = cursor
        self.tables = tables

    def append(self, events: Sequence[Any]) -> list[int]:
        self._stage_keys(events)
        mapper = self.store.ledger.mapper
        try:
            stored = [mapper.to_stored_event(event) for event in events]
        finally:
            # Keys made in this transaction are used for this batch only: a later batch
            # reads them back through the same transaction, so memory stays flat.
            self.store.ledger.keys.drop_staged()
        return self.store.backend.insert_events(self.store.recorder, self.cursor, stored)

    def append_facts(self, facts: Iterable[NewFact], *, recorded_at: datetime) -> list[int]:
        """Append facts, numbering each stream's from its highest recorded version. The
        versions are read inside this transaction, under the writer lock, so they stay
        true until commit; this is the one place stream versions are assigned."""
        facts = list(facts)
        streams = list({fact.stream for fact in facts})
        versions: dict[UUID, int] = {}
        for start in range(0, len(streams), VERSION_LOOKUP_BATCH):
            versions.update(self.tables.stream_versions(streams[start:start
                                                                + VERSION_LOOKUP_BATCH]))
        positions: list[int] = []
        batch: list[Any] = []
        for fact in facts:
            version = versions.get(fact.stream, 0) + 1
            versions[fact.stream] = version
            batch.append(fact.event_class(originator_id=fact.stream, originator_version=version,
                                          timestamp=recorded_at, **fact.fields))
            if len(batch) >= APPEND_BATCH:
                positions.extend(self.append(batch))
                batch = []
        if batch:
            positions.extend(self.append(batch))
        return positions

    def _stage_keys(self, events: Sequence[Any]) -> None:
        subjects = {
            event.originator_id for event in events
            if any(getattr(event, name, None) is not None
                   for name in type(event).PERSONAL_FIELDS)
        }
        if not subjects:
            return
        keys = self.tables.load_keys(subjects)
        missing = {subject: new_key() for subject in subjects if subject not in keys}
        if missing:
            self.tables.create_keys(missing)
        keys.update(missing)
        self.store.ledger.keys.stage(keys)


class _StoreKeyTable:
    """Key look-ups made outside a write unit (reading, or the library's own save path)."""

    def __init__(self, store: Store):
        self.store = store

    def load_keys(self, subjects: Any) -> dict[UUID, bytes]:
        with self.store.read() as tables:
            return tables.load_keys(list(subjects))

    def create_keys(self, keys: Any) -> None:
        with self.store.backend.write_transaction(self.store.recorder) as (_, tables):
            tables.create_keys(keys)
