"""Journey versions: ``journeys publish`` records an immutable version; the engine reads
them back. A version is the exact file that was validated, so what ran can always be
shown, and a published journey is re-read from its own recorded text, never from disk.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from uuid import UUID, uuid5

from orchestrator.campaigns.language.journey import Journey
from orchestrator.campaigns.language.problems import JourneyInvalid
from orchestrator.campaigns.language.validation import parse_journey, validate_files
from orchestrator.domain.journey_events import JourneyPublished
from orchestrator.domain.new_fact import NewFact
from orchestrator.domain.subjects import NAMESPACE
from orchestrator.rendering.catalog import TemplateCatalog
from orchestrator.rendering.layout import TEMPLATE_FILES
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
    outcomes = []
    with store.write() as unit:
        latest = {v.id: v for v in published_versions(store, latest_only=True)}
        events = []
        for journey in journeys:
            current = latest.get(journey.id)
            if current is not None and current.digest == journey.source_digest:
                outcomes.append(PublishOutcome(journey.id, current.version, current.digest,
                                               new=False))
                continue
            # The journey's stream holds its versions and its lifecycle changes
            # (pause/resume/archive), so the journey version is counted from the versions.
            stream = journey_stream(journey.id)
            version = (current.version if current else 0) + 1
            events.append(NewFact(stream, JourneyPublished, {
                "journey": journey.id, "version": version, "digest": journey.source_digest,
                "author": author, "published_at": now.isoformat(),
                "source_path": journey.source_path, "source": sources[journey.id]}))
            outcomes.append(PublishOutcome(journey.id, version, journey.source_digest, new=True))
        if events:
            unit.append_facts(events, recorded_at=now)
    return outcomes


def published_versions(store: Store, *, latest_only: bool = False) -> list[PublishedVersion]:
    """Every published version (or each journey's latest), oldest first."""
    versions: dict[tuple[str, int], PublishedVersion] = {}
    for recorded in read_log(store, only=(JourneyPublished,)):
        event = recorded.event
        journey = parse_journey(event.source.encode("utf-8"), event.source_path,
                                _AnyTemplate())
        versions[(event.journey, event.version)] = PublishedVersion(
            journey, event.version, event.digest, event.author, event.published_at,
            event.source_path)
    ordered = sorted(versions.values(), key=lambda v: (v.id, v.version))
    if latest_only:
        latest: dict[str, PublishedVersion] = {}
        for version in ordered:
            latest[version.id] = version
        return list(latest.values())
    return ordered


__all__ = ["JourneyInvalid", "PublishOutcome", "PublishedVersion", "journey_stream", "publish",
           "published_versions"]
