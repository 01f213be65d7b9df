"""Use case: advance journeys to a moment (decide, send, record), on a simulated clock
with ``--until`` or as the live service driven by APScheduler."""

from __future__ import annotations

import contextlib
import signal
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


def send_chosen(app: Any, store: Any, messages: list[str]) -> DispatchReport:
    """Hand what the policy chose to the channels, stamped with the decision's moment."""
    stamp = SimulatedClock()
    channels = app.channel_adapters(stamp)
    from orchestrator.application.reviewing import policy_desk
    from orchestrator.campaigns.runtime.lifecycle import ACTIVE, lifecycle_states
    held = frozenset(journey for journey, state in lifecycle_states(store).items()
                     if state != ACTIVE)
    try:
        return dispatch(store, messages, channels,
                        VersionRenderers(store, app.settings.templates_dir), dispatch_settings(app),
                        clock=stamp, recorded_at=app.now(), desk=policy_desk(app, store),
                        held_journeys=held)
    finally:
        close_all(channels.values())


def close_all(resources: Any) -> None:
    """Closes each adapter or reader that holds something open (an SMTP connection, an
    HTTP session's kept-alive sockets)."""
    for resource in resources:
        close = getattr(resource, "close", None)
        if callable(close):
            close()


def advance(app: Any, until: datetime, *, dispatch: str = "auto") -> RunOutcome:
    """Bring journeys up to ``until``: decide, send (or leave it to the workers, see
    :data:`DISPATCH_MODES`), then the write tail."""
    with store_of(app) as store:
        report = _run_until_current(app, store, until)
        if dispatch == "workers" or (dispatch == "auto" and workers_alive(store, app.now())):
            sent, left = DispatchReport(), len(report.unsent)
        else:
            sent, left = send_chosen(app, store, report.unsent), None
        finish_write(app, store)
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


def _run_until_current(app: Any, store: Any, until: datetime) -> RunReport:
    """Run to ``until``; when another run recorded first, run again from where it left
    the engine (a lost race is a clean retry, never a second copy of its facts)."""
    settings = app.settings
    attempt = 1
    while True:
        try:
            return run_until(store, until, recorded_at=app.now(),
                             thresholds=settings.thresholds,
                             templates_dir=settings.templates_dir, policy=settings.policy,
                             channels=settings.channels_in_force)
        except RunSuperseded:
            if attempt == RUN_ATTEMPTS:
                raise
            attempt += 1


def serve_live(app: Any, every_seconds: int, on_tick: Callable[[RunOutcome], None],
               *, dispatch: str = "auto") -> None:
    """The live service: APScheduler advances the same engine to the wall clock every
    ``every_seconds``. Each tick is the simulated run up to now, so a restarted service
    neither loses nor repeats a send. Returns when stopped (SIGTERM or Ctrl-C)."""
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.interval import IntervalTrigger
    scheduler = BlockingScheduler(timezone="UTC")

    poller = mention_poller(app)

    def tick() -> None:
        if poller is not None:
            poller.poll()
        on_tick(advance(app, app.now(), dispatch=dispatch))

    scheduler.add_job(tick, IntervalTrigger(seconds=every_seconds), next_run_time=app.now(),
                      max_instances=1, coalesce=True, id="advance")
    signal.signal(signal.SIGTERM, lambda *_: scheduler.shutdown(wait=False))
    try:
        with contextlib.suppress(KeyboardInterrupt, SystemExit):
            scheduler.start()
    finally:
        if poller is not None:
            close_all([poller.reader])
