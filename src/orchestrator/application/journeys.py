"""Use cases of the journey lifecycle: validate, publish, list, pause, resume, archive."""

from __future__ import annotations

from typing import Any

from orchestrator.application.stores import store_of
from orchestrator.application.tail import finish_write
from orchestrator.campaigns.language.problems import JourneyInvalid
from orchestrator.campaigns.language.validation import validate_files
from orchestrator.campaigns.runtime.lifecycle import (
    ARCHIVED,
    LifecycleRefused,
    change_lifecycle,
    lifecycle_states,
)
from orchestrator.campaigns.runtime.versions import PublishOutcome, publish, published_versions
from orchestrator.projections.enrolments import enrolment_counts


def validate_journeys(app: Any, files: list[str]) -> list[Any]:
    journeys, problems = validate_files(files, app.settings.templates_dir)
    if problems:
        raise JourneyInvalid(problems)
    return journeys


def publish_journeys(app: Any, files: list[str], *, author: str | None = None
                     ) -> list[PublishOutcome]:
    with store_of(app) as store:
        journeys = validate_journeys(app, files)
        archived = sorted({j.id for j in journeys}
                          & {j for j, s in lifecycle_states(store).items() if s == ARCHIVED})
        if archived:
            raise LifecycleRefused(f"journey {', '.join(archived)} is archived: archiving is "
                                   f"final; publish it under a new `journey:` id")
        outcomes = publish(store, files, app.settings.templates_dir,
                           author=author or app.settings.actor, now=app.now())
        if any(outcome.new for outcome in outcomes):
            finish_write(app, store)
    return outcomes


def journey_versions(app: Any) -> list[dict[str, Any]]:
    with store_of(app, read_only=True) as store:
        versions = published_versions(store)
        counts = enrolment_counts(store)
        states = lifecycle_states(store)
    return [{"journey": v.id, "version": v.version, "digest": v.digest, "author": v.author,
             "published_at": v.published_at, "state": states.get(v.id, "active"),
             "kind": "broadcast" if v.journey.is_broadcast else "contact",
             "active": counts.get((v.id, v.version), (0, 0))[0],
             "ended": counts.get((v.id, v.version), (0, 0))[1]} for v in versions]


def change_journey(app: Any, journey: str, action: str, *, actor: str | None,
                   note: str | None) -> tuple[str, str]:
    """``journeys pause|resume|archive``: record the change; return (actor, new state)."""
    actor = actor or app.settings.actor
    with store_of(app) as store:
        state = change_lifecycle(store, journey, action, actor=actor, note=note, now=app.now())
        finish_write(app, store)
    return actor, state
