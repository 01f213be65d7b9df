"""``journeys show``: one journey version's steps with their counts, folded from the
engine's facts (contacts at each step now, how many entered it, messages by status)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from orchestrator.domain import journey_events as je
from orchestrator.store import Store
from orchestrator.store.reader import read_log


def step_counts(store: Store, journey: str, version: int,
                message_status: dict[str, str]) -> dict[str, dict[str, Any]]:
    """step id -> {"at_now", "entered", "messages": {status: n}} for ``journey@version``;
    ``message_status`` maps message ids to their status now (the messages read model)."""
    ours: set[str] = set()
    current: dict[str, str] = {}
    entered: Counter[str] = Counter()
    messages: dict[str, Counter[str]] = {}
    for recorded in read_log(store, only=(je.ContactEnrolled, je.StepEntered,
                                          je.EnrolmentEnded, je.MessageScheduled)):
        event = recorded.event
        if isinstance(event, je.ContactEnrolled):
            if (event.journey, event.version) == (journey, version):
                ours.add(event.enrolment)
        elif event.enrolment not in ours:
            continue
        elif isinstance(event, je.StepEntered):
            current[event.enrolment] = event.step
            entered[event.step] += 1
        elif isinstance(event, je.EnrolmentEnded):
            current.pop(event.enrolment, None)
        else:
            status = message_status.get(event.message, "scheduled")
            messages.setdefault(event.step, Counter())[status] += 1
    at_now = Counter(current.values())
    steps = set(entered) | set(messages)
    return {step: {"at_now": at_now.get(step, 0), "entered": entered.get(step, 0),
                   "messages": dict(sorted(messages.get(step, Counter()).items()))}
            for step in steps}
