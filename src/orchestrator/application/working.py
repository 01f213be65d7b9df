"""Use case: ``orchestrator worker``, a process of the live service that sends what the
policy chose, beside others sharing the same store (docs/workers.md).

A loop: bring the read models up to date, take a batch of due messages from the dispatch
queue (``projections.dispatch_queue.pick``: the heads of their contacts' lines, none that
another worker holds), hand them to :func:`orchestrator.application.dispatch.dispatch`
(claims with leases, outcomes, in doubt, retries, failover: the same dispatcher as
``run``), record, give back what is left, again. Nothing due: wait ``every`` seconds.

A stop (SIGTERM, Ctrl-C) stops claiming: the hand-overs in flight finish and their
outcomes are recorded, what was claimed but not handed over is released, the worker's
membership row says ``stopped``, and the process exits 0. A worker killed outright leaves
claims that become *in doubt* when their lease runs out; the next worker settles them as
any dispatcher does.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from orchestrator.application.dispatch import (
    CLAIM_LEASE,
    IN_FLIGHT_PER_WORKER,
    DispatchReport,
    SimulatedClock,
    dispatch,
)
from orchestrator.application.running import close_all, dispatch_settings
from orchestrator.application.stores import store_of
from orchestrator.application.tail import finish_write
from orchestrator.campaigns.runtime.versions import VersionRenderers
from orchestrator.persistence.checkpoints import record_checkpoint
from orchestrator.projections import dispatch_queue as queue
from orchestrator.projections.members import BEAT_EVERY, Membership
from orchestrator.projections.runner import catch_up, open_directory

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 8  # hand-overs at once in one worker
PARK_FOR = timedelta(minutes=15)  # an SMS left in doubt is looked at again after this
CHECKPOINT_EVERY = 60.0  # seconds between signed checkpoints while working
ANALYSE_EVERY = 300.0  # seconds between fresh planner statistics for the queue


def batch_size(concurrency: int) -> int:
    """Messages taken at once: enough to keep the hand-overs busy through a batch, few
    enough that a batch ends well inside the claim lease."""
    return max(64, concurrency * IN_FLIGHT_PER_WORKER * 4)


@dataclass
class WorkerCounts:
    """What this worker did since it started, and the batch it is on (for its beats)."""

    sent: int = 0
    failed: int = 0
    retry_later: int = 0
    in_doubt: int = 0
    claimed: int = 0
    released: int = 0
    batches: int = 0
    taken: int = 0  # messages of the current batch
    current: DispatchReport = field(default_factory=DispatchReport)

    def add(self, report: DispatchReport) -> None:
        self.sent += report.sent
        self.failed += report.failed
        self.retry_later += report.retry_later
        self.in_doubt += report.in_doubt
        self.claimed += report.claimed
        self.released += report.released
        self.batches += 1
        self.taken = 0
        self.current = DispatchReport()

    def detail(self) -> dict[str, int]:
        now = self.current
        done = now.sent + now.failed + now.retry_later + now.in_doubt + now.released
        return {"sent": self.sent + now.sent, "failed": self.failed + now.failed,
                "retry_later": self.retry_later + now.retry_later,
                "in_doubt": self.in_doubt + now.in_doubt,
                "claimed": self.claimed + now.claimed,
                "in_flight": max(0, min(self.taken, now.claimed) - done),
                "batches": self.batches}


class _LazyDesk:
    """The policy desk for failover, built on first use (it reads the published
    versions; most batches never fail over)."""

    def __init__(self, build: Callable[[], Any]):
        self._build = build
        self._desk: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._desk is None:
            self._desk = self._build()
        return getattr(self._desk, name)


class _Beats:
    """The membership beat on its own thread, so a slow provider never makes a working
    process look gone."""

    def __init__(self, membership: Membership, counts: WorkerCounts, every: float):
        self.membership = membership
        self.counts = counts
        self.every = every
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, name="beat", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        while not self.done.wait(self.every):
            try:
                self.membership.beat(**self.counts.detail())
            except Exception as error:  # the store is away for a moment: beat later
                log.warning("worker beat failed: %s", type(error).__name__)

    def stop(self) -> None:
        self.done.set()
        self.thread.join(timeout=self.every + 5)


def work(app: Any, *, stop: threading.Event, every: float = 1.0,
         concurrency: int = DEFAULT_CONCURRENCY, drain: bool = False,
         lease: timedelta = CLAIM_LEASE, beat_every: timedelta = BEAT_EVERY,
         on_batch: Callable[[DispatchReport], None] | None = None,
         on_join: Callable[[str], None] | None = None) -> WorkerCounts:
    """Send due messages until ``stop`` is set (or, with ``drain``, until nothing is due
    or in flight anywhere). Returns what this worker did."""
    stamp = SimulatedClock()
    channels = app.channel_adapters(stamp)
    counts = WorkerCounts()
    try:
        with store_of(app) as store:
            directory = open_directory(store)
            engine = store.engine
            membership = Membership(engine, "worker", app.now)
            membership.join()
            if on_join is not None:
                on_join(membership.member)
            beats = _Beats(membership, counts, beat_every.total_seconds())
            beats.start()
            renderer = VersionRenderers(store, app.settings.templates_dir)
            settings = dispatch_settings(app)

            def desk() -> Any:
                from orchestrator.application.reviewing import policy_desk
                return policy_desk(app, store)

            checkpointed = time.monotonic()
            analysed = -ANALYSE_EVERY
            current = False  # the read model was caught up since the last pick
            try:
                while not stop.is_set():
                    if not current:
                        catch_up(store, directory)
                    current = False
                    now = app.now()
                    if time.monotonic() - analysed >= ANALYSE_EVERY:
                        queue.refresh_statistics(engine)
                        analysed = time.monotonic()
                    taken = queue.pick(engine, membership.member, now,
                                       batch_size(concurrency), lease, channels=channels)
                    if not taken:
                        if drain and queue.pending_now(engine, now, channels) == 0:
                            break
                        stop.wait(every)
                        continue
                    counts.taken = len(taken)

                    def progress(report: DispatchReport) -> None:
                        counts.current = report

                    try:
                        report = dispatch(
                            store, taken, channels, renderer, settings, recorded_at=now,
                            clock=stamp, desk=_LazyDesk(desk), concurrency=concurrency,
                            lease=lease, progress=progress,
                            held_journeys=queue.held_journeys(engine), stop=stop.is_set)
                    finally:
                        # Outcomes into the queue before the rows are free again (so a
                        # row waiting for a retry time is not taken again meanwhile).
                        catch_up(store, directory)
                        queue.give_back(engine, membership.member)
                        current = True
                    queue.park(engine, report.left_in_doubt, now + PARK_FOR)
                    counts.add(report)
                    if on_batch is not None:
                        on_batch(report)
                    if time.monotonic() - checkpointed >= CHECKPOINT_EVERY:
                        record_checkpoint(store, app.now(), app.settings.signing_key)
                        checkpointed = time.monotonic()
            finally:
                membership.stopping()
                beats.stop()
                try:
                    queue.give_back(engine, membership.member)
                    finish_write(app, store)
                finally:
                    membership.detail.update(counts.detail())
                    membership.leave()
    finally:
        close_all(channels.values())
    return counts
