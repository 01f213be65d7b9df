"""The SQLAlchemy engine on the store's own database (read models live beside the events)."""

from __future__ import annotations

import pathlib
import sqlite3
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event

from orchestrator.persistence.sqlite import BUSY_TIMEOUT_SECONDS


def engine_for(location: Any, *, read_only: bool = False) -> Engine:
    """Read-only: SQLite opened with ``mode=ro``, PostgreSQL sessions read-only, so a
    reader cannot change the read models either (nor needs the right to)."""
    if location.backend == "sqlite":
        if read_only:
            path = pathlib.Path(location.sqlite_path).resolve().as_uri()
            return create_engine("sqlite://", creator=lambda: sqlite3.connect(
                f"{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_SECONDS,
                check_same_thread=False))
        engine = create_engine(f"sqlite:///{location.sqlite_path}",
                               connect_args={"timeout": BUSY_TIMEOUT_SECONDS})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _: Any) -> None:
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
            dbapi_connection.execute("PRAGMA synchronous=FULL")

        return engine
    url = URL.create("postgresql+psycopg", username=location.pg_user or None,
                     password=location.pg_password or None, host=location.pg_host,
                     port=int(location.pg_port), database=location.pg_dbname)
    options = f"-c search_path={location.pg_schema}" if location.pg_schema else ""
    if read_only:
        options = f"{options} -c default_transaction_read_only=on".strip()
    return create_engine(url, connect_args={"options": options} if options else {},
                         pool_size=2, max_overflow=2)
