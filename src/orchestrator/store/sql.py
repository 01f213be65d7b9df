"""The SQLAlchemy engine on the store's own database (read models live beside the events)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import URL, Engine, create_engine, event

from orchestrator.persistence.sqlite import BUSY_TIMEOUT_SECONDS


def engine_for(location: Any) -> Engine:
    if location.backend == "sqlite":
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
    return create_engine(url, connect_args={"options": options} if options else {},
                         pool_size=2, max_overflow=2)
