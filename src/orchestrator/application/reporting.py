"""Use cases: ``orchestrator report --html`` (the store read only, one self-contained
page written) and ``journeys graph FILE --svg`` (one definition drawn).

The engine's facts are streamed from the log into the counters; message counts come from
the ``messages`` read model, so the page and ``messages --json`` always agree.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.application.journeys import validate_journeys
from orchestrator.application.stores import store_of
from orchestrator.audit.report_data import (
    FlowCounter,
    MessageCounts,
    VersionFlow,
    Window,
    count_messages,
    selected_messages,
)
from orchestrator.campaigns.runtime.lifecycle import lifecycle_states
from orchestrator.campaigns.runtime.versions import PublishedVersion, published_versions
from orchestrator.domain import journey_events as je
from orchestrator.errors import UsageError
from orchestrator.projections.contact_directory import message_rows
from orchestrator.projections.runner import read_directory
from orchestrator.report.graph import journey_graph
from orchestrator.report.page import (
    HistoryRow,
    ReportPage,
    VersionSection,
    draw,
    funnel,
    message_charts,
    render_graph_svg,
    render_page,
)
from orchestrator.store.reader import read_log

LIFECYCLE = {je.JourneyPaused: "paused", je.JourneyResumed: "resumed",
             je.JourneyArchived: "archived"}


@dataclass(frozen=True)
class Written:
    path: Path
    versions: int
    messages: int
    behind: int


def write_report(app: Any, out: str, *, journey: str | None = None,
                 window: Window | None = None) -> Written:
    window = window or Window()
    if window.start and window.end and window.start > window.end:
        raise UsageError(f"--from {window.start.isoformat()} is after --to "
                         f"{window.end.isoformat()}")
    target = _writable(out)
    with store_of(app, read_only=True) as store:
        versions = published_versions(store)
        if journey is not None and journey not in {v.id for v in versions}:
            known = ", ".join(sorted({v.id for v in versions})) or "none"
            raise UsageError(f"no journey {journey!r} is published (published: {known})")
        states = lifecycle_states(store)
        history = _history(store, journey)
        counter = FlowCounter(window, journey)
        for recorded in read_log(store, only=FlowCounter.FACTS):
            counter.add(recorded.event)
        model = read_directory(store)
        rows = message_rows(model.directory.view) if model.directory else []
    messages = count_messages(selected_messages(rows, window, journey))
    flows = counter.flows()
    latest = {v.id: v.version for v in versions}
    sections = [_section(version, flows, states, messages, n,
                         latest=version.version == latest[version.id])
                for n, version in enumerate(_shown(versions, flows, journey))]
    page = ReportPage(generated_at=app.now().isoformat(timespec="seconds"),
                      store=app.settings.redacted_store_url, window=window, journey=journey,
                      behind=model.behind, sections=sections, messages=messages,
                      history=history, charts=message_charts(messages))
    _write_atomically(target, render_page(page))
    return Written(target, len(sections), messages.total, model.behind)


def write_journey_svg(app: Any, file: str, out: str) -> Path:
    """Validated as ``journeys validate`` does (the same problems, exit 2, nothing
    written), then drawn."""
    [journey] = validate_journeys(app, [file])
    target = _writable(out)
    _write_atomically(target, render_graph_svg(journey))
    return target


def _shown(versions: list[PublishedVersion], flows: dict[tuple[str, int], VersionFlow],
           journey: str | None) -> list[PublishedVersion]:
    """Each journey's latest version, and every older one with traffic in the window;
    newest first within a journey."""
    latest = {v.id: v.version for v in versions}
    shown = [v for v in versions if (journey is None or v.id == journey)
             and (v.version == latest[v.id] or (v.id, v.version) in flows)]
    return sorted(shown, key=lambda v: (v.id, -v.version))


def _section(version: PublishedVersion, flows: dict[tuple[str, int], VersionFlow],
             states: dict[str, str], messages: MessageCounts, index: int, *,
             latest: bool) -> VersionSection:
    flow = flows.get((version.id, version.version)) or VersionFlow(version.id,
                                                                   version.version)
    graph = journey_graph(version.journey, version.version, flow)
    return VersionSection(version.journey, version.version,
                          states.get(version.id, "active"), latest,
                          flow, draw(graph, f"g{index}"),
                          funnel(version.journey, flow, messages))


def _history(store: Any, journey: str | None) -> list[HistoryRow]:
    """Versions published and lifecycle changes, in the order they were recorded."""
    rows = []
    for recorded in read_log(store, only=(je.JourneyPublished, *LIFECYCLE)):
        event = recorded.event
        if journey is not None and event.journey != journey:
            continue
        if isinstance(event, je.JourneyPublished):
            rows.append(HistoryRow(event.journey, f"published version {event.version}",
                                   event.author, event.published_at,
                                   f"sha256 {event.digest[:12]} from {event.source_path}"))
        else:
            rows.append(HistoryRow(event.journey, LIFECYCLE[type(event)], event.actor,
                                   event.at, event.note or ""))
    return rows


def _writable(out: str) -> Path:
    target = Path(out).resolve()
    if not target.parent.is_dir():
        raise UsageError(f"{out}: no folder {target.parent} to write it in")
    if target.is_dir():
        raise UsageError(f"{out} is a folder; give a file name")
    return target


def _write_atomically(target: Path, text: str) -> None:
    """All or nothing: a reader never sees half a page, a failure leaves no file."""
    try:
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    except OSError as error:
        raise UsageError(f"cannot write {target}: {error.strerror}") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # as an ordinary new file, not mkstemp's 0600
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
