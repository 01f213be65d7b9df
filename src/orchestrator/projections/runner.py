"""Bring read models up to date with the ledger, synchronously.

Reads the notification log after the view's tracking position, a page at a time, and
hands each page to the projection; each page commits with its tracking position.

On PostgreSQL, several processes may finish writing at once (runs, dispatchers, ``serve``):
a catch-up takes a session advisory lock first and reads its starting position under
it, so two never apply the same events side by side (which could deadlock on the rows
both update, and does no good).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from eventsourcing.persistence import Tracking
from sqlalchemy import text

from orchestrator.projections.contact_directory import ContactDirectory
from orchestrator.projections.view import SQLAlchemyView
from orchestrator.store import Store, cycle_collector_paused
from orchestrator.store.reader import event_pages

PAGE = 5000


def open_directory(store: Store) -> ContactDirectory:
    """The directory's view, rebuilt from scratch when it was made by another version of
    the projection (its rows would be missing what this version keeps)."""
    view = SQLAlchemyView(store.engine, ContactDirectory.name)
    view.create_tables()
    if view.stale_versions(ContactDirectory.family):
        view.drop_tables(ContactDirectory.family)
        view.create_tables()
    return ContactDirectory(view)


@dataclass(frozen=True)
class ReadModel:
    """The directory as it is, for readers, and how far behind the store it is."""

    directory: ContactDirectory | None  # None: no read model was ever built here
    behind: int


def read_directory(store: Store) -> ReadModel:
    """The directory for reading only: nothing is created or caught up (a reader may have
    no right to write), so the result says how many events it has not applied yet."""
    view = SQLAlchemyView(store.engine, ContactDirectory.name)
    head = store.max_position()
    if not view.has_tables():
        return ReadModel(None, head)
    return ReadModel(ContactDirectory(view),
                     head - (view.max_tracking_id(store.ledger.name) or 0))


def catch_up(store: Store, projection: ContactDirectory,
             progress: Callable[[int], None] | None = None) -> int:
    """Apply every event recorded after the projection's position; returns how many."""
    with _one_at_a_time(store):
        return _catch_up(store, projection, progress)


CATCH_UP_LOCK = "orchestrator:read-model-catch-up"


@contextlib.contextmanager
def _one_at_a_time(store: Store) -> Iterator[None]:
    if store.engine.dialect.name != "postgresql":
        yield  # SQLite serialises writers itself
        return
    with store.engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(hashtext(:key))"), {"key": CATCH_UP_LOCK})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(hashtext(:key))"),
                         {"key": CATCH_UP_LOCK})
            conn.commit()


def _catch_up(store: Store, projection: ContactDirectory,
              progress: Callable[[int], None] | None) -> int:
    application = store.ledger.name
    after = projection.view.max_tracking_id(application) or 0
    applied = 0
    with cycle_collector_paused():
        for last, events in event_pages(store, after=after, page_size=PAGE):
            projection.process_page(events, Tracking(application, last))
            applied += len(events)
            if progress:
                progress(applied)
    return applied


def rebuild(store: Store) -> ContactDirectory:
    view = SQLAlchemyView(store.engine, ContactDirectory.name)
    view.drop_tables(ContactDirectory.family)
    projection = open_directory(store)
    catch_up(store, projection)
    return projection
