"""The live scheduler (`run` without --until) under faults, on SQLite and PostgreSQL:

- two schedulers on one store: exactly one leads; the leader killed with SIGKILL, the
  standby takes over within seconds, and every due message goes out once overall;
- the leader killed at seeded moments (a random time, or a random provider hand-over)
  while it sends a few hundred messages, then started again: nothing lost, nothing sent
  twice except what the store records as handed over without an outcome (in doubt);
- PostgreSQL: every backend of the scheduler terminated (``pg_terminate_backend``: its
  lock connection and its writing ones) at a seeded moment of a tick: it loses the lead
  and takes it back, the tick retries, the chain verifies, nothing is recorded twice, and
  a restart finishes.

Schedulers are forked from the test process (no interpreter start-up) and run the
command line with ``--every 1`` on a clock that starts at TEST_NOW and moves with the
monotonic clock, so nothing depends on today's date. ``CRASH_RUNS`` (50 in ``make
test``, more in ``make soak``) scales the seeded runs: one for every 25 of it, at least 2.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import signal
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.conftest import POSTGRES_BASE, TEST_NOW, run_cli
from tests.crash.fake_providers import KillPlan
from tests.crash.test_dispatcher_crashes import (
    check_run,
    environ,
    prepared_copies,
    providers,  # noqa: F401  (the fixture)
)
from tests.journeys_support import THANKS_ON_PURCHASE, JourneyWorld
from tests.support import consent, contact, purchase

from orchestrator.application.dispatch import CLAIM_LEASE
from orchestrator.service.members import members
from orchestrator.store import StoreLocation
from orchestrator.store.sql import engine_for

RUNS = max(2, int(os.environ.get("CRASH_RUNS", "50")) // 25)
EMAILS, SMS = 150, 150
AT = "2026-03-02T12:00:00+00:00"
TAKEOVER_SECONDS = 10  # standby poll 2 s + a tick; generous for a shared 2-core machine


def live_clock(offset: timedelta = timedelta(0)):
    started = time.monotonic()
    return lambda: TEST_NOW + offset + timedelta(seconds=time.monotonic() - started)


def start_scheduler(url: str, templates: Path, env: dict[str, str] | None = None, *,
                    outbox: Path | None = None, offset: timedelta = timedelta(0)) -> int:
    """Fork ``orchestrator run --every 1`` (live channels when ``env`` is given); what it
    prints goes to ``TEMPLATES/../scheduler-PID.log``."""
    pid = os.fork()
    if pid == 0:
        code = 3
        try:
            from orchestrator.cli import main
            log = open(templates.parent / f"scheduler-{os.getpid()}.log", "w",  # noqa: SIM115
                       buffering=1)  # the child exits with os._exit: never closed
            sys.stdout = sys.stderr = log
            logging.getLogger().handlers = [logging.StreamHandler(log)]  # not pytest's
            args = ["--store", url, "--templates", str(templates), "run", "--every", "1"]
            args += ["--channels", "live"] if env else ["--outbox", str(outbox)]
            code = main(args, environ=env or {}, clock=live_clock(offset))
        finally:
            os._exit(code)
    return pid


def output(templates: Path, pid: int) -> str:
    path = templates.parent / f"scheduler-{pid}.log"
    return path.read_text() if path.exists() else ""


def wait_for(what: str, condition, timeout: float = 60.0, every: float = 0.2,
             explain=lambda: ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{explain()}")


def stop(pid: int, timeout: float = 60.0) -> int:
    """SIGTERM, then the exit code (the tick in flight finishes first)."""
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise AssertionError(f"scheduler {pid} did not stop within {timeout} s of SIGTERM")


def kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


def rows(url: str) -> dict[int, object]:
    """The scheduler rows of the members table, by pid."""
    engine = engine_for(StoreLocation.parse(url))
    try:
        return {m.pid: m for m in members(engine) if m.role == "scheduler"}
    finally:
        engine.dispose()


def messages(url: str) -> list[dict]:
    return json.loads(run_cli("--store", url, "messages", "--json").out)


def recorded_once(url: str, count: int) -> None:
    """Nothing recorded twice: one enrolment, one scheduled message and one outcome
    (sent, or found sent by reconciliation) per contact."""
    lines = [json.loads(line)
             for line in run_cli("--store", url, "audit", "export").out.splitlines()]
    types = Counter(line["type"] for line in lines)
    assert types["ContactEnrolled"] == types["MessageScheduled"] == count, types
    outcomes = Counter(line["message"] for line in lines
                       if line["type"] in ("MessageSent", "MessageReconciled"))
    assert len(outcomes) == count and set(outcomes.values()) == {1}, outcomes


def all_sent(url: str, count: int) -> bool:
    found = messages(url)
    return len(found) == count and all(m["status"] == "sent" for m in found)


def ingest(world: JourneyWorld, keys: range, prefix: str) -> None:
    lines = []
    for n in keys:
        key = f"{prefix}{n}"
        lines += [contact(f"c{key}", AT, key, email=f"{key.lower()}@example.com"),
                  consent(f"g{key}", AT, key), purchase(f"p{key}", AT, key)]
    world.ingest(*lines)


# --- a. two schedulers, the leader killed ------------------------------------------------

def test_one_of_two_schedulers_leads_and_the_standby_takes_over_when_it_is_killed(
        store_url, tmp_path):
    world = JourneyWorld(run_cli, store_url, tmp_path)
    world.publish(THANKS_ON_PURCHASE)
    ingest(world, range(20), "A")
    first = start_scheduler(store_url, world.templates, outbox=tmp_path / "outbox1")
    second = None
    try:
        wait_for("the first scheduler to lead",
                 lambda: getattr(rows(store_url).get(first), "leader", False))
        second = standby = start_scheduler(store_url, world.templates,
                                           outbox=tmp_path / "outbox2")
        wait_for("the second scheduler to join", lambda: second in rows(store_url))
        wait_for("the first batch sent", lambda: all_sent(store_url, 20))
        found = rows(store_url)
        assert found[first].leader and not found[second].leader  # exactly one leads
        assert found[second].detail["standing"] == "standby"

        kill(first)
        killed_at = time.monotonic()
        ingest(world, range(20), "B")  # due after the leader died
        wait_for("the standby to take over",
                 lambda: getattr(rows(store_url).get(second), "leader", False),
                 timeout=TAKEOVER_SECONDS)
        took = time.monotonic() - killed_at
        wait_for("the second batch sent", lambda: all_sent(store_url, 40))
        assert stop(second) == 0
        second = None
    finally:
        for pid in (first, second):
            if pid is not None:
                with contextlib.suppress(ProcessLookupError, ChildProcessError):
                    kill(pid)
    written = Counter(path.stem for outbox in ("outbox1", "outbox2")
                      if (tmp_path / outbox / "email").exists()
                      for path in (tmp_path / outbox / "email").iterdir())
    assert sorted(written) == sorted(m["id"] for m in messages(store_url))
    assert set(written.values()) == {1}  # each due message written once, overall
    assert len(list((tmp_path / "outbox2" / "email").iterdir())) >= 20  # the standby's
    assert rows(store_url)[standby].state == "stopped"  # it left on SIGTERM
    print(f"\ntakeover after {took:.1f} s")


# --- b. the leader killed at seeded moments while it sends ------------------------------

@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
                scope="module")
def big_copies(request, tmp_path_factory):
    stores = prepared_copies(request.param, tmp_path_factory.mktemp("scheduler"),
                             emails=EMAILS, sms=SMS)
    yield stores
    stores.close()


KINDS = ("time", "before", "after", "later")


def test_a_killed_leader_restarted_loses_nothing_and_duplicates_only_in_doubt(
        big_copies, providers):  # noqa: F811
    env = environ(providers)
    rng = random.Random("scheduler-crash")
    seen: Counter = Counter()
    restart_offset = CLAIM_LEASE + timedelta(minutes=1)
    for run in range(RUNS):
        url = big_copies.copy(run)
        try:
            providers.new_run()
            emails_before = Counter(providers.ledger.emails)
            sms_before = len(providers.ledger.sms)
            kind = KINDS[run % len(KINDS)] if run < len(KINDS) else rng.choice(KINDS)
            pid = start_scheduler(url, big_copies.templates, env)
            if kind == "time":
                time.sleep(rng.uniform(0.05, 2.0))
                kill(pid)
            else:
                providers.arm(KillPlan(kind, at=rng.randint(1, EMAILS + SMS),
                                       delay=rng.uniform(0, 0.05), victim=pid))
                _, status = os.waitpid(pid, 0)
                providers.arm(KillPlan("none", 0))
                assert os.WIFSIGNALED(status), "the scheduler ended before its kill"
            accepted = (sum((providers.ledger.emails - emails_before).values())
                        + len(providers.ledger.sms) - sms_before)
            seen["killed mid-work"] += accepted < EMAILS + SMS
            # Started again past the claims' lease: it settles what the first left in
            # doubt and sends the rest, on its own.
            again = start_scheduler(url, big_copies.templates, env, offset=restart_offset)
            try:
                wait_for("the restarted scheduler to send everything",
                         lambda url=url: all_sent(url, EMAILS + SMS), timeout=60,
                         explain=lambda url=url, again=again, kind=kind: (
                             f"{kind}: {Counter(m['status'] for m in messages(url))}\n"
                             f"{output(big_copies.templates, again)[-3000:]}"))
            finally:
                assert stop(again) == 0
            seen += check_run(url, big_copies.templates, env, providers, emails_before,
                              sms_before, emails=EMAILS, sms=SMS,
                              after=TEST_NOW + 2 * restart_offset,
                              until=(TEST_NOW + 3 * restart_offset).isoformat())
            assert run_cli("--store", url, "audit", "verify").code == 0
            recorded_once(url, EMAILS + SMS)
        finally:
            big_copies.drop(run)
    print(f"\nscheduler kills: {dict(seen)}")
    assert seen["killed mid-work"] >= 1, seen


# --- c. PostgreSQL: the scheduler's connections terminated mid-tick -----------------------

def terminate_backends(url: str) -> None:
    import psycopg
    dbname = StoreLocation.parse(url).pg_dbname
    with psycopg.connect(POSTGRES_BASE.split("?")[0], autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = %s AND pid <> pg_backend_pid()", (dbname,))


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql"])
def test_terminated_connections_lose_the_lead_and_the_store_stays_consistent(
        backend, tmp_path_factory, providers):  # noqa: F811
    stores = prepared_copies(backend, tmp_path_factory.mktemp("terminate"),
                             emails=EMAILS, sms=SMS)
    env = environ(providers)
    rng = random.Random("scheduler-terminate")
    restart_offset = CLAIM_LEASE + timedelta(minutes=1)
    lost = 0
    try:
        for run in range(RUNS):
            url = stores.copy(run)
            try:
                providers.new_run()
                emails_before = Counter(providers.ledger.emails)
                sms_before = len(providers.ledger.sms)
                pid = start_scheduler(url, stores.templates, env)
                try:
                    if run % 2 == 0:  # at a random hand-over to a provider
                        done = threading.Event()
                        providers.arm(KillPlan("after", at=rng.randint(1, EMAILS + SMS),
                                               action=lambda url=url, done=done: (
                                                   terminate_backends(url), done.set())))
                        wait_for("the hand-over", done.is_set)
                        providers.arm(KillPlan("none", 0))
                    else:  # at a random moment of the first tick
                        time.sleep(rng.uniform(0.1, 1.5))
                        terminate_backends(url)
                    # It notices, goes standby, takes the lead back and ticks again.
                    wait_for("the scheduler to lead again", lambda url=url, pid=pid: (
                        (row := rows(url).get(pid)) is not None and row.leader
                        and row.detail["lost_lead"] >= 1), timeout=30)
                    lost += 1
                finally:
                    assert stop(pid) == 0
                again = start_scheduler(url, stores.templates, env, offset=restart_offset)
                try:
                    wait_for("the restart to finish", lambda url=url: all_sent(
                        url, EMAILS + SMS), timeout=120)
                finally:
                    assert stop(again) == 0
                check_run(url, stores.templates, env, providers, emails_before, sms_before,
                          emails=EMAILS, sms=SMS, after=TEST_NOW + 2 * restart_offset,
                          until=(TEST_NOW + 3 * restart_offset).isoformat())
                assert run_cli("--store", url, "audit", "verify").code == 0
                recorded_once(url, EMAILS + SMS)
            finally:
                stores.drop(run)
    finally:
        stores.close()
    assert lost == RUNS


# --- SIGTERM mid-tick; a stopped process's missed firings --------------------------------

def test_sigterm_in_a_tick_finishes_it_then_leaves(big_copies, providers):  # noqa: F811
    env = environ(providers)
    url = big_copies.copy(100)
    try:
        providers.new_run()
        pid = start_scheduler(url, big_copies.templates, env)
        providers.arm(KillPlan("later", at=(EMAILS + SMS) // 3,
                               action=lambda: os.kill(pid, signal.SIGTERM)))
        wait_for("the hand-over", lambda: providers.plan.action is None)
        providers.arm(KillPlan("none", 0))
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        # Nothing left in doubt or unsent: the tick went to its end before the exit.
        assert all_sent(url, EMAILS + SMS)
        row = rows(url)[pid]
        assert (row.state, row.leader) == ("stopped", False)
        assert "live: stopped" in output(big_copies.templates, pid)
    finally:
        big_copies.drop(100)


WAIT_THEN_THANK = """
journey: wait-then-thank
trigger: {on: purchase.recorded}
steps:
  - id: pause
    wait: 5s
  - id: thanks
    send: {intent: relationship, template: thanks}
"""


def test_firings_missed_while_stopped_are_recorded_and_the_next_tick_catches_up(
        sqlite_url, tmp_path):
    world = JourneyWorld(run_cli, sqlite_url, tmp_path)
    world.publish(WAIT_THEN_THANK)
    now = TEST_NOW.isoformat()  # the scheduler's clock starts there
    world.ingest(contact("cW", now, "W", email="w@example.com"), consent("gW", now, "W"),
                 purchase("pW", now, "W"))
    pid = start_scheduler(sqlite_url, world.templates, outbox=tmp_path / "outbox")
    try:
        wait_for("the scheduler to lead",
                 lambda: getattr(rows(sqlite_url).get(pid), "leader", False))
        wait_for("the enrolment", lambda: world.events("ContactEnrolled"))
        os.kill(pid, signal.SIGSTOP)  # as a machine asleep: the wait comes due meanwhile
        stopped = datetime.now(UTC)
        time.sleep(7)
        resumed = datetime.now(UTC)
        os.kill(pid, signal.SIGCONT)
        assert messages(sqlite_url) == []  # nothing was sent while stopped
        wait_for("the message the wait released", lambda: all_sent(sqlite_url, 1),
                 timeout=15)
        [missed, *_] = wait_for("the missed firings recorded",
                                lambda: world.events("TickMissed"), timeout=15)
        assert stop(pid) == 0
    finally:
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            kill(pid)
    first = datetime.fromisoformat(missed["scheduled_at"])
    last = datetime.fromisoformat(missed["last_scheduled_at"])
    assert stopped - timedelta(seconds=2) <= first <= last <= resumed
    assert missed["firings"] >= 4 and missed["every_seconds"] == 1
    assert missed["grace_seconds"] == 1
    assert datetime.fromisoformat(missed["noticed_at"]) > TEST_NOW
    assert rows(sqlite_url)[pid].detail["missed_firings"] >= missed["firings"]
    assert "firing(s) of the timer missed" in output(world.templates, pid)
