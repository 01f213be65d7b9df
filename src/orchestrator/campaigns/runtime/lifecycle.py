"""``journeys pause|resume|archive``: a journey's lifecycle state, recorded on its stream.

States: ``active`` (after publishing), ``paused``, ``archived`` (final). The state a run
uses is the one recorded last; it is in force from where the engine's clock stood when it
was recorded, i.e. from the next run's first moment (or from the start, before any run).
"""

from __future__ import annotations

from datetime import datetime

from orchestrator.campaigns.runtime.versions import journey_stream, published_versions
from orchestrator.domain import journey_events as je
from orchestrator.domain.new_fact import NewFact
from orchestrator.errors import UsageError
from orchestrator.store import Store
from orchestrator.store.reader import read_log

ACTIVE, PAUSED, ARCHIVED = "active", "paused", "archived"
ACTIONS: dict[str, tuple[type, str]] = {"pause": (je.JourneyPaused, PAUSED),
                                        "resume": (je.JourneyResumed, ACTIVE),
                                        "archive": (je.JourneyArchived, ARCHIVED)}
STATE_OF = {cls: state for cls, state in ACTIONS.values()}


class LifecycleRefused(UsageError):
    """Pause, resume or archive of an unknown journey, or a change its state forbids."""


def lifecycle_states(store: Store) -> dict[str, str]:
    """Each journey's lifecycle state in force now (journeys never paused are absent)."""
    states: dict[str, str] = {}
    for recorded in read_log(store, only=(je.JourneyPaused, je.JourneyResumed,
                                          je.JourneyArchived)):
        states[recorded.event.journey] = STATE_OF[type(recorded.event)]
    return states


def check_change(journey: str, action: str, state: str | None) -> None:
    """Raise LifecycleRefused unless ``action`` may be taken in ``state`` (None: unknown)."""
    if state is None:
        raise LifecycleRefused(f"no journey {journey!r} is published")
    if state == ARCHIVED:
        raise LifecycleRefused(f"journey {journey!r} is archived: archiving is final")
    if action == "resume" and state != PAUSED:
        raise LifecycleRefused(f"journey {journey!r} is not paused ({state})")
    if action == "pause" and state == PAUSED:
        raise LifecycleRefused(f"journey {journey!r} is paused already")


def change_lifecycle(store: Store, journey: str, action: str, *, actor: str,
                     note: str | None, now: datetime) -> str:
    """Record the change on the journey's stream; return the new state."""
    event_class, new_state = ACTIONS[action]
    with store.write() as unit:
        known = {v.id for v in published_versions(store, latest_only=True)}
        state = lifecycle_states(store).get(journey, ACTIVE) if journey in known else None
        check_change(journey, action, state)
        unit.append_facts([NewFact(journey_stream(journey), event_class, {
            "journey": journey, "actor": actor, "note": note, "at": now.isoformat()})],
            recorded_at=now)
    return new_state
