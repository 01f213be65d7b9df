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
from sqlalchemy.dialects import postgresql, sqlite

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
    """Insert rows; on a key conflict replace the other columns (or keep the row)."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table)
    if update:
        columns = {c.name: statement.excluded[c.name] for c in table.columns
                   if c.name not in keys}
        statement = statement.on_conflict_do_update(index_elements=keys, set_=columns)
    else:
        statement = statement.on_conflict_do_nothing(index_elements=keys)
    conn.execute(statement, list(rows))
