"""Use case: ``orchestrator status``: the live service as it stands (docs/workers.md).

Read-only (an operator's reader role that cannot write sees the same): the leader (the
scheduler member that says it leads and still beats), the workers (alive and gone), how
far each consumer of the log is behind its head (the read models' tracking position;
the engine's high-water mark, from its latest ``EngineAdvanced``), and the dispatch
queue's counts: due, in flight, in doubt, to retry later, held by a paused journey, and
the dead letters. ``/metrics`` of ``serve`` shows the same figures.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from orchestrator.application.stores import store_of
from orchestrator.campaigns.runtime.runner import ENGINE_STREAM
from orchestrator.projections import dispatch_queue
from orchestrator.projections.contact_directory import ContactDirectory
from orchestrator.projections.members import members
from orchestrator.projections.view import SQLAlchemyView
from orchestrator.store import Store


def live_status(app: Any) -> dict[str, Any]:
    with store_of(app, read_only=True) as store:
        return status_of(store, app.now())


def status_of(store: Store, now: datetime) -> dict[str, Any]:
    """The figures of ``status --json`` (see docs/workers.md for each field)."""
    head = store.max_position()
    everyone = members(store.engine)
    leaders = [m for m in everyone if m.role == "scheduler" and m.leader and m.alive(now)]
    workers = [m for m in everyone if m.role == "worker"]
    view = SQLAlchemyView(store.engine, ContactDirectory.name)
    has_view = view.has_tables()
    tracked = (view.max_tracking_id(store.ledger.name) or 0) if has_view else None
    engine = list(store.ledger.events.get(ENGINE_STREAM, desc=True, limit=1))
    high_water = engine[0].high_water if engine else None
    figures = dispatch_queue.figures(store.engine, now) if has_view else None
    return {
        "at": now.isoformat(),
        "head": head,
        "leader": leaders[0].as_json(now) if leaders else None,
        "workers": [m.as_json(now) for m in workers],
        "workers_alive": sum(1 for m in workers if m.alive(now)),
        "lag": {
            "read_model": {"position": tracked,
                           "behind": None if tracked is None else head - tracked},
            "engine": {"position": high_water,
                       "clock": engine[0].clock if engine else None,
                       "behind": None if high_water is None else head - high_water},
        },
        "due": figures.due if figures else None,
        "in_doubt": figures.in_doubt if figures else None,
        "dead_letters": figures.dead_letters if figures else None,
        "in_flight": figures.in_flight if figures else None,
        "retry_later": figures.retry_later if figures else None,
        "held": figures.held if figures else None,
    }
