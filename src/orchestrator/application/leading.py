"""The live service's leadership and timer: one scheduler per store advances journeys.

``orchestrator run`` without ``--until`` first takes the store's leader lock
(``persistence.leader_lock``: an OS file lock beside an SQLite database, a session
advisory lock on PostgreSQL). Holding it, it ticks: APScheduler fires every ``every``
seconds and each tick advances the engine to "now" (what is due is read from the store,
never from the scheduler). Not holding it, it is a standby: it says so, tries the lock
every :data:`STANDBY_POLL_SECONDS` and takes over when the leader's lock goes (the leader
stopped, was killed, or lost its connection). A leader checks its lock every
:data:`LEADER_CHECK_SECONDS`; once it is lost, no new tick starts, the tick in flight
(if any) ends, and the process is a standby again.

The timer's firings (docs/leadership.md "Scheduling"):
- ``coalesce=False`` and ``misfire_grace_time`` = half the interval (at least 1 s): a
  firing that can start within the grace runs; one later than that is *missed*, and
  APScheduler reports each missed firing (with ``coalesce=True`` it would drop all but
  the last of a backlog without a word). Firings are ``every`` apart and the grace is
  under ``every``, so of a backlog at most the last runs: a stopped process or a machine
  that slept catches up in one tick, not in one per firing;
- the missed firings of one backlog are recorded as one ``TickMissed`` fact in the store
  (when they were due, when noticed), logged, and counted in the members row. Their work
  is not lost: the next tick advances to its own "now";
- ``max_instances=1`` on one worker thread: ticks never overlap; a firing that comes
  while a tick is still running is skipped (APScheduler's "max instances") and counted
  as busy in the members row: the tick in flight is already doing that work.

SIGTERM (and Ctrl-C): no new tick, the tick in flight finishes, the lock is released, the
member row says stopped, and ``serve`` returns (exit 0).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from orchestrator.application.stores import store_of
from orchestrator.application.tail import finish_write
from orchestrator.domain.new_fact import NewFact
from orchestrator.domain.scheduler_events import SCHEDULE_STREAM, TickMissed
from orchestrator.persistence.leader_lock import (
    AdvisoryLeaderLock,
    FileLeaderLock,
    LeaderLock,
)
from orchestrator.persistence.pg_address import Address
from orchestrator.store import StoreLocation, without_secrets

log = logging.getLogger(__name__)

LEADER_CHECK_SECONDS = 1.0
STANDBY_POLL_SECONDS = 2.0
BEAT_SECONDS = 5.0  # as service.members.BEAT_EVERY


def grace_for(every_seconds: int) -> int:
    """How late a firing may start and still run (seconds)."""
    return max(1, every_seconds // 2)


def lock_for(store_url: str) -> LeaderLock:
    location = StoreLocation.parse(store_url)
    if location.backend == "sqlite":
        return FileLeaderLock(location.sqlite_path)
    return AdvisoryLeaderLock(Address(host=location.pg_host, port=location.pg_port,
                                      user=location.pg_user, password=location.pg_password,
                                      dbname=location.pg_dbname,
                                      schema=location.pg_schema or "public"))


class _NoMembership:
    member = "scheduler"

    def join(self) -> None: ...
    def beat(self, **_: Any) -> None: ...
    def leave(self) -> None: ...


class LiveService:
    """One scheduler process: standby until it holds the lock, then the timer."""

    def __init__(self, app: Any, every_seconds: int, tick: Callable[[], Any], *,
                 membership: Callable[..., Any] | None = None,
                 say: Callable[[str], None] = print, lock: LeaderLock | None = None,
                 on_lead: Callable[[], None] | None = None,
                 on_lost: Callable[[], None] | None = None):
        self.app = app
        self.every = every_seconds
        self.grace = grace_for(every_seconds)
        self.tick = tick
        # Called on each taking of the lead, before the first tick: whatever a tick keeps
        # in memory between ticks must be read again from the store, which another
        # leader may have moved on meanwhile.
        self.on_lead = on_lead
        self.on_lost = on_lost  # after the lead was lost and the tick in flight ended
        self.say = say
        self.lock = lock or lock_for(app.settings.store_url)
        self.stop = threading.Event()
        self.leading = threading.Event()
        self._membership = membership
        self._store: Any = None
        self.member: Any = _NoMembership()
        self._beaten = 0.0
        self._missed: list[datetime] = []
        self._noticed: datetime | None = None
        self._missed_lock = threading.Lock()
        self._complained: set[str] = set()
        self.figures: dict[str, Any] = {
            "standing": "standby", "every_seconds": every_seconds,
            "grace_seconds": self.grace, "ticks": 0, "last_tick": None, "touchpoints": 0,
            "messages": 0, "missed_firings": 0, "busy_firings": 0, "failed_ticks": 0,
            "lost_lead": 0, "leader_since": None}

    # --- the process ------------------------------------------------------------------

    def serve(self) -> None:
        restore = self._install_signals()
        try:
            self._join()
            while not self.stop.is_set():
                if not self._wait_for_lead():
                    break
                self._lead()
        finally:
            self.lock.release()
            self.figures["standing"] = "stopped"
            self._quietly("members", lambda: self.member.beat(leader=False, **self.figures))
            self._quietly("leave", self.member.leave)
            if self._store is not None:
                self._store.close()
            restore()

    def _install_signals(self) -> Callable[[], None]:
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        previous = {number: signal.signal(number, lambda *_: self.stop.set())
                    for number in (signal.SIGTERM, signal.SIGINT)}

        def restore() -> None:
            for number, handler in previous.items():
                signal.signal(number, handler)

        return restore

    def _join(self) -> None:
        if self._membership is None:
            return
        try:
            self._store = store_of(self.app)
            self.member = self._membership(self._store.engine, "scheduler", self.app.now)
        except Exception as error:  # the service still runs; the row comes with a beat
            self._complain("members", error)
            return
        self._quietly("members", self.member.join)

    # --- standby ----------------------------------------------------------------------

    def _wait_for_lead(self) -> bool:
        announced = False
        while not self.stop.is_set():
            try:
                if self.lock.try_acquire():
                    self._complained.discard("lock")
                    self.figures["standing"] = "leader"
                    self.figures["leader_since"] = self.app.now().isoformat()
                    self.say(f"live: leading ({self.lock.where()})")
                    return True
            except Exception as error:  # the store unreachable: stay standby, retry
                self._complain("lock", error)
            if not announced:
                self.say(f"live: standby: another scheduler leads this store "
                         f"({self.lock.where()}); trying every {STANDBY_POLL_SECONDS:g} s")
                announced = True
            self._beat_if_due(force=False)
            self.stop.wait(STANDBY_POLL_SECONDS)
        return False

    # --- leading ----------------------------------------------------------------------

    def _lead(self) -> None:
        from apscheduler.events import (
            EVENT_JOB_ERROR,
            EVENT_JOB_EXECUTED,
            EVENT_JOB_MAX_INSTANCES,
            EVENT_JOB_MISSED,
        )
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler
        from apscheduler.triggers.interval import IntervalTrigger

        scheduler = BackgroundScheduler(timezone=UTC,
                                        executors={"default": ThreadPoolExecutor(1)})
        scheduler.add_listener(self._on_event, EVENT_JOB_MISSED | EVENT_JOB_EXECUTED
                               | EVENT_JOB_ERROR | EVENT_JOB_MAX_INSTANCES)
        trigger = IntervalTrigger(seconds=self.every, timezone=UTC)
        # The first tick at once, on the scheduler's own (wall) clock: the trigger's start
        # is its "now" plus one interval. The application's clock may be a test's.
        first = trigger.start_date - trigger.interval
        scheduler.add_job(self._tick, trigger, id="advance", next_run_time=first,
                          misfire_grace_time=self.grace, coalesce=False, max_instances=1)
        if self.on_lead is not None:
            self.on_lead()
        self.leading.set()
        scheduler.start()
        self._beat_if_due(force=True)
        lost = False
        try:
            while not self.stop.wait(LEADER_CHECK_SECONDS):
                if not self.lock.held():
                    lost = True
                    break
                self._beat_if_due(force=False)
        finally:
            self.leading.clear()  # no new tick from here
            scheduler.shutdown(wait=True)  # the tick in flight finishes
            self._flush_missed()
        if lost:
            if self.on_lost is not None:
                self.on_lost()
            self.figures["standing"] = "standby"
            self.figures["lost_lead"] += 1
            self.say(f"live: lost the lead ({self.lock.where()} is gone); no new tick "
                     "until this process holds it again")
            self._beat_if_due(force=True)

    def _tick(self) -> None:
        if not self.leading.is_set() or self.stop.is_set():
            return
        self._flush_missed()
        try:
            outcome = self.tick()
        except Exception as error:  # one line, no traceback: the next tick retries
            self.figures["failed_ticks"] += 1
            log.warning("live: a tick failed (%s); the next one retries",
                        self._reason(error))
            return
        figures = self.figures
        figures["ticks"] += 1
        figures["last_tick"] = self.app.now().isoformat()
        report = getattr(outcome, "report", None)
        sent = getattr(outcome, "sent", None)
        figures["touchpoints"] += getattr(report, "touchpoints", 0)
        figures["messages"] += getattr(sent, "sent", 0)

    def _on_event(self, event: Any) -> None:
        from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
        if event.code == EVENT_JOB_MISSED:
            with self._missed_lock:
                if not self._missed:
                    self._noticed = self.app.now()
                self._missed.append(event.scheduled_run_time)
            self.figures["missed_firings"] += 1
        elif event.code == EVENT_JOB_MAX_INSTANCES:
            self.figures["busy_firings"] += 1
        else:  # a firing ran (or failed): the misses before it in its backlog are all in
            self._flush_missed()

    def _flush_missed(self) -> None:
        with self._missed_lock:
            missed, noticed = sorted(self._missed), self._noticed
            if not missed or noticed is None:
                return
            try:
                with store_of(self.app) as store:
                    with store.write() as unit:
                        unit.append_facts([NewFact(SCHEDULE_STREAM, TickMissed, {
                            "scheduled_at": _utc(missed[0]),
                            "last_scheduled_at": _utc(missed[-1]),
                            "firings": len(missed), "every_seconds": self.every,
                            "grace_seconds": self.grace, "noticed_at": noticed.isoformat(),
                            "scheduler": str(getattr(self.member, "member", "scheduler"))})],
                            recorded_at=noticed)
                    finish_write(self.app, store)
            except Exception as error:  # kept, recorded with the next flush
                log.warning("live: could not record %d missed firing(s) yet (%s)",
                            len(missed), self._reason(error))
                return
            self._missed, self._noticed = [], None
        log.warning("live: %d firing(s) of the timer missed, the first due at %s (later "
                    "than the %d s grace; noticed at %s); recorded as TickMissed, the "
                    "next tick catches up", len(missed), _utc(missed[0]), self.grace,
                    noticed.isoformat())

    # --- the members row ----------------------------------------------------------------

    def _beat_if_due(self, *, force: bool) -> None:
        now = time.monotonic()
        if not force and now - self._beaten < BEAT_SECONDS:
            return
        self._beaten = now
        leader = self.figures["standing"] == "leader"
        self._quietly("members", lambda: self.member.beat(leader=leader, **self.figures))

    def _quietly(self, what: str, action: Callable[[], Any]) -> None:
        try:
            action()
        except Exception as error:
            self._complain(what, error)
        else:
            self._complained.discard(what)

    def _complain(self, what: str, error: BaseException) -> None:
        """One warning per kind of trouble until it clears (a standby polls every 2 s)."""
        if what in self._complained:
            return
        self._complained.add(what)
        doing = {"lock": "take or check the leader lock",
                 "members": "write the members row", "leave": "mark the member stopped"}
        log.warning("live: cannot %s (%s); retrying", doing.get(what, what),
                    self._reason(error))

    def _reason(self, error: BaseException) -> str:
        text = (str(error).strip().splitlines() or [""])[0][:300]
        return f"{type(error).__name__}: {without_secrets(text, self.app.settings.store_url)}"


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()
