"""How many contacts are in each journey version, and how many have finished it."""

from __future__ import annotations

from eventsourcing.utils import get_topic

from orchestrator.domain import journey_events as je
from orchestrator.store import Store


def enrolment_counts(store: Store) -> dict[tuple[str, int], tuple[int, int]]:
    """(journey, version) -> (active, ended), folded from the engine's own facts."""
    topics = [get_topic(je.ContactEnrolled), get_topic(je.EnrolmentEnded)]
    version_of: dict[str, tuple[str, int]] = {}
    active: dict[tuple[str, int], int] = {}
    ended: dict[tuple[str, int], int] = {}
    after = 0
    while True:
        page = store.recorder.select_notifications(after + 1, 2000, topics=topics)
        if not page:
            break
        for notification in page:
            event = store.ledger.mapper.to_domain_event(notification)
            if isinstance(event, je.ContactEnrolled):
                key = (event.journey, event.version)
                version_of[event.enrolment] = key
                active[key] = active.get(key, 0) + 1
            else:
                key = version_of.get(event.enrolment)
                if key is not None:
                    active[key] -= 1
                    ended[key] = ended.get(key, 0) + 1
        after = page[-1].id
    return {key: (active.get(key, 0), ended.get(key, 0)) for key in set(active) | set(ended)}
