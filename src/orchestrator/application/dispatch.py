"""Sending what the policy chose: claim, render, hand to the channel, record what happened.

This is the only place that calls channel adapters. It runs after the decisions are
committed (an outbox: a chosen message is sent at least once) and keeps these promises:

- **An attempt is recorded before the provider call** (``MessageClaimed``, in a
  transaction that checks no other dispatcher claimed it first) **and its outcome after**
  (``MessageSent``, ``MessageRetryScheduled``, ``ChannelRejected``, ``MessageFailed``...).
  Outcomes are recorded every :data:`OUTCOME_FLUSH` messages or every
  :data:`OUTCOME_FLUSH_SECONDS`, so a crash leaves few claims without an outcome: those
  in flight and those answered in the last moment.
- A claim whose lease ran out with no outcome is **in doubt** (the dispatcher died, or the
  provider's answer was lost). The next dispatcher reconciles it before anything else:
  provider feedback about the message (a webhook) or the provider's own record (Twilio:
  a lookup) proves it went out; a provider that honours our idempotency key (Mastodon,
  the outbox folders) is simply asked again; email is sent again, a duplicate only inside
  that recorded window; **SMS is never sent again blindly**: without proof either way it
  stays ``in_doubt`` for a person to look at.
- "Later" from a provider (429, 5xx, timeouts, an open circuit) is retried briefly in
  the process (:mod:`orchestrator.application.sending`), then recorded with a retry time
  (back-off with jitter, honouring ``Retry-After``); after :data:`MAX_ATTEMPTS` hand-overs
  the message is dead-lettered (``failed``, ``dead_letter``).
- A permanent refusal on a private channel asks the policy again without that channel
  (failover, recorded as a decision); a public message never moves. A recipient who
  opted out at the provider (Twilio 21610) also stops that channel for the contact.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

from orchestrator.application.composing import (
    DispatchSettings,
    compose,
    contact_context,
    recipient_address,
)
from orchestrator.application.contact_memory import contact_policy_memory
from orchestrator.application.sending import Sender, retry_delay
from orchestrator.campaigns.runtime.failover import (
    failover_decision,
    rejected_channels,
)
from orchestrator.channels.errors import (
    ChannelConfigurationError,
    PermanentRejection,
    RecipientOptedOut,
    TransientFailure,
)
from orchestrator.channels.message import InReplyTo, OutboundMessage, SendResult
from orchestrator.domain import events as ev
from orchestrator.domain import journey_events as je
from orchestrator.domain import subjects
from orchestrator.domain.builtin_replies import SMS_HELP_TEMPLATE
from orchestrator.domain.events import ERASED
from orchestrator.domain.new_fact import NewFact
from orchestrator.rendering import TemplateError, TemplateRenderer
from orchestrator.store import Store
from orchestrator.store.reader import (
    contact_state,
    contact_states,
    stream_events,
    streams_events,
    touchpoint_event,
)

APPEND_BATCH = 500
CLAIM_BATCH = 200
CLAIM_LEASE = timedelta(minutes=5)
OUTCOME_FLUSH = 50
OUTCOME_FLUSH_SECONDS = 0.1  # ...or this often, whichever comes first
MAX_ATTEMPTS = 8
CONCURRENCY = 16
IN_FLIGHT_PER_WORKER = 4  # hand-overs queued a worker: the pool never idles while the
# dispatching thread claims, renders or records
FAILOVER_PASSES = 3  # email fails, then sms, then mail: at most one pass per private channel

# What building a message can fail with: it cannot be sent on that channel as it is.
UNRENDERABLE = (PermanentRejection, TemplateError)

# Provider feedback that proves a message left: the provider had it.
_PROOF_OF_SENDING = (ev.MessageDelivered, ev.MessageOpened, ev.MessageClicked,
                     ev.MessageBounced)


@dataclass
class DispatchReport:
    sent: int = 0
    failed: int = 0
    retry_later: int = 0
    claimed_elsewhere: int = 0  # another dispatcher had claimed them first
    in_doubt: int = 0  # handed over, outcome unknown: left for reconciliation
    reconciled: int = 0  # found to have been sent by an earlier attempt
    failed_over: int = 0  # refused on one private channel, chosen for another
    dead_lettered: int = 0
    held_by_lifecycle: int = 0  # of a paused or archived journey: left chosen, unclaimed
    claimed: int = 0  # claims this dispatcher won (hand-overs it took on)
    released: int = 0  # claimed, then given back before any hand-over (a stop)
    left_in_doubt: list[str] = field(default_factory=list)  # messages of ``in_doubt``
    by_channel: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0  # wall-clock time of the dispatch phase (reading, claiming, sending)

    @property
    def per_second(self) -> float | None:
        """Messages handed over (sent, failed or to retry) a second of dispatch."""
        handled = self.sent + self.failed + self.retry_later + self.in_doubt
        return handled / self.seconds if handled and self.seconds > 0 else None

    def count_sent(self, channel: str) -> None:
        self.sent += 1
        self.by_channel[channel] = self.by_channel.get(channel, 0) + 1


class SimulatedClock:
    """The moment the adapters stamp on what they write: the decision's moment. Each
    dispatching thread sets its own."""

    def __init__(self) -> None:
        self._local = threading.local()

    @property
    def now(self) -> datetime | None:
        return getattr(self._local, "now", None)

    @now.setter
    def now(self, moment: datetime | None) -> None:
        self._local.now = moment

    def __call__(self) -> datetime:
        moment = self.now
        assert moment is not None
        return moment


@dataclass(frozen=True)
class _Due:
    moment: datetime
    message: str
    stream: Any
    events: list[Any]
    chosen: je.ChannelChosen
    attempts: int  # hand-overs recorded before this one
    doubt: je.MessageClaimed | None  # an earlier hand-over whose outcome is unknown


@dataclass(frozen=True)
class _Outcome:
    """What one hand-over came to, before it becomes facts (in the dispatching thread)."""

    due: _Due
    result: SendResult | None = None
    evidence: str | None = None  # set when an earlier attempt proved to have gone out
    later: TransientFailure | None = None
    refused: PermanentRejection | TemplateError | None = None
    in_doubt: str | None = None  # why it is left in doubt
    configuration: ChannelConfigurationError | None = None


def dispatch(store: Store, messages: Iterable[str], channels: Mapping[str, Any],
             renderer: TemplateRenderer, settings: DispatchSettings,
             *, recorded_at: datetime, clock: SimulatedClock | None = None,
             desk: Any = None, concurrency: int = CONCURRENCY,
             lease: timedelta = CLAIM_LEASE,
             progress: Callable[[DispatchReport], None] | None = None,
             held_journeys: frozenset[str] = frozenset(),
             stop: Callable[[], bool] | None = None, memory: Any = None) -> DispatchReport:
    """Send each chosen message once (see the module's promises). ``desk`` is the policy
    desk used for failover (none: a refused message fails). Messages of
    ``held_journeys`` (paused or archived) are left chosen and unclaimed: a paused
    journey sends nothing, and what it had chosen goes out after ``resume``. Once
    ``stop()`` says so (a worker's SIGTERM), nothing more is claimed or handed over: the
    hand-overs in flight finish, their outcomes are recorded, and what was claimed but
    not handed over is released. ``memory``: the policy's memory as the run that chose
    the messages left it (for failover's caps; none: read from the log when needed)."""
    report = DispatchReport()
    started = time.monotonic()
    dispatcher = _Dispatcher(store, channels, renderer, settings, recorded_at, clock, desk,
                             concurrency, lease, report, progress)
    dispatcher.held_journeys = held_journeys
    dispatcher._memory = memory
    dispatcher.stop = stop or (lambda: False)
    pending = list(messages)
    for _ in range(FAILOVER_PASSES):
        pending = dispatcher.run(pending)
        if not pending or dispatcher.stop():
            break
    report.seconds = time.monotonic() - started
    return report


class _Dispatcher:
    def __init__(self, store: Store, channels: Mapping[str, Any], renderer: TemplateRenderer,
                 settings: DispatchSettings, recorded_at: datetime,
                 clock: SimulatedClock | None, desk: Any, concurrency: int,
                 lease: timedelta, report: DispatchReport,
                 progress: Callable[[DispatchReport], None] | None):
        self.store = store
        self.channels = channels
        self.renderer = renderer
        self.settings = settings
        self.now = recorded_at
        self.clock = clock
        self.desk = desk
        self.lease = lease
        self.report = report
        self.progress = progress
        self.claimer = uuid4().hex[:16]
        self.senders = {name: Sender(adapter) for name, adapter in channels.items()}
        # One semaphore a channel: adapters say how many hand-overs they take at once
        # (an SMTP connection or an outbox file: one; an HTTP API: several).
        self.slot_counts = {name: max(1, int(getattr(adapter, "max_concurrency", 1)))
                            for name, adapter in channels.items()}
        self.slots = {name: threading.Semaphore(count)
                      for name, count in self.slot_counts.items()}
        self.concurrency = max(1, concurrency)
        self.pool_size = self.concurrency
        self._memory: Any = None
        self._outbound: dict[str, OutboundMessage] = {}  # rendered, until recorded
        self.held_journeys: frozenset[str] = frozenset()
        self.stop: Callable[[], bool] = lambda: False

    def run(self, messages: Iterable[str]) -> list[str]:
        """One pass; returns the messages chosen again by failover (for another pass)."""
        queue = []
        messages = list(messages)
        for start in range(0, len(messages), CLAIM_BATCH):  # one read a batch of streams
            chunk = {subjects.message_stream(m): m for m in messages[start:start + CLAIM_BATCH]}
            for stream, events in streams_events(self.store, chunk).items():
                due = _due(chunk[stream], stream, events, self.now)
                if due is not None and _scheduled(due).journey in self.held_journeys:
                    self.report.held_by_lifecycle += 1
                elif due is not None:
                    queue.append(due)
        queue.sort(key=lambda due: (due.moment, due.message))  # in the order decided
        # No more threads than the channels in use take hand-overs at once: a thread
        # more only waits on a channel's slot, and contends for the interpreter's lock.
        slots = sum(self.slot_counts.get(channel, 1)
                    for channel in {due.chosen.channel for due in queue})
        self.pool_size = max(1, min(self.concurrency, slots))
        with ThreadPoolExecutor(max_workers=self.pool_size,
                                thread_name_prefix="dispatch") as pool:
            return self._hand_over(pool, queue)

    def _hand_over(self, pool: ThreadPoolExecutor, queue: list[_Due]) -> list[str]:
        """Keep the providers busy: while hand-overs are in flight, the next batch is
        claimed and rendered and finished outcomes are recorded, so the pool never drains
        between batches. At most :data:`IN_FLIGHT_PER_WORKER` hand-overs a worker wait in
        the pool, and at most one claimed batch waits to be rendered, which bounds what a
        crash can leave claimed without an outcome."""
        facts: list[NewFact] = []
        again: list[str] = []
        configuration: ChannelConfigurationError | None = None
        futures: set[Future[_Outcome]] = set()
        started: dict[Future[_Outcome], _Due] = {}
        stopped = False
        claimed: deque[tuple[_Due, Mapping[str, Any]]] = deque()
        batches = iter(range(0, len(queue), CLAIM_BATCH))
        window = self.pool_size * IN_FLIGHT_PER_WORKER
        flushed = time.monotonic()
        try:
            while True:
                while len(futures) < window and configuration is None and not self.stop():
                    if not claimed and not self._claim_next(queue, batches, claimed):
                        break
                    due, contacts = claimed.popleft()
                    future = self._start(pool, due, contacts)
                    futures.add(future)
                    started[future] = due
                if not stopped and self.stop():
                    # Stopping: hand-overs not begun yet are given back, not begun.
                    stopped = True
                    for future in [f for f in futures if f.cancel()]:
                        futures.discard(future)
                        due = started[future]
                        self._outbound.pop(due.message, None)
                        facts.append(_released(due, self.claimer,
                                               "dispatch stopped before the hand-over"))
                        self.report.released += 1
                if not futures:
                    break
                done, futures = wait(futures, timeout=OUTCOME_FLUSH_SECONDS,
                                     return_when=FIRST_COMPLETED)
                for future in done:
                    started.pop(future, None)
                    outcome = future.result()
                    if outcome.configuration is not None:
                        configuration = configuration or outcome.configuration
                        facts.append(_released(outcome.due, self.claimer,
                                               "channel not configured"))
                        continue
                    new, chosen_again = self._facts(outcome)
                    facts.extend(new)
                    if chosen_again:
                        again.append(outcome.due.message)
                if len(facts) >= OUTCOME_FLUSH or (
                        facts and time.monotonic() - flushed >= OUTCOME_FLUSH_SECONDS):
                    _record(self.store, facts, self.now)
                    facts = []
                    flushed = time.monotonic()
                    if self.progress:
                        self.progress(self.report)
        finally:
            # Claimed but never handed over (a channel turned out not to be configured):
            # given back, not left to become "in doubt".
            facts.extend(_released(due, self.claimer, "dispatch stopped before the hand-over")
                         for due, _ in claimed)
            self.report.released += len(claimed)
            _record(self.store, facts, self.now)
        if configuration is not None:
            raise configuration
        return again

    def _claim_next(self, queue: list[_Due], batches: Iterator[int],
                    claimed: deque[tuple[_Due, Mapping[str, Any]]]) -> bool:
        """Claim the next batch that has anything left to win; False when none is left."""
        for start in batches:
            batch = queue[start:start + CLAIM_BATCH]
            won = _claim(self.store, batch, self.claimer, self.now, self.lease)
            self.report.claimed_elsewhere += len(batch) - len(won)
            self.report.claimed += len(won)
            # The recipients of the whole claimed batch, read together (not one by one).
            contacts = contact_states(self.store, {
                key for due in won if (key := _scheduled(due).contact)})
            claimed.extend((due, contacts) for due in won)
            if won:
                return True
        return False

    def _start(self, pool: ThreadPoolExecutor, due: _Due,
               contacts: Mapping[str, Any]) -> Future[_Outcome]:
        """Render in the dispatching thread (the store is read by one thread only; the
        workers only talk to providers), then hand over in a worker."""
        try:
            outbound = outbound_message(self.store, _scheduled(due), due.chosen.channel,
                                        self.renderer, self.settings, contacts=contacts)
        except UNRENDERABLE as error:
            refused: Future[_Outcome] = Future()
            refused.set_result(_Outcome(due, refused=error))
            return refused
        self._outbound[due.message] = outbound
        return pool.submit(self._attempt, due, outbound)

    def _attempt(self, due: _Due, outbound: OutboundMessage) -> _Outcome:
        """In a worker thread: reconcile if in doubt, then hand the message over."""
        channel = due.chosen.channel
        adapter = self.channels.get(channel)
        if adapter is None:
            return _Outcome(due, configuration=ChannelConfigurationError(
                f"no adapter for channel {channel!r} in this run"))
        if self.clock is not None:
            self.clock.now = due.moment
        with self.slots[channel]:
            try:
                if due.doubt is not None:
                    settled = self._settle_doubt(due, adapter, outbound)
                    if settled is not None:
                        return settled
                return _Outcome(due, result=self.senders[channel].send(outbound))
            except ChannelConfigurationError as error:
                return _Outcome(due, configuration=error)
            except TransientFailure as error:
                if error.maybe_accepted and not self.senders[channel].idempotent:
                    return _Outcome(due, in_doubt=f"{type(error).__name__}: {error}")
                return _Outcome(due, later=error)
            except PermanentRejection as error:
                return _Outcome(due, refused=error)

    def _settle_doubt(self, due: _Due, adapter: Any, outbound: OutboundMessage
                      ) -> _Outcome | None:
        """An earlier hand-over of this message has no outcome: did it go out? None means
        "send it (again)"."""
        proof = next((e for e in due.events if isinstance(e, _PROOF_OF_SENDING)), None)
        if proof is not None:
            return _Outcome(due, result=SendResult(provider_id=proof.provider_id or (
                f"feedback:{proof.touchpoint_id}")),
                evidence=f"provider feedback {type(proof).__name__} {proof.touchpoint_id}")
        find = getattr(adapter, "find_accepted", None)
        if find is not None:
            found = find(outbound, since=datetime.fromisoformat(due.doubt.at))
            if found is not None:
                return _Outcome(due, result=found,
                                evidence=f"found at the provider as {found.provider_id}")
            return None  # the provider's own record says it never arrived
        if self.senders[due.chosen.channel].idempotent or due.chosen.channel != "sms":
            return None
        return _Outcome(due, in_doubt="an earlier hand-over may have been sent and the "
                                      "provider cannot be asked; not sent again")

    def _facts(self, outcome: _Outcome) -> tuple[list[NewFact], bool]:
        """The facts for one outcome, and whether the message was chosen again."""
        due, report = outcome.due, self.report
        outbound = self._outbound.pop(due.message, None)
        at = due.moment.isoformat()
        channel = due.chosen.channel
        if outcome.result is not None:
            fields = {"message": due.message, "channel": channel,
                      "provider_id": outcome.result.provider_id, "at": at}
            report.count_sent(channel)
            if outcome.evidence is not None:
                report.reconciled += 1
                return [NewFact(due.stream, je.MessageReconciled,
                                {**fields, "evidence": outcome.evidence})], False
            return [*_rendered_fact(due, outbound, at), NewFact(due.stream, je.MessageSent, fields)
                    ], False
        if outcome.in_doubt is not None:
            report.in_doubt += 1
            report.left_in_doubt.append(due.message)
            return [], False  # the claim stands: in doubt until reconciled
        if outcome.later is not None:
            attempt = due.attempts + 1
            reason = f"{type(outcome.later).__name__}: {outcome.later}"
            if attempt >= MAX_ATTEMPTS:
                report.dead_lettered += 1
                report.failed += 1
                return [NewFact(due.stream, je.MessageDeadLettered, {
                    "message": due.message, "channel": channel, "attempts": attempt,
                    "reason": f"dead letter after {attempt} attempts: {reason}",
                    "at": at})], False
            report.retry_later += 1
            not_before = self.now + retry_delay(outcome.later, attempt)
            return [NewFact(due.stream, je.MessageRetryScheduled, {
                "message": due.message, "claimed_by": self.claimer, "reason": reason,
                "not_before": not_before.isoformat(), "attempt": attempt, "at": at})], False
        error = outcome.refused
        reason = f"{type(error).__name__}: {error}"
        facts = []
        if isinstance(error, RecipientOptedOut):
            facts.append(_opted_out(due, channel, reason))
        rejected = rejected_channels(due.events) | {channel}
        decision = self._failover(due, rejected)
        if decision is not None:
            report.failed_over += 1
            return [*facts, NewFact(due.stream, je.ChannelRejected, {
                "message": due.message, "channel": channel, "reason": reason, "at": at}),
                decision], True
        report.failed += 1
        return [*facts, NewFact(due.stream, je.MessageFailed, {
            "message": due.message, "channel": channel, "reason": reason, "at": at})], False

    def _failover(self, due: _Due, rejected: frozenset[str]) -> NewFact | None:
        if self.desk is None or due.chosen.channel == "social":
            return None
        scheduled = _scheduled(due)
        memory = self._memory
        if memory is None and scheduled.contact:  # (a worker: no run's memory at hand)
            memory = contact_policy_memory(self.store, scheduled.contact, due.events)
        return failover_decision(self.store, scheduled, rejected, self.desk,
                                 due.moment, memory)


def _scheduled(due: _Due) -> je.MessageScheduled:
    return next(e for e in due.events if isinstance(e, je.MessageScheduled))


def _due(message: str, stream: Any, events: list[Any], now: datetime) -> _Due | None:
    """The message as a hand-over to make now, or None if it is done, claimed by a
    dispatcher whose lease still runs, or waiting for its retry time."""
    claimed: je.MessageClaimed | None = None
    attempts = 0
    for event in events:
        if isinstance(event, je.MessageSent | je.MessageFailed):
            return None
        if isinstance(event, je.MessageClaimed):
            claimed = event
            attempts += 1
        elif isinstance(event, je.MessageRetryScheduled):
            if datetime.fromisoformat(event.not_before) > now:
                return None
            claimed = None
        elif isinstance(event, je.MessageClaimReleased | je.ChannelRejected):
            claimed = None
            if isinstance(event, je.MessageClaimReleased):
                attempts -= 1  # given back before any hand-over: not an attempt
    if claimed is not None and datetime.fromisoformat(claimed.lease_until) > now:
        return None
    chosen = [e for e in events if isinstance(e, je.ChannelChosen)]
    if not chosen:
        return None
    return _Due(datetime.fromisoformat(chosen[-1].at), message, stream, events, chosen[-1],
                attempts=max(0, attempts), doubt=claimed)


def _released(due: _Due, claimer: str, reason: str) -> NewFact:
    return NewFact(due.stream, je.MessageClaimReleased, {
        "message": due.message, "claimed_by": claimer, "reason": reason,
        "at": due.moment.isoformat()})


def _opted_out(due: _Due, channel: str, reason: str) -> NewFact:
    """The provider's word that the recipient opted out, as feedback on the message: a
    hard bounce of that channel, which the suppression rules read for the contact."""
    touchpoint = f"dispatch:{due.message}:opted-out"
    return NewFact(due.stream, ev.MessageBounced, {
        "touchpoint_id": touchpoint, "at": due.moment.isoformat(), "message": due.message,
        "provider_id": None, "reason": f"5.0.0 recipient opted out at the provider "
                                       f"({channel}): {reason}"})


def _claim(store: Store, batch: list[_Due], claimer: str, now: datetime,
           lease: timedelta) -> list[_Due]:
    """Claim what no one else has, in one transaction under the writer lock: a stream
    that moved since it was read is read again and left alone if it is taken now."""
    won = []
    with store.write() as unit:
        heads = unit.tables.stream_versions([due.stream for due in batch])
        for due in batch:
            if heads.get(due.stream, 0) != due.events[-1].originator_version:
                fresh = _due(due.message, due.stream, stream_events(store, due.stream), now)
                if fresh is None:
                    continue
                due = fresh
            won.append(due)
        unit.append_facts([NewFact(due.stream, je.MessageClaimed, {
            "message": due.message, "claimed_by": claimer,
            "lease_until": (now + lease).isoformat(), "at": due.moment.isoformat()})
            for due in won], recorded_at=now)
    return won


def _rendered_fact(due: _Due, outbound: OutboundMessage | None, at: str) -> list[NewFact]:
    """What was sent, for ``audit why`` (sealed: see ``MessageRendered``)."""
    if outbound is None or not outbound.metadata.get("template_digest"):
        return []
    return [NewFact(due.stream, je.MessageRendered, {
        "message": due.message, "template": outbound.metadata["template"],
        "template_digest": outbound.metadata["template_digest"], "at": at,
        "content": {"subject": outbound.subject, "text": outbound.text,
                    "html": outbound.html}})]


def _record(store: Store, outcomes: list[NewFact], recorded_at: datetime) -> None:
    if outcomes:
        with store.write() as unit:
            unit.append_facts(outcomes, recorded_at=recorded_at)


def outbound_message(store: Store, scheduled: je.MessageScheduled, channel: str,
                     renderer: TemplateRenderer, settings: DispatchSettings,
                     *, contacts: Mapping[str, Any] | None = None) -> OutboundMessage:
    """The message as a channel gets it, rendered in memory (raises one of
    :data:`UNRENDERABLE` when it cannot be built for that channel)."""
    # The templates pinned in the message's journey version (SPEC "Journeys: YAML").
    renderer = renderer.for_version(scheduled.journey, scheduled.version)
    if channel == "social":
        return compose(renderer, settings, template=scheduled.template, channel=channel,
                       message_id=scheduled.message, contact=None).outbound(
            to_address=None, contact_key=None, metadata=_metadata(scheduled),
            in_reply_to=_replying_to(store, scheduled))
    contact = contact_context(_recipient(store, scheduled.contact, contacts))
    if scheduled.template == SMS_HELP_TEMPLATE:
        return OutboundMessage(
            message_id=scheduled.message, channel="sms", contact_key=scheduled.contact,
            to_address=_asking_phone(store, scheduled) or contact.get("phone"),
            text=settings.sms_help_text, metadata=_metadata(scheduled))
    composition = compose(renderer, settings, template=scheduled.template, channel=channel,
                          message_id=scheduled.message, contact=contact)
    return composition.outbound(to_address=recipient_address(channel, contact),
                                contact_key=scheduled.contact, metadata=_metadata(scheduled))


def _recipient(store: Store, contact: str | None, read: Mapping[str, Any] | None) -> Any:
    """The contact's state, from the batch's read when it holds it."""
    if not contact:
        return None
    if read is not None and contact in read:
        return read[contact]
    return contact_state(store, contact, None)


def _replying_to(store: Store, scheduled: je.MessageScheduled) -> InReplyTo | None:
    """A public reply points at the mention's status (the producer's touchpoint id)."""
    if scheduled.trigger.startswith("cron:"):
        return None
    recorded = touchpoint_event(store, scheduled.trigger)
    mention = recorded.event if recorded else None
    if not isinstance(mention, ev.SocialMentionReceived):
        return None
    prefix = f"{mention.network}:"  # our own mention ids: mastodon:<status id>
    status = mention.touchpoint_id
    return InReplyTo(network=mention.network,
                     status_id=status[len(prefix):] if status.startswith(prefix) else status)


def _asking_phone(store: Store, scheduled: je.MessageScheduled) -> str | None:
    """The number that sent the HELP (a contact may have more than one)."""
    recorded = touchpoint_event(store, scheduled.trigger)
    inbound = recorded.event if recorded else None
    if isinstance(inbound, ev.InboundSmsReceived) and inbound.phone not in (None, ERASED):
        return inbound.phone
    return None


def _metadata(scheduled: je.MessageScheduled, template_digest: str = "") -> dict[str, Any]:
    return {"journey": scheduled.journey, "version": scheduled.version,
            "step": scheduled.step, "intent": scheduled.intent,
            "template": scheduled.template, "template_digest": template_digest}
