"""The journey engine: enrolments moving through steps as touchpoints and time arrive.

Pure: no clock, no store. The caller feeds it touchpoints (in business-time order), tells
it when time has passed (``advance_to``) and when a broadcast fires, and collects the facts
it records (``drain``). State is rebuilt from those same facts (``restore``), so a later run
continues exactly where an earlier one stopped.

Rules where the SPEC leaves room (see docs/decisions.md):
- one active enrolment per contact and journey; without ``reentry`` a contact enters a
  journey once; with it, not again until ``reentry`` after its last entry; a broadcast
  reaches its segment at every firing, ``reentry`` being the least gap between entries;
- after a ``wait_until``, ``wait`` (outcome, event) is in the context of later
  expressions, recorded as ``WaitEnded``; a ``message.*`` touchpoint ends a wait only
  when it is about a message of that enrolment;
- the touchpoint is applied to the contact before triggers are evaluated (a first purchase
  makes ``contact.stage == 'light_buyer'`` true for that very purchase);
- a condition that cannot be evaluated ends the enrolment with ``failed:...`` (recorded,
  never swallowed);
- in a broadcast, public steps run once per firing (enrolment without contact) and private
  steps once per segment contact.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid5

from orchestrator.campaigns.language.expressions import ExpressionFailed
from orchestrator.campaigns.language.journey import (
    BranchStep,
    EndStep,
    Journey,
    ScheduleTrigger,
    SendStep,
    TouchpointTrigger,
    WaitStep,
    WaitUntilStep,
)
from orchestrator.campaigns.runtime.packed import PackedSections
from orchestrator.campaigns.runtime.versions import PublishedVersion
from orchestrator.domain import journey_events as je
from orchestrator.domain.new_fact import NewFact
from orchestrator.domain.subjects import NAMESPACE, message_stream

MAX_STEPS_WITHOUT_WAIT = 1000
SEGMENT_BATCH = 5000  # contacts whose segment is evaluated in one run (bounds the views held)
# Touchpoint fields left out of ``wait.event`` as recorded (it lives in the enrolment's
# stream, which ``forget`` does not erase).
PERSONAL_FIELDS = frozenset({"email", "phone", "address", "attributes", "handle", "text",
                             "body", "author", "evidence"})


@dataclass
class Enrolment:
    id: str
    journey: str
    version: int
    contact: str | None
    trigger: str
    started_at: datetime
    step: str | None = None
    due: datetime | None = None
    waiting_for: str | None = None
    visits: dict[str, int] = field(default_factory=dict)
    ended: bool = False
    wait: dict[str, Any] | None = None  # how the last wait_until ended: outcome, event


Emitted = NewFact  # what the engine emits: facts the store numbers when it records them


ContextFor = Callable[[str | None, datetime], Any]  # contact key, moment -> contact view


ENGINE_STATE = ("enrolments", "active_by_contact", "last_entry", "message_enrolment", "_due")


class JourneyEngine(PackedSections):
    def __init__(self, versions: Iterable[PublishedVersion], contact_view: ContextFor):
        self.versions: dict[tuple[str, int], PublishedVersion] = {}
        self.latest: dict[str, PublishedVersion] = {}
        self.use_versions(versions)
        self.contact_view = contact_view
        self.enrolments: dict[str, Enrolment] = {}
        self.active_by_contact: dict[str | None, set[str]] = {}
        self.last_entry: dict[tuple[str, str | None], datetime] = {}
        self.message_enrolment: dict[str, str] = {}
        self._due: list[tuple[datetime, str, str]] = []
        self._out: list[Emitted] = []
        self.halted: set[str] = set()  # paused or archived journeys (apply_lifecycle)
        self.not_before: datetime | None = None
        # Restored from a snapshot with the due heap still packed: nothing is due before
        # this (the heap's earliest entry then), so a run before it need not unpack it.
        self.nothing_due_before: datetime | None = None

    def use_versions(self, versions: Iterable[PublishedVersion]) -> None:
        """The journey versions published now (a run's engine state outlives the run;
        the versions are read again by each run)."""
        self.versions, self.latest = {}, {}
        for version in sorted(versions, key=lambda v: (v.id, v.version)):
            self.versions[(version.id, version.version)] = version
            self.latest[version.id] = version

    # --- inputs ---------------------------------------------------------------------------

    def on_touchpoint(self, touchpoint_type: str, touchpoint_id: str, contact: str | None,
                      event: dict[str, Any], now: datetime) -> None:
        """A touchpoint about ``contact`` happened at ``now`` (the contact's facts already
        include it)."""
        self.advance_to(now)
        for enrolment in self._active(contact):
            self._react(enrolment, touchpoint_type, touchpoint_id, event, now)
        for version in self._triggered_by(touchpoint_type, event.get("stage")):
            self._maybe_enrol(version, contact, touchpoint_id, touchpoint_type, event, now)

    def advance_to(self, now: datetime) -> None:
        """Resume every wait that is due by ``now``, each at its own due time."""
        if self.still_packed("_due") and (self.nothing_due_before is None
                                          or now < self.nothing_due_before):
            return
        held = []
        while self._due and self._due[0][0] <= now:
            entry = heapq.heappop(self._due)
            due, _, enrolment_id = entry
            enrolment = self.enrolments.get(enrolment_id)
            if enrolment is None or enrolment.ended or enrolment.due != due:
                continue  # resumed early by its event, or ended meanwhile
            if enrolment.journey in self.halted:
                held.append(entry)  # held by a pause: due again in the run after resume
                continue
            moment = max(due, self.not_before or due)
            self._wait_ended(enrolment, "timeout", None, None, moment)
            self._resume(enrolment, moment)
        for entry in held:  # kept: the engine's state outlives the run (resume needs them)
            heapq.heappush(self._due, entry)

    def fire_broadcast(self, version: PublishedVersion, fired_at: datetime,
                       contacts: Iterable[str]) -> None:
        self.advance_to(fired_at)
        journey = version.journey
        trigger = f"cron:{fired_at.isoformat()}"
        sends = [s for s in journey.steps if isinstance(s, SendStep)]
        if any(s.is_public for s in sends):
            self._enrol(version, None, trigger, "schedule", fired_at)
        if any(not s.is_public for s in sends):
            segment = journey.trigger.segment if isinstance(journey.trigger,
                                                            ScheduleTrigger) else None
            entering = [c for c in sorted(contacts) if self._may_enter(journey, c, fired_at)]
            for start in range(0, len(entering), SEGMENT_BATCH):
                batch = entering[start:start + SEGMENT_BATCH]
                if segment is not None:  # one compiled run over the batch, not one a contact
                    holds = segment.holds_for_each([
                        self._context(contact, {}, version, fired_at) for contact in batch])
                    batch = [c for c, held in zip(batch, holds, strict=True) if held]
                for contact in batch:
                    self._enrol(version, contact, trigger, "schedule", fired_at)

    def broadcasts(self) -> list[PublishedVersion]:
        return [v for v in self.latest.values()
                if v.journey.is_broadcast and v.id not in self.halted]

    def drain(self) -> list[Emitted]:
        out, self._out = self._out, []
        return out

    # --- lifecycle (journeys pause|resume|archive) ------------------------------------------

    def apply_lifecycle(self, states: dict[str, str], start: datetime) -> None:
        """Put each journey's lifecycle state in force from ``start``, the run's first moment
        (after ``restore``): archived journeys' enrolments end with reason ``archived``;
        paused and archived journeys enrol no one and move no one on; a wait that came due
        while its journey was paused goes on at ``start`` of the first run after resume."""
        self.halted = {journey for journey, state in states.items() if state != "active"}
        self.not_before = start
        archived = {journey for journey, state in states.items() if state == "archived"}
        if not archived:
            return  # (most runs: no need to look at every enrolment)
        for enrolment in sorted((e for e in self.enrolments.values()
                                 if e.journey in archived), key=lambda e: e.id):
            self._end(enrolment, "archived", start)

    def forget_settled(self, messages: Iterable[str]) -> None:
        """Drop ``messages`` (their enrolments have ended: no wait looks for them) and the
        due entries a resumed or ended wait left behind in the heap."""
        for message in messages:
            self.message_enrolment.pop(message, None)
        enrolments = self.enrolments
        self._due = list({entry for entry in self._due
                          if (e := enrolments.get(entry[2])) is not None and e.due == entry[0]})
        heapq.heapify(self._due)
        for contact in [c for c, ids in self.active_by_contact.items() if not ids]:
            del self.active_by_contact[contact]

    # --- restoring from recorded facts ------------------------------------------------------

    def restore(self, event: Any) -> None:
        if isinstance(event, je.ContactEnrolled):
            at = datetime.fromisoformat(event.at)
            enrolment = Enrolment(event.enrolment, event.journey, event.version, event.contact,
                                  event.trigger, at)
            self.enrolments[enrolment.id] = enrolment
            self.active_by_contact.setdefault(event.contact, set()).add(enrolment.id)
            self.last_entry[(event.journey, event.contact)] = at
        elif isinstance(event, je.StepEntered):
            enrolment = self.enrolments[event.enrolment]
            enrolment.step = event.step
            enrolment.visits[event.step] = enrolment.visits.get(event.step, 0) + 1
            enrolment.due = datetime.fromisoformat(event.due) if event.due else None
            enrolment.waiting_for = event.waiting_for
            if enrolment.due is not None:
                heapq.heappush(self._due, (enrolment.due, enrolment.id, enrolment.id))
        elif isinstance(event, je.EnrolmentEnded):
            enrolment = self.enrolments.pop(event.enrolment, None)
            if enrolment is not None:
                enrolment.ended = True
                self.active_by_contact.get(enrolment.contact, set()).discard(enrolment.id)
        elif isinstance(event, je.WaitEnded):
            enrolment = self.enrolments.get(event.enrolment)
            if enrolment is not None:
                enrolment.wait = {"outcome": event.outcome, "event": event.event}
        elif isinstance(event, je.MessageScheduled):
            self.message_enrolment[event.message] = event.enrolment

    # --- reacting -------------------------------------------------------------------------------

    def _active(self, contact: str | None) -> list[Enrolment]:
        ids = sorted(self.active_by_contact.get(contact, ()))
        return [self.enrolments[i] for i in ids if i in self.enrolments]

    def _react(self, enrolment: Enrolment, touchpoint_type: str, touchpoint_id: str,
               event: dict[str, Any], now: datetime) -> None:
        version = self.versions[(enrolment.journey, enrolment.version)]
        journey = version.journey
        if touchpoint_type in journey.exit_on:
            self._end(enrolment, f"exit:{touchpoint_type}", now)
            return
        goal = journey.goal
        if goal is not None and goal.on == touchpoint_type and (
                goal.stage is None or goal.stage == event.get("stage")) and (
                goal.within is None or now - enrolment.started_at <= goal.within) and (
                goal.condition is None or self._holds(goal.condition, enrolment.contact, event,
                                                      version, now)):
            self._end(enrolment, "goal", now)
            return
        if (enrolment.waiting_for == touchpoint_type and enrolment.journey not in self.halted
                and self._concerns(enrolment, touchpoint_type, event)):
            self._wait_ended(enrolment, "event", touchpoint_id, event, now)
            self._resume(enrolment, now)

    def _concerns(self, enrolment: Enrolment, touchpoint_type: str,
                  event: dict[str, Any]) -> bool:
        """A ``message.*`` touchpoint ends a wait only when it is about a message of the
        same enrolment; any other touchpoint of the awaited type ends it."""
        if not touchpoint_type.startswith("message."):
            return True
        return self.message_enrolment.get(event.get("message") or "") == enrolment.id

    def _triggered_by(self, touchpoint_type: str, stage: str | None) -> list[PublishedVersion]:
        found = []
        for version in self.latest.values():
            trigger = version.journey.trigger
            if isinstance(trigger, TouchpointTrigger) and trigger.on == touchpoint_type and (
                    trigger.stage is None or trigger.stage == stage) and (
                    version.id not in self.halted):
                found.append(version)
        return sorted(found, key=lambda v: v.id)

    def _maybe_enrol(self, version: PublishedVersion, contact: str | None, touchpoint_id: str,
                     touchpoint_type: str, event: dict[str, Any], now: datetime) -> None:
        journey = version.journey
        if not self._may_enter(journey, contact, now):
            return
        condition = journey.trigger.condition  # type: ignore[union-attr]
        if condition is not None and not self._holds(condition, contact, event, version, now):
            return
        self._enrol(version, contact, touchpoint_id, touchpoint_type, now)

    def _may_enter(self, journey: Journey, contact: str | None, now: datetime) -> bool:
        enrolments = self.enrolments
        if any(enrolments[i].journey == journey.id
               for i in self.active_by_contact.get(contact, ()) if i in enrolments):
            return False  # still in it (for a broadcast: the previous firing's enrolment)
        last = self.last_entry.get((journey.id, contact))
        if last is None:
            return True
        if journey.is_broadcast:  # every firing; reentry is the least gap between two
            return journey.reentry is None or now - last >= journey.reentry
        return journey.reentry is not None and now - last >= journey.reentry

    def _holds(self, expression: Any, contact: str | None, event: dict[str, Any],
               version: PublishedVersion, now: datetime) -> bool:
        try:
            return bool(expression.evaluate(self._context(contact, event, version, now)))
        except ExpressionFailed:
            return False

    def _context(self, contact: str | None, event: dict[str, Any], version: PublishedVersion,
                 now: datetime, wait: dict[str, Any] | None = None) -> dict[str, Any]:
        context = {"contact": self.contact_view(contact, now), "event": event,
                   "journey": {"id": version.id, "version": version.version}}
        if wait is not None:
            context["wait"] = wait
        return context

    # --- moving through steps ---------------------------------------------------------------

    def _enrol(self, version: PublishedVersion, contact: str | None, trigger: str,
               trigger_type: str, now: datetime) -> None:
        key = f"{version.id}@{version.version}:{contact}:{trigger}"
        stream = uuid5(NAMESPACE, f"enrolment:{key}")
        enrolment = Enrolment(stream.hex, version.id, version.version, contact, trigger, now)
        self.enrolments[enrolment.id] = enrolment
        self.active_by_contact.setdefault(contact, set()).add(enrolment.id)
        self.last_entry[(version.id, contact)] = now
        self._emit(stream, je.ContactEnrolled, enrolment=enrolment.id, journey=version.id,
                   version=version.version, contact=contact, trigger=trigger,
                   trigger_type=trigger_type, at=now.isoformat())
        self._run(enrolment, version.journey.first_step.id, now)

    def _resume(self, enrolment: Enrolment, now: datetime) -> None:
        journey = self.versions[(enrolment.journey, enrolment.version)].journey
        enrolment.due = enrolment.waiting_for = None
        self._run(enrolment, journey.next_step_id(enrolment.step), now)

    def _run(self, enrolment: Enrolment, step_id: str | None, now: datetime) -> None:
        version = self.versions[(enrolment.journey, enrolment.version)]
        journey = version.journey
        for _ in range(MAX_STEPS_WITHOUT_WAIT):
            if step_id is None:
                self._end(enrolment, "completed", now)
                return
            step = journey.step(step_id)
            enrolment.step = step_id
            enrolment.visits[step_id] = enrolment.visits.get(step_id, 0) + 1
            if isinstance(step, SendStep):
                self._step(enrolment, step_id, "send", now)
                self._send(enrolment, step, version, now)
                step_id = journey.next_step_id(step_id)
            elif isinstance(step, WaitStep):
                self._wait(enrolment, step_id, "wait", now + step.duration, None, now)
                return
            elif isinstance(step, WaitUntilStep):
                self._wait(enrolment, step_id, "wait_until", now + step.timeout, step.on, now)
                return
            elif isinstance(step, BranchStep):
                try:
                    goto = step.choose(self._context(enrolment.contact, {}, version, now,
                                                     enrolment.wait))
                except ExpressionFailed as failure:
                    self._end(enrolment, f"failed:branch {step_id}: {failure}", now)
                    return
                self._step(enrolment, step_id, "branch", now, goto=goto)
                step_id = goto
            elif isinstance(step, EndStep):
                self._step(enrolment, step_id, "end", now)
                self._end(enrolment, "end", now)
                return
        self._end(enrolment, "failed:too many steps without a wait", now)

    def _send(self, enrolment: Enrolment, step: SendStep, version: PublishedVersion,
              now: datetime) -> None:
        broadcast = version.journey.is_broadcast
        if broadcast and step.is_public != (enrolment.contact is None):
            return  # public steps go out once per firing, private ones once per contact
        visit = enrolment.visits[step.id]
        message = "msg-" + uuid5(NAMESPACE, f"message:{enrolment.id}:{step.id}:{visit}").hex[:24]
        self.message_enrolment[message] = enrolment.id
        self._emit(message_stream(message), je.MessageScheduled, message=message,
                   enrolment=enrolment.id, contact=enrolment.contact, journey=enrolment.journey,
                   version=enrolment.version, step=step.id, intent=step.intent,
                   audience=step.audience, template=step.template, trigger=enrolment.trigger,
                   at=now.isoformat())

    def _wait(self, enrolment: Enrolment, step_id: str, kind: str, due: datetime,
              waiting_for: str | None, now: datetime) -> None:
        enrolment.due, enrolment.waiting_for = due, waiting_for
        heapq.heappush(self._due, (due, enrolment.id, enrolment.id))
        self._step(enrolment, step_id, kind, now, due=due, waiting_for=waiting_for)

    def _wait_ended(self, enrolment: Enrolment, outcome: str, touchpoint: str | None,
                    event: dict[str, Any] | None, now: datetime) -> None:
        """Record how a wait_until ended (a plain wait records nothing: ``wait`` keeps
        the last wait_until's outcome)."""
        if enrolment.waiting_for is None:
            return
        touchpoint_type = enrolment.waiting_for if outcome == "event" else None
        if event is not None:  # kept in the enrolment's stream: no personal data there
            event = {k: v for k, v in event.items() if k not in PERSONAL_FIELDS}
        enrolment.wait = {"outcome": outcome, "event": event}
        self._emit(UUID(enrolment.id), je.WaitEnded, enrolment=enrolment.id,
                   step=enrolment.step, outcome=outcome, touchpoint=touchpoint,
                   touchpoint_type=touchpoint_type, event=event, at=now.isoformat())

    def _step(self, enrolment: Enrolment, step_id: str, kind: str, now: datetime, *,
              due: datetime | None = None, waiting_for: str | None = None,
              goto: str | None = None) -> None:
        self._emit(UUID(enrolment.id), je.StepEntered, enrolment=enrolment.id, step=step_id,
                   kind=kind, at=now.isoformat(), due=due.isoformat() if due else None,
                   waiting_for=waiting_for, goto=goto)

    def _end(self, enrolment: Enrolment, reason: str, now: datetime) -> None:
        enrolment.ended = True
        enrolment.due = None
        self.enrolments.pop(enrolment.id, None)
        self.active_by_contact.get(enrolment.contact, set()).discard(enrolment.id)
        self._emit(UUID(enrolment.id), je.EnrolmentEnded, enrolment=enrolment.id,
                   reason=reason, at=now.isoformat())

    def _emit(self, stream: UUID, event_class: type, **fields: Any) -> None:
        self._out.append(Emitted(stream, event_class, fields))


def cron_firings(version: PublishedVersion, after: datetime, until: datetime) -> list[datetime]:
    """Every time the broadcast's schedule fires in ``(after, until]``."""
    trigger = version.journey.trigger
    assert isinstance(trigger, ScheduleTrigger)
    cron = trigger.cron_trigger()
    firings: list[datetime] = []
    previous = None
    moment = after + timedelta(microseconds=1)
    while True:
        fire = cron.get_next_fire_time(previous, moment)
        if fire is None or fire > until:
            return firings
        if fire > after:
            firings.append(fire)
        previous = fire
        moment = fire + timedelta(microseconds=1)
