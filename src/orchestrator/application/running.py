"""Use case: advance journeys to a moment (decide, send, record), on a simulated clock
with ``--until`` or as the live service driven by APScheduler."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from orchestrator.application.dispatch import (
    DispatchReport,
    DispatchSettings,
    SimulatedClock,
    dispatch,
)
from orchestrator.application.stores import store_of
from orchestrator.application.tail import finish_write
from orchestrator.campaigns.runtime import snapshots
from orchestrator.campaigns.runtime.runner import RunReport, RunSuperseded, run_until
from orchestrator.campaigns.runtime.versions import VersionRenderers
from orchestrator.domain.unsubscribe_tokens import token_for


@dataclass(frozen=True)
class RunOutcome:
    report: RunReport
    sent: DispatchReport
    left_to_workers: int | None = None  # chosen messages left to `orchestrator worker`


# Who sends what a run chose (docs/workers.md): ``auto`` the run itself unless a worker
# is alive (running, beating), ``self`` always the run, ``workers`` never the run.
DISPATCH_MODES = ("auto", "self", "workers")


def workers_alive(store: Any, now: datetime) -> int:
    """Workers running now on this store (stopping, stopped or silent ones do not count)."""
    from orchestrator.projections.members import members
    return sum(1 for m in members(store.engine)
               if m.role == "worker" and m.state == "running" and m.alive(now))


# Dry-run only: links in the outbox must have the real shape, but nothing serves them.
# A live run refuses to start without ORCHESTRATOR_LINK_SECRET (bootstrap).
DRY_RUN_LINK_SECRET = b"dry-run links are not served: set ORCHESTRATOR_LINK_SECRET"


def dispatch_settings(app: Any) -> DispatchSettings:
    settings = app.settings
    secret = settings.link_secret or DRY_RUN_LINK_SECRET
    return DispatchSettings(public_url=settings.public_url,
                            postal_address=settings.postal_address,
                            brand_name=settings.brand_name,
                            sms_help_text=settings.sms_help_text,
                            unsubscribe_token=lambda message: token_for(message, secret))


def send_chosen(app: Any, store: Any, messages: list[str], fold: Any = None
                ) -> DispatchReport:
    """Hand what the policy chose to the channels, stamped with the decision's moment.
    ``fold``: the engine's state the run left (its journey versions, lifecycle states and
    the policy's memory for failover, so they are not read from the log again)."""
    stamp = SimulatedClock()
    channels = app.channel_adapters(stamp)
    from orchestrator.application.reviewing import policy_desk
    from orchestrator.campaigns.runtime.lifecycle import ACTIVE, lifecycle_states
    states = fold.lifecycle if fold is not None else lifecycle_states(store)
    versions = fold.versions() if fold is not None else None
    held = frozenset(journey for journey, state in states.items() if state != ACTIVE)
    try:
        return dispatch(store, messages, channels,
                        VersionRenderers(store, app.settings.templates_dir, versions=versions),
                        dispatch_settings(app), clock=stamp, recorded_at=app.now(),
                        desk=policy_desk(app, store, versions), held_journeys=held,
                        memory=fold.memory if fold is not None else None)
    finally:
        close_all(channels.values())


def close_all(resources: Any) -> None:
    """Closes each adapter or reader that holds something open (an SMTP connection, an
    HTTP session's kept-alive sockets)."""
    for resource in resources:
        close = getattr(resource, "close", None)
        if callable(close):
            close()


class EngineKeeper:
    """The engine's state between runs: kept in memory by a process that runs again (the
    live service's ticks), loaded from the store's snapshot by one that starts, saved
    back every so often (``campaigns/runtime/snapshots.py``). Without it a run folds
    the whole log."""

    def __init__(self) -> None:
        self.fold: Any = None
        self.tails = 0  # write tails run by this process

    def take(self, app: Any, store: Any) -> Any:
        if self.fold is None and app.settings.engine_snapshot_every > 0:
            self.fold = snapshots.load(store, app.settings.thresholds,
                                       app.settings.policy.longest_cap_window)
        fold, self.fold = self.fold, None  # a run that fails leaves nothing behind
        return fold

    def keep(self, app: Any, store: Any, report: RunReport) -> None:
        fold = report.fold
        every = app.settings.engine_snapshot_every
        if fold is None or every <= 0 or fold.erasure_seen:
            return
        if fold.folded >= every:
            save_state(app, store, fold)
        self.fold = fold


def save_state(app: Any, store: Any, fold: Any) -> None:
    """Keep the engine's state in the store, after dropping what it no longer needs (so
    that what a long-running service holds follows its contacts and enrolments in
    progress, not the length of its history)."""
    if fold.clock is not None:
        fold.forget_settled(fold.clock, app.settings.policy.longest_cap_window)
    snapshots.save(store, fold, now=app.now())
    fold.folded = 0


def advance(app: Any, until: datetime, keeper: EngineKeeper | None = None, *,
            store: Any = None, record_idle: bool = True, dispatch: str = "auto"
            ) -> RunOutcome:
    """Bring journeys up to ``until``: decide, send (or leave it to the workers, see
    :data:`DISPATCH_MODES`), then the write tail. ``keeper`` carries the engine's state
    from run to run; ``store`` an already open store."""
    keeper = keeper or EngineKeeper()
    with contextlib.ExitStack() as stack:
        if store is None:
            store = stack.enter_context(store_of(app))
        report = _run_until_current(app, store, until, keeper, record_idle=record_idle)
        left = None
        if not report.unsent:
            sent = DispatchReport()
        elif dispatch == "workers" or (dispatch == "auto" and workers_alive(store, app.now())):
            sent, left = DispatchReport(), len(report.unsent)
        else:
            sent = send_chosen(app, store, report.unsent, report.fold)
        # An idle tick of the live service skips the tail (nothing new to checkpoint or
        # project); its first tick does not, so a restart catches up what a killed
        # process left behind.
        if (record_idle or not keeper.tails or report.recorded or sent.sent or sent.failed
                or sent.retry_later):
            finish_write(app, store)
            keeper.tails += 1
    return RunOutcome(report, sent, left)


def mention_poller(app: Any) -> Any:
    """The Mastodon mentions reader of a live run with social live, else None."""
    settings = app.settings
    if settings.channel_set != "live" or "social" not in settings.channels_in_force:
        return None
    from orchestrator.application.mentions import MentionPoller
    from orchestrator.bootstrap.live import mentions_reader
    return MentionPoller(app, mentions_reader(settings))


RUN_ATTEMPTS = 5


def _run_until_current(app: Any, store: Any, until: datetime, keeper: EngineKeeper, *,
                       record_idle: bool = True) -> RunReport:
    """Run to ``until``; when another run recorded first, run again from where it left
    the engine (a lost race is a clean retry, never a second copy of its facts)."""
    settings = app.settings
    attempt = 1
    while True:
        try:
            report = run_until(store, until, recorded_at=app.now(),
                               thresholds=settings.thresholds,
                               templates_dir=settings.templates_dir, policy=settings.policy,
                               channels=settings.channels_in_force,
                               fold=keeper.take(app, store), record_idle=record_idle)
        except RunSuperseded:
            if attempt == RUN_ATTEMPTS:
                raise
            attempt += 1
            continue
        except snapshots.SnapshotUnreadable as unreadable:
            logging.getLogger(__name__).warning("%s", unreadable)
            snapshots.discard(store)  # and fold the whole log on the next attempt
            continue
        keeper.keep(app, store, report)
        return report


def serve_live(app: Any, every_seconds: int, on_tick: Callable[[RunOutcome], None], *,
               membership: Callable[..., Any] | None = None,
               say: Callable[[str], None] = print, dispatch: str = "auto") -> None:
    """The live service: while this process leads the store (application.leading),
    APScheduler advances the same engine to the wall clock every ``every_seconds``. Each
    tick is the simulated run up to now, so a restarted service neither loses nor repeats
    a send. ``membership`` makes the members row (service.members.Membership). Returns
    when stopped (SIGTERM or Ctrl-C), after the tick in flight."""
    from orchestrator.application.leading import LiveService
    poller = mention_poller(app)
    keeper = EngineKeeper()  # the engine's state stays in memory from tick to tick
    store = store_of(app)

    def tick() -> RunOutcome:
        if poller is not None:
            poller.poll()
        outcome = advance(app, app.now(), keeper, store=store, record_idle=False,
                          dispatch=dispatch)
        on_tick(outcome)
        return outcome

    def forget_state() -> None:
        # Another leader may move the engine on while this process does not lead: the
        # state kept in memory is dropped when the lead is lost (so it is not saved as a
        # snapshot on exit) and read again from the store when it is taken.
        keeper.fold = None

    try:
        LiveService(app, every_seconds, tick, membership=membership, say=say,
                    on_lead=forget_state, on_lost=forget_state).serve()
    finally:
        if poller is not None:
            close_all([poller.reader])
        if keeper.fold is not None and keeper.fold.folded and not keeper.fold.erasure_seen:
            save_state(app, store, keeper.fold)  # a restart resumes from here
        store.close()
