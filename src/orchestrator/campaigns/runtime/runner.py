"""``orchestrator run --until TS``: the engine on a simulated clock, over recorded history.

The clock starts at the earliest unprocessed touchpoint and passes touchpoints in
business-time (``at``) order, resuming due waits and firing cron broadcasts as it passes
them; the journeys published now are in force from the start. A touchpoint counts as
processed once its position is at most the last run's high-water position and its ``at``
at most the last run's clock, so a later run continues where the last one stopped, a
touchpoint recorded late (``at`` before the clock) is taken at the clock, and running to
the same TS twice records nothing twice.

A run is one transaction: it records everything or nothing, so an interrupted run is
simply run again.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid5

from orchestrator.campaigns.runtime.decisions import (
    PolicyDesk,
    PolicyMemory,
    decision_event_fields,
    replies_to_mention,
)
from orchestrator.campaigns.runtime.engine import Emitted, JourneyEngine, cron_firings
from orchestrator.campaigns.runtime.fold import EngineFold
from orchestrator.campaigns.runtime.history import ContactHistory
from orchestrator.campaigns.runtime.versions import (
    PublishedVersion,
    pinned_templates,
)
from orchestrator.domain import events as ev
from orchestrator.domain import journey_events as je
from orchestrator.domain import subjects
from orchestrator.domain.builtin_replies import (
    SMS_HELP_STEP,
    SMS_HELP_TEMPLATE,
    SYSTEM_JOURNEY,
    SYSTEM_VERSION,
    help_reply,
)
from orchestrator.domain.policy import PolicyConfig
from orchestrator.domain.stages import StageThresholds
from orchestrator.domain.vocabulary import CHANNELS
from orchestrator.errors import OrchestratorError
from orchestrator.ingest.touchpoints import TYPES
from orchestrator.rendering.catalog import TemplateCatalog
from orchestrator.store import Store
from orchestrator.store.reader import read_log, stream_events

ENGINE_STREAM = uuid5(subjects.NAMESPACE, "engine:clock")
FAILURES_STREAM = uuid5(subjects.NAMESPACE, "engine:processing-failures")
TOUCHPOINT_TYPE = {spec.event_class: name for name, spec in TYPES.items()}
INTERNAL_FIELDS = ("originator_id", "originator_version", "timestamp")


@dataclass
class RunReport:
    started_at: datetime | None
    until: datetime
    touchpoints: int = 0
    broadcasts: int = 0
    recorded: int = 0
    enrolments: int = 0
    messages: list[str] = field(default_factory=list)
    journeys: int = 0
    decisions: Counter[str] = field(default_factory=Counter)
    unsent: list[str] = field(default_factory=list)
    not_sent_rules: Counter[str] = field(default_factory=Counter)  # deferred/suppressed/held
    fold: Any = field(default=None, repr=False)  # the engine's state after this run


def event_fields(event: Any, touchpoint_type: str) -> dict[str, Any]:
    fields = {k: v for k, v in vars(event).items() if k not in INTERNAL_FIELDS}
    fields["type"] = touchpoint_type
    fields["id"] = event.touchpoint_id
    return fields


@dataclass
class RunComputation:
    """What a run computed before anything is recorded: the facts it emits, its report,
    and what recording them needs (the engine's high-water position and stream version).
    ``emitted`` is None when there was nothing to run (no touchpoint due)."""

    report: RunReport
    emitted: list[Emitted] | None
    high_water: int
    engine_version: int
    memory: PolicyMemory
    fold: EngineFold  # moved on by the run: valid for the next once the run is recorded


def run_until(store: Store, until: datetime, *, recorded_at: datetime, templates_dir: str,
              thresholds: StageThresholds | None = None, policy: PolicyConfig | None = None,
              channels: frozenset[str] = CHANNELS,
              progress: Callable[[int], None] | None = None,
              fold: EngineFold | None = None, record_idle: bool = True) -> RunReport:
    """Run to ``until`` and record what it decided. ``fold``: the engine's state as a
    previous run in this process left it (or loaded from a snapshot), carried on instead
    of replaying the log; it is moved on by this run, and must be dropped if this raises.
    ``record_idle=False`` (the live service's ticks): a run that found nothing to do
    records nothing, not even the clock, so an idle service does not grow the history."""
    computed = compute_run(store, until, recorded_at=recorded_at, templates_dir=templates_dir,
                           thresholds=thresholds, policy=policy, channels=channels,
                           progress=progress, fold=fold)
    report = computed.report
    report.fold = computed.fold
    if computed.emitted is None:
        return report
    if not computed.emitted and not record_idle and not report.touchpoints:
        report.unsent = sorted(computed.memory.unsent)
        return report
    positions = _record(store, computed.emitted, until, computed.high_water,
                        recorded_at, computed.engine_version)
    computed.fold.recorded(positions)
    computed.fold.clock = until
    report.recorded = len(computed.emitted)
    report.unsent = sorted(computed.memory.unsent)
    return report


def compute_run(store: Store, until: datetime, *, recorded_at: datetime, templates_dir: str,
                thresholds: StageThresholds | None = None, policy: PolicyConfig | None = None,
                channels: frozenset[str] = CHANNELS,
                progress: Callable[[int], None] | None = None,
                versions: list[PublishedVersion] | None = None,
                window_from: datetime | None = None,
                fold: EngineFold | None = None) -> RunComputation:
    """The engine and the policy desk over the log, up to ``until``, recording nothing.

    By default this is the next real run: it continues from the engine's recorded clock
    and enrolments. With ``window_from`` it is a what-if (``simulate``, docs/simulate.md):
    the engine's clock is ignored; touchpoints before ``window_from`` are folded into the
    contacts' facts as already processed; the engine's recorded facts dated before it are
    restored as they stood then (enrolments go on; a version that never ran has none);
    decisions and sends before it count toward the caps (a message undecided at the
    window's start is decided in it, one chosen before it is not sent again); and the
    touchpoints from ``window_from`` to ``until`` are played in ``at`` order.
    ``versions`` replaces the published versions (a candidate beside those in force)."""
    thresholds = thresholds or StageThresholds()
    clock, high_water, engine_version = _progress(store)
    if window_from is not None:
        clock, high_water = None, 0  # a what-if does not continue from the engine's clock
        fold = EngineFold(thresholds)
    elif fold is None:
        fold = EngineFold(thresholds)
    fold.history.thresholds = thresholds
    fold.memory.look_up = settled_message_lookup(store)
    fold.clock = clock
    fold.reclassify(clock, high_water)
    last_position = fold.position
    from_the_start = fold.position == 0
    for recorded in _unfolded(store, fold):
        last_position = recorded.position
        fold.take(recorded.position, recorded.event, clock, high_water, window_from)
    if from_the_start:
        fold.erasure_seen = False  # read from the start: erased fields already read erased
    fold.moved_to(last_position)
    versions = fold.versions() if versions is None else versions
    lifecycle = dict(fold.lifecycle)
    fold.engine.use_versions(versions)
    history, engine, memory = fold.history, fold.engine, fold.memory
    desk = PolicyDesk(TemplateCatalog(templates_dir), thresholds, policy, live=channels,
                      pinned=pinned_templates(versions))
    if window_from is not None:
        # Chosen before the window: sent (or not) outside it. Undecided at its start: decided
        # in it, as a run continuing from there would (they take their place in the caps).
        memory.unsent.clear()
    pending = sorted((at, position, event) for position, (at, event) in fold.pending.items())
    due = [item for item in pending if item[0] <= until]
    start = window_from or clock or (due[0][0] if due else None)
    report = RunReport(started_at=start, until=until, journeys=len(engine.latest))
    if start is None or start > until:
        return RunComputation(report, None, high_water, engine_version, memory, fold)
    for _, position, _ in due:
        del fold.pending[position]  # processed by this run (the fold moves on with it)
    engine.apply_lifecycle(lifecycle, start)
    run = _Run(engine, history, memory, desk, until, recorded_at)
    timeline = _timeline(due, engine.broadcasts(), start, until, clock)
    run.collect(timeline)  # enrolments ended by an archive
    for message, decide_at in sorted(memory.undecided.items(), key=lambda i: (i[1], i[0])):
        if decide_at <= until:
            heapq.heappush(timeline, (max(decide_at, start), (2, 0, message), message))
    while timeline:
        moment, _, item = heapq.heappop(timeline)
        if isinstance(item, str):
            run.decide(item, moment, timeline)
        elif isinstance(item, PublishedVersion):
            engine.fire_broadcast(item, moment, history.known_contacts())
            report.broadcasts += 1
        else:
            run.touchpoint(item, moment)
            report.touchpoints += 1
            if progress and report.touchpoints % 5000 == 0:
                progress(report.touchpoints)
        run.collect(timeline)
    engine.advance_to(until)
    run.collect(timeline)
    while timeline:  # decisions due before `until` that the final waits produced
        moment, _, item = heapq.heappop(timeline)
        run.decide(item, moment, timeline)
        run.collect(timeline)
    report.enrolments = sum(1 for e in run.emitted if e.event_class is je.ContactEnrolled)
    report.messages = [e.fields["message"] for e in run.emitted
                       if e.event_class is je.MessageScheduled]
    report.decisions = Counter(e.fields["status"] for e in run.emitted
                               if issubclass(e.event_class, je.MessageDecided))
    report.not_sent_rules = Counter(e.fields["rule"] for e in run.emitted
                                    if issubclass(e.event_class, je.MessageDecided)
                                    and e.fields["status"] != "scheduled")
    run.emitted.extend(
        Emitted(FAILURES_STREAM, je.EventProcessingFailed, {
            "consumer": "engine", "position": position, "event_type": kind, "reason": why})
        for position, (kind, why) in sorted(fold.unusable.items())
        if position not in fold.reported)
    return RunComputation(report, run.emitted, max(last_position, high_water),
                          engine_version, memory, fold)


def settled_message_lookup(store: Store) -> Callable[[str], tuple[str | None, str | None] | None]:
    """Whom a message the fold no longer holds was for, and its last chosen channel, read
    from the message's own stream (``EngineFold.forget_settled`` drops only settled
    messages, whose stream no later decision changes)."""
    def look_up(message: str) -> tuple[str | None, str | None] | None:
        events = stream_events(store, subjects.message_stream(message))
        scheduled = next((e for e in events if isinstance(e, je.MessageScheduled)), None)
        if scheduled is None:
            return None
        chosen = [e.channel for e in events if isinstance(e, je.ChannelChosen)]
        return scheduled.contact, chosen[-1] if chosen else None
    return look_up


def _unfolded(store: Store, fold: EngineFold) -> Iterable[Any]:
    """The events recorded after the fold's position, but for the last run's own (which
    the fold already holds: they are not even read)."""
    if fold.own is None:
        yield from read_log(store, after=fold.position)
        return
    first, last = fold.own
    yield from read_log(store, after=fold.position, upto=first - 1)
    fold.moved_to(last)
    yield from read_log(store, after=last)


class _Run:
    """One run's moving parts: engine outputs are collected as they appear, and every
    message is put to the channel policy at the moment it is scheduled (again at its
    ``not_before`` when deferred)."""

    def __init__(self, engine: JourneyEngine, history: ContactHistory, memory: PolicyMemory,
                 desk: PolicyDesk, until: datetime, recorded_at: datetime):
        self.engine = engine
        self.history = history
        self.memory = memory
        self.desk = desk
        self.until = until
        self.recorded_at = recorded_at
        self.emitted: list[Emitted] = []
        self.own_output: list[Emitted] = []  # built-in replies, decided like the engine's

    def touchpoint(self, event: Any, moment: datetime) -> None:
        touchpoint_type = TOUCHPOINT_TYPE[type(event)]
        fields = event_fields(event, touchpoint_type)
        about = self.history.about(event, self.memory)
        stages_before = {c: self.history.view(c, moment).stage for c in about if c}
        self.history.observe(event)
        self.memory.remember(event)
        if isinstance(event, ev.MessageFeedbackRecorded):
            self.history.observe_feedback(event, self.memory)
        for contact in about:
            self.engine.on_touchpoint(touchpoint_type, event.touchpoint_id, contact, fields,
                                      moment)
            if contact in stages_before:
                _stage_change(self.engine, self.history, contact, stages_before[contact],
                              event, moment)
        if isinstance(event, ev.InboundSmsReceived) and event.keyword == "help":
            for contact in about or [None]:
                self.answer_help(event, contact, moment)

    def answer_help(self, event: ev.InboundSmsReceived, contact: str | None,
                    moment: datetime) -> None:
        """An SMS HELP is answered on SMS with the brand's help text: a message like any
        other, decided by the policy (no consent needed: the person asked)."""
        message, enrolment = help_reply(event.touchpoint_id, contact or "")
        if message in self.memory.scheduled:
            return
        item = Emitted(subjects.message_stream(message), je.MessageScheduled, {
            "message": message, "enrolment": enrolment, "contact": contact,
            "journey": SYSTEM_JOURNEY, "version": SYSTEM_VERSION, "step": SMS_HELP_STEP,
            "intent": "service", "audience": "personal", "template": SMS_HELP_TEMPLATE,
            "trigger": event.touchpoint_id, "at": moment.isoformat()})
        self.own_output.append(item)

    def collect(self, timeline: list) -> None:
        produced, self.own_output = [*self.engine.drain(), *self.own_output], []
        for item in produced:
            self.emitted.append(item)
            if item.event_class is je.MessageScheduled:
                scheduled = as_event(item, self.recorded_at)
                self.memory.remember(scheduled)
                self.decide(scheduled.message, datetime.fromisoformat(scheduled.at), timeline)

    def decide(self, message: str, moment: datetime, timeline: list) -> None:
        scheduled = self.memory.scheduled[message]
        if message not in self.memory.undecided:
            return  # decided meanwhile
        version = self.engine.versions.get((scheduled.journey, scheduled.version))
        is_reply = replies_to_mention(version)
        state = self.history.contacts.get(scheduled.contact) if scheduled.contact else None
        decision = self.desk.decide(scheduled, state, self.memory, is_reply, moment)
        event_class = je.DECISION_CLASSES[decision.status]
        item = Emitted(subjects.message_stream(message), event_class,
                       decision_event_fields(scheduled, decision, moment,
                                             self.memory.released.get(message)))
        self.emitted.append(item)
        self.memory.remember(as_event(item, self.recorded_at))
        if decision.status == "deferred" and decision.not_before is not None and (
                decision.not_before <= self.until):
            heapq.heappush(timeline, (decision.not_before, (2, 0, message), message))


def as_event(item: Emitted, recorded_at: datetime) -> Any:
    """An emitted fact as the event it becomes when recorded (not recorded here)."""
    return item.event_class(originator_id=item.stream, originator_version=1,
                            timestamp=recorded_at, **item.fields)


def _stage_change(engine: JourneyEngine, history: ContactHistory, contact: str,
                  before: str | None, event: Any, moment: datetime) -> None:
    """Entering a stage is a touchpoint of its own (``stage.entered``) for journeys."""
    after = history.view(contact, moment).stage
    if after != before:
        engine.on_touchpoint("stage.entered", f"{event.touchpoint_id}:stage:{after}", contact,
                             {"type": "stage.entered", "stage": after, "at": event.at,
                              "id": f"{event.touchpoint_id}:stage:{after}"}, moment)


def _timeline(due: list[tuple[datetime, int, Any]], broadcasts: Iterable[PublishedVersion],
              start: datetime, until: datetime,
              clock: datetime | None) -> list[tuple[datetime, tuple[int, int, str], Any]]:
    """A heap (not a sorted list): decisions deferred during the run are pushed into it."""
    """Touchpoints and cron firings in time order. A touchpoint recorded late is taken at
    the clock; cron firings are those strictly after the last clock."""
    items: list[tuple[datetime, tuple[int, int, str], Any]] = []
    for at, position, event in due:
        moment = max(at, clock) if clock else at
        items.append((moment, (1, position, ""), event))
    fired_after = clock or (start - timedelta(microseconds=1))
    for version in broadcasts:
        for fired in cron_firings(version, fired_after, until):
            items.append((fired, (0, 0, version.id), version))
    heapq.heapify(items)
    return items


class RunSuperseded(OrchestratorError):
    """Another run advanced the engine while this one was computing: what this one
    computed is stale and is not recorded (run again, from the other run's clock)."""

    exit_code = 1


def _progress(store: Store) -> tuple[datetime | None, int, int]:
    """The engine's clock, its high-water position, and the version of its stream."""
    events = list(store.ledger.events.get(ENGINE_STREAM, desc=True, limit=1))
    if not events:
        return None, 0, 0
    latest = events[0]
    return datetime.fromisoformat(latest.clock), latest.high_water, latest.originator_version


def _record(store: Store, emitted: list[Any], until: datetime, high_water: int,
            recorded_at: datetime, engine_version: int) -> list[int]:
    clock = Emitted(ENGINE_STREAM, je.EngineAdvanced,
                    {"clock": until.isoformat(), "high_water": high_water})
    with store.write() as unit:
        # Checked under the writer lock: the engine's stream is the run's whole input,
        # so if it moved, another run recorded first and everything here may repeat it.
        head = unit.tables.stream_versions([ENGINE_STREAM]).get(ENGINE_STREAM, 0)
        if head != engine_version:
            raise RunSuperseded(f"the engine moved to version {head} during this run")
        return unit.append_facts([*emitted, clock], recorded_at=recorded_at)
