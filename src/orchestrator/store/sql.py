"""The SQLAlchemy engine on the store's own database (read models live beside the events)."""

from __future__ import annotations

import pathlib
import sqlite3
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event

from orchestrator.persistence.pg_address import CONNECT_TIMEOUT_SECONDS
from orchestrator.persistence.sqlite import BUSY_TIMEOUT_SECONDS


def engine_for(location: Any, *, read_only: bool = False) -> Engine:
    """Read-only: SQLite opened with ``mode=ro``, PostgreSQL sessions read-only, so a
    reader cannot change the read models either (nor needs the right to)."""
    if location.backend == "sqlite":
        if read_only:
            # as_uri() percent-encodes the path, so '?' or '#' in a name stay in it.
            path = pathlib.Path(location.sqlite_path).resolve().as_uri()
            return create_engine("sqlite://", creator=lambda: sqlite3.connect(
                f"{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_SECONDS,
                check_same_thread=False))
        # URL.create: the path is taken as it is, never parsed ('?' or '#' in a name).
        engine = create_engine(URL.create("sqlite", database=location.sqlite_path),
                               connect_args={"timeout": BUSY_TIMEOUT_SECONDS})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _: Any) -> None:
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
            # NORMAL, not the ledger's FULL: in WAL mode a commit is still atomic and
            # survives the process being killed; only a power cut may lose the last
            # pages of a read model, and with them their tracking position (they commit
            # together), so the next catch-up applies them again. The events themselves
            # are written through the ledger's own connections, with FULL.
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")

        return engine
    url = URL.create("postgresql+psycopg", username=location.pg_user or None,
                     password=location.pg_password or None, host=location.pg_host,
                     port=int(location.pg_port), database=location.pg_dbname)
    connect_args: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    options = []
    if location.pg_schema:
        # Quoted, as the event tables' schema is. The name was checked to be a plain
        # identifier when the URL was read.
        options.append(f'-c search_path="{location.pg_schema}"')
    if read_only:
        options.append("-c default_transaction_read_only=on")
    if options:
        connect_args["options"] = " ".join(options)
    return create_engine(url, connect_args=connect_args, pool_size=2, max_overflow=2)
