"""The event store, set up in one place.

The URL comes from the composition root (``--store``, else ``ORCHESTRATOR_STORE``,
else ``sqlite:///orchestrator.db``). ``sqlite:///PATH`` is the embedded default;
``postgresql://user[:password]@host[:port]/db[?schema=NAME]`` runs the same product on
PostgreSQL. Before anything is created the store makes sure the URL names one of our
stores or nothing yet (see :func:`_recognise` and docs/store-urls.md); anything else is a
one-line :class:`UsageError`, and no message shows a password (:func:`redact`).

Everything is the eventsourcing library underneath: its recorders (subclassed only to
extend the tamper-evidence chain in the same transaction), its mapper (subclassed to seal
personal fields per subject) and its notification log.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder, Mapper

from orchestrator.domain.new_fact import NewFact
from orchestrator.errors import UsageError
from orchestrator.persistence import pg_address
from orchestrator.persistence import sqlite as sqlite_backend
from orchestrator.persistence.sealing import KeyRing, SealingMapper, new_key

APPEND_BATCH = 2000
VERSION_LOOKUP_BATCH = 500

# A PostgreSQL schema name as the store accepts it: a plain lowercase identifier, the
# same quoted or not, so it means the same in every tool and in every statement (it is
# quoted everywhere anyway; the library looks its types up by the name unquoted, so a
# capital letter would not be found). ``pg_`` names are reserved by PostgreSQL.
SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
SCHEMA_RULE = ("lowercase letters, digits and _, at most 63, not starting with a digit "
               "or pg_")
POSTGRES_OPTIONS = ("schema", "password")

# The tables that make a database one of our stores (the library's events table and our
# chain and keys), and the rest of a complete store. Both backends use these names.
STORE_MARKERS = frozenset({"stored_events", "event_chain", "subject_keys"})
STORE_TABLES = STORE_MARKERS | {"touchpoints", "checkpoints"}

_SECRET_NAME = re.compile(r"pass|pwd|secret|token|key|auth|credential", re.IGNORECASE)


@dataclass(frozen=True)
class StoreLocation:
    url: str
    backend: str  # "sqlite" or "postgresql"
    sqlite_path: str = ""
    pg_host: str = ""
    pg_port: str = ""
    pg_user: str = ""
    pg_password: str = field(default="", repr=False)
    pg_dbname: str = ""
    pg_schema: str = ""

    @classmethod
    def parse(cls, url: str) -> StoreLocation:
        """The location a store URL names, or a :class:`UsageError` saying what is wrong
        with it (the URL shown with its secrets redacted). Nothing is opened here."""
        scheme, sep, _ = url.partition("://")
        if not sep:
            # Not echoed: without a scheme there is no telling a password from a path.
            raise UsageError("the store URL is not a URL (no scheme://); expected "
                             "sqlite:///PATH or postgresql://user@host:port/db")
        scheme = scheme.lower()
        if scheme == "sqlite":
            return cls._parse_sqlite(url)
        if scheme in ("postgresql", "postgres"):
            return cls._parse_postgres(url)
        raise UsageError(f"store URL {redact(url)!r}: unknown scheme {scheme!r}; "
                         "expected sqlite:///PATH or postgresql://user@host:port/db")

    @classmethod
    def _parse_sqlite(cls, url: str) -> StoreLocation:
        def refuse(why: str) -> UsageError:
            return UsageError(f"store URL {redact(url)!r}: {why}")

        if not url.startswith("sqlite:///") or not url[len("sqlite:///"):]:
            raise refuse("expected sqlite:///PATH (sqlite:////PATH for an absolute path)")
        raw = url[len("sqlite:///"):]
        if _in_memory(unquote(raw)):
            raise refuse("an in-memory SQLite database does not persist, and a store must; "
                         "name a file, such as sqlite:///orchestrator.db")
        if "?" in raw or "#" in raw:
            raise refuse("an SQLite store URL takes no query or fragment; write a '?' or "
                         "'#' that is part of the file name as %3F or %23")
        path = unquote(raw)
        if path.lower().startswith("file:"):
            raise refuse("SQLite URI file names (file:...) are not supported; "
                         "write the path itself")
        return cls(url=url, backend="sqlite", sqlite_path=path)

    @classmethod
    def _parse_postgres(cls, url: str) -> StoreLocation:
        def refuse(why: str) -> UsageError:
            return UsageError(f"store URL {redact(url)!r}: {why}")

        expected = "expected postgresql://user@host:port/database[?schema=NAME]"
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            # Not the parser's words: they may quote a piece of a mistyped password.
            raise refuse(f"not a valid URL (is the port a number? write special characters "
                         f"of the password as %XX); {expected}") from None
        dbname = unquote(parts.path.lstrip("/"))
        if not dbname or "/" in dbname or not parts.hostname:
            raise refuse(expected)
        if parts.fragment:
            raise refuse(f"a fragment ('#...') is not part of a store URL; {expected}")
        options = _query_options(parts.query, refuse)
        password = unquote(parts.password or "")
        if "password" in options:
            if parts.password is not None:
                raise refuse("the password is given twice (user:password@ and ?password=)")
            password = options["password"]
        schema = options.get("schema")
        if schema is not None and (not SCHEMA_NAME.fullmatch(schema)
                                   or schema.startswith("pg_")):
            raise refuse(f"{schema!r} is not a valid schema name: use {SCHEMA_RULE}")
        return cls(url=url, backend="postgresql", pg_host=parts.hostname,
                   pg_port=str(port or 5432), pg_user=unquote(parts.username or ""),
                   pg_password=password, pg_dbname=dbname, pg_schema=schema or "")

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
            env[pg_address.READ_ONLY] = "1"
        return env


def _in_memory(path: str) -> bool:
    lowered = path.lower()
    return ":memory:" in lowered or "mode=memory" in lowered


def _query_options(query: str, refuse: Any) -> dict[str, str]:
    """The ``?name=value`` options of a PostgreSQL store URL: only those we understand,
    each at most once. Values are never quoted back (one may be a password)."""
    options: dict[str, str] = {}
    for part in query.split("&") if query else ():
        name, equals, value = part.partition("=")
        name = unquote(name)
        if not equals:
            raise refuse("each option in the query must be name=value")
        if name not in POSTGRES_OPTIONS:
            shown = f"{name!r}" if re.fullmatch(r"[A-Za-z_]{1,40}", name) else "an option"
            raise refuse(f"{shown} is not an option of a store URL; the query takes only "
                         f"{', '.join(f'{option}=...' for option in POSTGRES_OPTIONS)}")
        if name in options:
            raise refuse(f"the option {name!r} is given twice")
        options[name] = unquote(value)
    return options


def without_secrets(text: str, url: str) -> str:
    """``text`` (an error message about ``url``) minus anything of the URL's user part
    or query, which may hold a password."""
    for secret in _secrets_in(url):
        text = text.replace(secret, "***")
    return text


def _secrets_in(url: str) -> list[str]:
    found: list[str] = []
    _, sep, rest = url.partition("://")
    if sep:
        at = _userinfo_end(rest)
        if at >= 0 and ":" in rest[:at]:
            found.append(rest[:at].split(":", 1)[1])
    query = url.partition("?")[2]
    for part in query.split("&") if query else ():
        name, _, value = part.partition("=")
        if value and _SECRET_NAME.search(unquote(name)):
            found.append(value)
    found += [unquote(secret) for secret in found]
    return sorted({secret for secret in found if secret}, key=len, reverse=True)


def _userinfo_end(rest: str) -> int:
    """Where the ``user:password`` part of ``rest`` (a URL after ``scheme://``) ends: the
    last '@' before the query, else the last '@' at all (a password may hold '/', '?' or
    '#' written as they are); -1 when there is no user part."""
    if not rest or rest.startswith("/"):
        return -1
    before_query = rest.split("?", 1)[0]
    at = before_query.rfind("@")
    return at if at >= 0 else rest.rfind("@")


def redact(url: str) -> str:
    """The URL with its password, and any password-like query value (``password=``,
    ``sslpassword=``, ``token=``...), replaced by ``***``: fit for logs and messages.
    It never fails, whatever the text; nothing else of the URL is changed."""
    scheme, sep, rest = url.partition("://")
    if sep:
        at = _userinfo_end(rest)
        if at >= 0 and ":" in rest[:at]:
            rest = rest[:at].split(":", 1)[0] + ":***" + rest[at:]
        url = scheme + sep + rest
    head, question, tail = url.partition("?")
    if not question:
        return url
    query, hash_, fragment = tail.partition("#")
    parts = []
    for part in query.split("&"):
        name, equals, value = part.partition("=")
        parts.append(f"{name}=***" if equals and value and _SECRET_NAME.search(unquote(name))
                     else part)
    return head + question + "&".join(parts) + hash_ + fragment


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
        self.backend: Any = sqlite_backend if location.backend == "sqlite" else _postgres()
        _recognise(location, read_only=read_only)
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


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused for a bulk pass over many events (a
    catch-up of the read models, an ingest): each event makes a few objects that
    reference counting frees as soon as its page or batch is written, and the collector
    would otherwise walk the whole heap again and again for nothing (a sixth of a
    rebuild's time, a twelfth of an ingest's). Whatever cycles appear meanwhile are
    collected once it resumes. Nested uses leave it as the outermost found it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _postgres() -> Any:
    """The PostgreSQL backend, imported when a store is on PostgreSQL (the driver is a
    tenth of a command's start-up on SQLite)."""
    from orchestrator.persistence import postgres
    return postgres


def _recognise(location: StoreLocation, *, read_only: bool) -> None:
    """Make sure ``location`` holds one of our stores, or nothing at all (then a writer
    may make one there), before anything is created or written: a file that is not an
    SQLite database, another application's database, or (for a reader) an empty one is
    refused with one line saying why."""
    try:
        if location.backend == "sqlite":
            tables, where, absent = sqlite_backend.inspect(location.sqlite_path,
                                                           read_only=read_only)
        else:
            tables, where, absent = _postgres().inspect(pg_address.Address(
                host=location.pg_host, port=location.pg_port, user=location.pg_user,
                password=location.pg_password, dbname=location.pg_dbname,
                schema=location.pg_schema or "public"), read_only=read_only)
    except UsageError as error:
        raise UsageError(f"store {location.redacted()}: "
                         f"{without_secrets(str(error), location.url)}") from None
    if not tables:
        if read_only:
            raise UsageError(f"no store at {location.redacted()}: {absent}")
        return
    if tables >= STORE_MARKERS:
        missing = sorted(STORE_TABLES - tables)
        if read_only and missing:
            raise UsageError(f"store {location.redacted()}: {where} is an incomplete store "
                             f"(no table {', '.join(missing)}); a writing command such as "
                             "`orchestrator projections rebuild` completes it")
        return
    names = sorted(tables)
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    raise UsageError(f"store {location.redacted()}: {where} is not an orchestrator store "
                     f"(its tables: {shown}; a store has {', '.join(sorted(STORE_MARKERS))}); "
                     "refusing to use it, nothing was written")


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
