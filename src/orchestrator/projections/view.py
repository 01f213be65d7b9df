"""A materialised view in SQLAlchemy that is also an eventsourcing ``TrackingRecorder``.

The view's rows and its tracking position change in one transaction. The library's
``max_tracking_id`` / ``insert_tracking`` interface is kept, so the library's projection
runners can drive these views too; ``orchestrator.projections.runner.catch_up`` drives
them synchronously from the command line.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import Tracking, TrackingRecorder
from sqlalchemy import Engine, inspect, select

from orchestrator.projections import tables as t


class SQLAlchemyView(TrackingRecorder):
    def __init__(self, engine: Engine, projection: str):
        self.engine = engine
        self.projection = projection

    def has_tables(self) -> bool:
        tables = set(inspect(self.engine).get_table_names())
        return all(table.name in tables for table in (t.tracking, *t.VIEW_TABLES))

    def create_tables(self) -> None:
        t.metadata.create_all(self.engine)

    def drop_tables(self, family: str | None = None) -> None:
        """Drop the view's tables and its tracking (of every version of ``family``)."""
        with self.engine.begin() as conn:
            for table in t.VIEW_TABLES:
                table.drop(conn, checkfirst=True)
            t.tracking.create(conn, checkfirst=True)
            conn.execute(t.tracking.delete().where(
                t.tracking.c.projection.startswith(family + "@") if family
                else t.tracking.c.projection == self.projection))

    def stale_versions(self, family: str) -> list[str]:
        """Tracking rows left by other versions of this projection."""
        with self.engine.connect() as conn:
            return list(conn.execute(select(t.tracking.c.projection).where(
                t.tracking.c.projection.startswith(family + "@")
                & (t.tracking.c.projection != self.projection))).scalars())

    def track(self, conn: Any, projection: str, tracking: Tracking) -> None:
        upsert(conn, t.tracking, [{"projection": projection,
                                   "application": tracking.application_name,
                                   "position": tracking.notification_id}],
               ["projection", "application"])

    def insert_tracking(self, tracking: Tracking) -> None:
        with self.engine.begin() as conn:
            self.track(conn, self.projection, tracking)

    def max_tracking_id(self, application_name: str) -> int | None:
        with self.engine.connect() as conn:
            return conn.execute(select(t.tracking.c.position).where(
                (t.tracking.c.projection == self.projection)
                & (t.tracking.c.application == application_name))).scalar()


def upsert(conn: Any, table: Any, rows: Sequence[dict[str, Any]], keys: list[str], *,
           update: bool = True) -> None:
    """Insert rows; on a key conflict replace the other columns (or keep the row).

    One ``INSERT ... ON CONFLICT`` statement (the same text on SQLite and PostgreSQL), made
    once per table and sent with plain tuples through the driver's ``executemany``: the
    rows are already the columns' values, so nothing of SQLAlchemy's per-row parameter
    processing is needed. A column a row leaves out takes the column's default."""
    if not rows:
        return
    statement, columns = _upsert_statement(conn.dialect, table, tuple(keys), update)
    defaults = _defaults(table)
    conn.exec_driver_sql(statement, [
        tuple([row[name] if name in row else defaults[name] for name in columns])
        for row in rows])


_STATEMENTS: dict[tuple[str, str, tuple[str, ...], bool], tuple[str, tuple[str, ...]]] = {}


def _upsert_statement(dialect: Any, table: Any, keys: tuple[str, ...],
                      update: bool) -> tuple[str, tuple[str, ...]]:
    cache_key = (dialect.name, table.name, keys, update)
    found = _STATEMENTS.get(cache_key)
    if found is not None:
        return found
    quote = dialect.identifier_preparer.quote
    columns = tuple(column.name for column in table.columns)
    marker = "%s" if dialect.paramstyle in ("format", "pyformat") else "?"
    text = (f"INSERT INTO {dialect.identifier_preparer.format_table(table)} "
            f"({', '.join(quote(name) for name in columns)}) "
            f"VALUES ({', '.join([marker] * len(columns))}) "
            f"ON CONFLICT ({', '.join(quote(name) for name in keys)}) ")
    others = [name for name in columns if name not in keys]
    if update and others:
        text += "DO UPDATE SET " + ", ".join(f"{quote(name)} = excluded.{quote(name)}"
                                             for name in others)
    else:
        text += "DO NOTHING"
    found = _STATEMENTS[cache_key] = (text, columns)
    return found


_DEFAULTS: dict[str, dict[str, Any]] = {}


def _defaults(table: Any) -> dict[str, Any]:
    found = _DEFAULTS.get(table.name)
    if found is None:
        found = _DEFAULTS[table.name] = _column_defaults(table)
    return found


def _column_defaults(table: Any) -> dict[str, Any]:
    return {column.name: (column.default.arg if column.default is not None
                          and column.default.is_scalar else None)
            for column in table.columns}
