"""The SQLAlchemy engine on the store's own database (read models live beside the events)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import URL, Engine, create_engine, event

from orchestrator.persistence.postgres import CONNECT_TIMEOUT_SECONDS
from orchestrator.persistence.sqlite import BUSY_TIMEOUT_SECONDS


def engine_for(location: Any) -> Engine:
    if location.backend == "sqlite":
        # URL.create: the path is taken as it is, never parsed ('?' or '#' in a name).
        engine = create_engine(URL.create("sqlite", database=location.sqlite_path),
                               connect_args={"timeout": BUSY_TIMEOUT_SECONDS})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _: Any) -> None:
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
            dbapi_connection.execute("PRAGMA synchronous=FULL")

        return engine
    url = URL.create("postgresql+psycopg", username=location.pg_user or None,
                     password=location.pg_password or None, host=location.pg_host,
                     port=int(location.pg_port), database=location.pg_dbname)
    connect_args: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    if location.pg_schema:
        # Quoted, as the event tables' schema is: "Marketing" stays Marketing. The name
        # was checked to be a plain identifier when the URL was read.
        connect_args["options"] = f'-c search_path="{location.pg_schema}"'
    return create_engine(url, connect_args=connect_args, pool_size=2, max_overflow=2)
