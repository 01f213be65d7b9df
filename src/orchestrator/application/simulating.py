"""Use case: ``orchestrator simulate FILE.yaml --from TS --to TS``, a what-if.

The candidate journey runs over the recorded touchpoints of the window beside the version
in force, on the same engine and policy desk as ``run --until`` (``compute_run``), and the
messages the policy chose are rendered in memory on the path a real send takes
(``outbound_message``). The store is opened read-only: nothing is sent and nothing is
written. Semantics and limits: docs/simulate.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from orchestrator.application.dispatch import UNRENDERABLE, DispatchSettings, outbound_message
from orchestrator.application.journeys import validate_journeys
from orchestrator.application.running import dispatch_settings
from orchestrator.application.stores import store_of
from orchestrator.campaigns.runtime.lifecycle import (
    ACTIVE,
    ARCHIVED,
    LifecycleRefused,
    lifecycle_states,
)
from orchestrator.campaigns.runtime.runner import as_event, compute_run
from orchestrator.campaigns.runtime.simulation import journey_summary
from orchestrator.campaigns.runtime.versions import (
    PublishedVersion,
    VersionRenderers,
    candidate_version,
    published_versions,
)
from orchestrator.domain import journey_events as je
from orchestrator.errors import UsageError
from orchestrator.store import Store
from orchestrator.store.reader import contact_states

RECIPIENTS_BATCH = 200  # recipients read together, as the dispatcher reads a claim batch


@dataclass(frozen=True)
class Simulation:
    start: datetime
    end: datetime
    candidate: dict[str, Any]
    in_force: dict[str, Any] | None

    def as_json(self) -> dict[str, Any]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat(),
                "candidate": self.candidate, "in_force": self.in_force}


def simulate(app: Any, path: str, start: datetime, end: datetime, *,
             progress: Callable[[str, int], None] | None = None) -> Simulation:
    """Run the candidate in ``path`` over ``start``..``end`` beside the version in force
    of the same journey (``in_force`` is None when it has none). ``progress(label,
    touchpoints)`` is called as the touchpoints are played."""
    if start > end:
        raise UsageError(f"--from {start.isoformat()} is after --to {end.isoformat()}")
    journey = validate_journeys(app, [path])[0]
    with store_of(app, read_only=True) as store:
        published = published_versions(store)
        states = lifecycle_states(store)
        if states.get(journey.id) == ARCHIVED:
            raise LifecycleRefused(f"journey {journey.id} is archived: archiving is final; "
                                   f"simulate it under a new `journey:` id")
        in_force = max((v for v in published if v.id == journey.id),
                       key=lambda v: v.version, default=None)
        candidate = candidate_version(journey, in_force, app.settings.templates_dir,
                                      author=app.settings.actor, now=app.now())
        held = frozenset(j for j, state in states.items() if state != ACTIVE)
        beside = [v for v in published if (v.id, v.version) != (candidate.id,
                                                               candidate.version)]
        what_if = _run(app, store, [*beside, candidate], candidate, start, end, held,
                       _labelled(progress, "candidate"))
        if in_force is None:
            as_is = None
        elif in_force is candidate:  # publishing the file would change nothing
            as_is = what_if
        else:
            as_is = _run(app, store, published, in_force, start, end, held,
                         _labelled(progress, "in force"))
    return Simulation(start, end, what_if, as_is)


def _labelled(progress: Callable[[str, int], None] | None, label: str
              ) -> Callable[[int], None] | None:
    return None if progress is None else (lambda touchpoints: progress(label, touchpoints))


def _run(app: Any, store: Store, versions: list[PublishedVersion], shown: PublishedVersion,
         start: datetime, end: datetime, held: frozenset[str],
         progress: Callable[[int], None] | None) -> dict[str, Any]:
    settings = app.settings
    now = app.now()
    computed = compute_run(store, end, recorded_at=now, templates_dir=settings.templates_dir,
                           thresholds=settings.thresholds, policy=settings.policy,
                           channels=settings.channels_in_force, progress=progress,
                           versions=versions, window_from=start)
    facts = [as_event(item, now) for item in computed.emitted or []]
    memory = computed.memory
    chosen = [memory.scheduled[m] for m in sorted(memory.unsent)
              if memory.scheduled[m].journey == shown.id and shown.id not in held]
    renderer = VersionRenderers(store, settings.templates_dir, versions=versions)
    handed_over = _render_in_memory(store, chosen, memory.channel_of, renderer,
                                    dispatch_settings(app))
    return journey_summary(shown.id, shown.version, facts, handed_over)


def _render_in_memory(store: Store, messages: list[je.MessageScheduled],
                      channel_of: dict[str, str], renderer: VersionRenderers,
                      settings: DispatchSettings) -> dict[str, str | None]:
    """Each chosen message built for its channel as a real send builds it, and dropped:
    None when it could be sent, else why not (it would fail)."""
    outcomes: dict[str, str | None] = {}
    for first in range(0, len(messages), RECIPIENTS_BATCH):
        batch = messages[first:first + RECIPIENTS_BATCH]
        recipients = contact_states(store, {m.contact for m in batch if m.contact})
        for message in batch:
            try:
                outbound_message(store, message, channel_of[message.message], renderer,
                                 settings, contacts=recipients)
                outcomes[message.message] = None
            except UNRENDERABLE as error:
                outcomes[message.message] = f"{type(error).__name__}: {error}"
    return outcomes
