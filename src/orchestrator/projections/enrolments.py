"""How many contacts are in each journey version, and how many have finished it."""

from __future__ import annotations

from orchestrator.domain import journey_events as je
from orchestrator.store import Store
from orchestrator.store.reader import read_log


def enrolment_counts(store: Store) -> dict[tuple[str, int], tuple[int, int]]:
    """(journey, version) -> (active, ended), folded from the engine's own facts."""
    version_of: dict[str, tuple[str, int]] = {}
    active: dict[tuple[str, int], int] = {}
    ended: dict[tuple[str, int], int] = {}
    for recorded in read_log(store, only=(je.ContactEnrolled, je.EnrolmentEnded)):
        event = recorded.event
        if isinstance(event, je.ContactEnrolled):
            key = (event.journey, event.version)
            version_of[event.enrolment] = key
            active[key] = active.get(key, 0) + 1
        else:
            key = version_of.get(event.enrolment)
            if key is not None:
                active[key] -= 1
                ended[key] = ended.get(key, 0) + 1
    return {key: (active.get(key, 0), ended.get(key, 0)) for key in set(active) | set(ended)}
