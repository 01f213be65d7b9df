"""Journey versions: ``journeys publish`` records an immutable version; the engine reads
them back. A version is the exact file that was validated, so what ran can always be
shown, and a published journey is re-read from its own recorded text, never from disk.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from uuid import UUID, uuid5

from orchestrator.campaigns.language.journey import Journey, SendStep
from orchestrator.campaigns.language.problems import JourneyInvalid
from orchestrator.campaigns.language.validation import parse_journey, validate_files
from orchestrator.domain.journey_events import JourneyPublished
from orchestrator.domain.new_fact import NewFact
from orchestrator.domain.subjects import NAMESPACE
from orchestrator.rendering.catalog import TemplateCatalog
from orchestrator.rendering.layout import TEMPLATE_FILES
from orchestrator.rendering.limits import RenderLimits
from orchestrator.rendering.pinning import pin_templates, version_digest
from orchestrator.rendering.renderer import TemplateRenderer
from orchestrator.store import Store
from orchestrator.store.reader import read_log


def journey_stream(journey_id: str) -> UUID:
    return uuid5(NAMESPACE, f"journey:{journey_id}")


@dataclass(frozen=True)
class PublishedVersion:
    journey: Journey
    version: int
    digest: str
    author: str
    published_at: str
    source_path: str
    # ``NAME/FILE`` -> text pinned at publish; None for versions older than pinning.
    templates: dict[str, str] | None = None

    @property
    def id(self) -> str:
        return self.journey.id


class _AnyTemplate(TemplateCatalog):
    """Templates were checked when the version was published; reading it back later
    must not depend on what the templates folder holds today."""

    def __init__(self) -> None:
        super().__init__(".")

    def files(self, name: str) -> frozenset[str] | None:
        return frozenset(TEMPLATE_FILES)


@dataclass(frozen=True)
class PublishOutcome:
    journey: str
    version: int
    digest: str
    new: bool


def publish(store: Store, paths: Iterable[str], templates_dir: str, *, author: str,
            now: datetime) -> list[PublishOutcome]:
    """Validate every file first; publish nothing if any has a problem. A file whose
    content is the journey's latest version already is not published again."""
    paths = list(paths)
    journeys, problems = validate_files(paths, templates_dir)
    if problems:
        raise JourneyInvalid(problems)
    sources = {journey.id: Path(journey.source_path).read_text(encoding="utf-8")
               for journey in journeys}
    pinned = {journey.id: pin_templates(templates_dir, _template_names(journey))
              for journey in journeys}
    digests = {journey.id: version_digest(journey.source_digest, pinned[journey.id])
               for journey in journeys}
    outcomes = []
    with store.write() as unit:
        latest = {v.id: v for v in published_versions(store, latest_only=True)}
        events = []
        for journey in journeys:
            current = latest.get(journey.id)
            digest = digests[journey.id]
            if current is not None and current.digest == digest:
                outcomes.append(PublishOutcome(journey.id, current.version, current.digest,
                                               new=False))
                continue
            # The journey's stream holds its versions and its lifecycle changes
            # (pause/resume/archive), so the journey version is counted from the versions.
            stream = journey_stream(journey.id)
            version = (current.version if current else 0) + 1
            events.append(NewFact(stream, JourneyPublished, {
                "journey": journey.id, "version": version, "digest": digest,
                "author": author, "published_at": now.isoformat(),
                "source_path": journey.source_path, "source": sources[journey.id],
                "templates": pinned[journey.id]}))
            outcomes.append(PublishOutcome(journey.id, version, digest, new=True))
        if events:
            unit.append_facts(events, recorded_at=now)
    return outcomes


def candidate_version(journey: Journey, latest: PublishedVersion | None, templates_dir: str,
                      *, author: str, now: datetime) -> PublishedVersion:
    """The version ``publish`` would record for a validated journey, without recording it
    (``simulate``): the next version of its id with the templates pinned as the folder
    holds them now; the latest version itself when publishing would change nothing."""
    pinned = pin_templates(templates_dir, _template_names(journey))
    digest = version_digest(journey.source_digest, pinned)
    if latest is not None and latest.digest == digest:
        return latest
    return PublishedVersion(journey, (latest.version if latest else 0) + 1, digest, author,
                            now.isoformat(), journey.source_path, pinned)


def published_versions(store: Store, *, latest_only: bool = False) -> list[PublishedVersion]:
    """Every published version (or each journey's latest), oldest first."""
    ordered = versions_of(recorded.event
                          for recorded in read_log(store, only=(JourneyPublished,)))
    if latest_only:
        latest: dict[str, PublishedVersion] = {}
        for version in ordered:
            latest[version.id] = version
        return list(latest.values())
    return ordered


def versions_of(published: Iterable[JourneyPublished]) -> list[PublishedVersion]:
    """The versions these facts published, parsed again from their recorded source."""
    versions: dict[tuple[str, int], PublishedVersion] = {}
    for event in published:
        journey = parse_journey(event.source.encode("utf-8"), event.source_path,
                                _AnyTemplate())
        versions[(event.journey, event.version)] = PublishedVersion(
            journey, event.version, event.digest, event.author, event.published_at,
            event.source_path, getattr(event, "templates", None))
    return sorted(versions.values(), key=lambda v: (v.id, v.version))


def pinned_templates(versions: Iterable[PublishedVersion]
                     ) -> dict[tuple[str, int], dict[str, str]]:
    """(journey, version) -> the ``NAME/FILE`` texts pinned with it (versions published
    before pinning are left out: they render from the folder)."""
    return {(v.id, v.version): v.templates for v in versions if v.templates is not None}


def _template_names(journey: Journey) -> list[str]:
    return sorted({step.template for step in journey.steps if isinstance(step, SendStep)})


class VersionRenderers(TemplateRenderer):
    """Renders each message from the templates pinned in its journey version; messages
    of no journey (SMS HELP replies) and versions published before pinning render from
    the templates folder. Each version's templates are compiled once per run."""

    def __init__(self, store: Store, templates_dir: str | os.PathLike[str], *,
                 limits: RenderLimits | None = None,
                 versions: Iterable[PublishedVersion] | None = None):
        super().__init__(templates_dir, limits=limits)
        self._store = store
        # A what-if renders a candidate that is not published: its versions are given.
        self._given = None if versions is None else list(versions)
        self._versions: dict[tuple[str, int], TemplateRenderer] | None = None

    def for_version(self, journey: str | None, version: int | None) -> TemplateRenderer:
        if journey is None or version is None:
            return self
        if self._versions is None:
            self._versions = {
                (v.id, v.version): TemplateRenderer(self.directory, limits=self.limits,
                                                    pinned=v.templates)
                for v in (published_versions(self._store) if self._given is None
                          else self._given) if v.templates is not None}
        return self._versions.get((journey, version), self)


__all__ = [
    "JourneyInvalid",
    "PublishOutcome",
    "PublishedVersion",
    "VersionRenderers",
    "candidate_version",
    "journey_stream",
    "pinned_templates",
    "publish",
    "published_versions",
    "versions_of",
]
