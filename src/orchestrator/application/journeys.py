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


STEP_KINDS = {"SendStep": "send", "WaitStep": "wait", "WaitUntilStep": "wait_until",
              "BranchStep": "branch", "EndStep": "end"}


def show_journey(app: Any, journey: str, version: int | None = None) -> dict[str, Any]:
    """``journeys show``: the version (the latest unless given) as recorded, its state,
    templates and counts per step."""
    from orchestrator.domain.journey_events import JourneyPublished
    from orchestrator.projections.contact_directory import message_rows
    from orchestrator.projections.journey_steps import step_counts
    from orchestrator.projections.runner import read_directory
    from orchestrator.store.reader import read_log
    with store_of(app, read_only=True) as store:
        published = [r.event for r in read_log(store, only=(JourneyPublished,))
                     if r.event.journey == journey]
        if not published:
            raise LifecycleRefused(f"no journey {journey!r} is published")
        chosen = published[-1] if version is None else next(
            (e for e in published if e.version == version), None)
        if chosen is None:
            raise LifecycleRefused(f"journey {journey!r} has no version {version} (versions "
                                   f"1 to {published[-1].version})")
        parsed = {v.version: v for v in published_versions(store) if v.id == journey}
        model = read_directory(store)
        status = {row["id"]: row["status"] for row in (
            message_rows(model.directory.view, None) if model.directory else [])}
        counts = step_counts(store, journey, chosen.version, status)
        state = lifecycle_states(store).get(journey, "active")
    definition = parsed[chosen.version].journey
    templates = sorted({s.template for s in definition.steps if getattr(s, "template", None)})
    files = _template_files(chosen.templates, templates, app.settings.templates_dir)
    empty = {"at_now": 0, "entered": 0, "messages": {}}
    return {"journey": journey, "version": chosen.version, "state": state,
            "latest_version": published[-1].version, "digest": chosen.digest,
            "author": chosen.author, "published_at": chosen.published_at,
            "source_path": chosen.source_path, "source": chosen.source,
            "templates": files,
            "steps": [{"id": step.id, "kind": STEP_KINDS.get(type(step).__name__, "step"),
                       **counts.get(step.id, empty)} for step in definition.steps]}


def _template_files(pinned: dict[str, str] | None, names: list[str],
                    templates_dir: str) -> dict[str, list[str]]:
    """The files each template of the version has: those pinned when it was published
    (what it renders), or the folder's for a version published before pinning."""
    if pinned is None:
        from orchestrator.rendering.catalog import TemplateCatalog
        catalog = TemplateCatalog(templates_dir)
        return {name: sorted(catalog.files(name) or ()) for name in names}
    return {name: sorted(path.split("/", 1)[1] for path in pinned
                         if path.split("/", 1)[0] == name) for name in names}
