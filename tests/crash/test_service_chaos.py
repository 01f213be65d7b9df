"""The whole live service under kill -9: two schedulers and two workers share one store
while a seeded killer picks one of them at random moments, kills it with SIGKILL and
starts a replacement, again and again, during a run that sends every message of a
population (email through SendGrid, SMS through Twilio, the official SDKs against
tests/crash/fake_providers.py). Then everything stops, one worker settles what the
killed ones left in doubt after the claims' lease, and the checker proves: nothing lost,
nothing recorded twice, an email sent twice only where the history records a hand-over
without an outcome, an SMS never twice, the chain intact.

Every process runs on one clock that starts at TEST_NOW and moves with the monotonic
clock, so nothing depends on today's date. Sizes: ``CHAOS_MESSAGES`` (300 in the suite;
``make soak`` runs 10,000) and ``CHAOS_KILLS`` (8; soak 60).
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from tests.conftest import TEST_NOW, fixed_clock, run_cli
from tests.crash.test_dispatcher_crashes import (
    environ,
    phone,
    prepared_copies,
    providers,  # noqa: F401  (the fixture)
)
from tests.crash.test_scheduler_faults import kill, recorded_once, stop, wait_for

from orchestrator.application.dispatch import CLAIM_LEASE

MESSAGES = int(os.environ.get("CHAOS_MESSAGES", "300"))
KILLS = int(os.environ.get("CHAOS_KILLS", "8"))
EMAILS = MESSAGES * 2 // 3
SMS = MESSAGES - EMAILS


class Service:
    """The processes of the live service on one store, forked from the test, each on the
    shared clock; ``replace`` kills one with SIGKILL and starts another of its kind."""

    def __init__(self, url: str, templates: Path, env: dict[str, str]):
        self.url, self.templates, self.env = url, templates, env
        self.started = time.monotonic()
        self.processes: dict[int, str] = {}
        self.killed: Counter[str] = Counter()

    def clock(self):
        offset = time.monotonic() - self.started
        anchor = time.monotonic()
        return lambda: TEST_NOW + timedelta(seconds=offset + time.monotonic() - anchor)

    def start(self, role: str) -> int:
        clock = self.clock()
        command = (["run", "--every", "1", "--channels", "live"] if role == "scheduler" else
                   ["worker", "--channels", "live", "--every", "0.05", "--concurrency", "4"])
        pid = os.fork()
        if pid == 0:
            code = 3
            try:
                log = open(self.templates.parent / f"{role}-{os.getpid()}.log", "w",  # noqa: SIM115
                           buffering=1)
                sys.stdout = sys.stderr = log
                from orchestrator.cli import main
                code = main(["--store", self.url, "--templates", str(self.templates),
                             *command], environ=self.env, clock=clock)
            finally:
                os._exit(code)
        self.processes[pid] = role
        return pid

    def replace(self, rng: random.Random) -> None:
        pid = rng.choice(sorted(self.processes))
        role = self.processes.pop(pid)
        kill(pid)
        self.killed[role] += 1
        self.start(role)

    def now(self):
        return TEST_NOW + timedelta(seconds=time.monotonic() - self.started)

    def stop_all(self) -> None:
        for pid in list(self.processes):
            stop(pid, timeout=120)
            self.processes.pop(pid)


def quiet(url: str, service: Service) -> bool:
    status = json.loads(run_cli("--store", url, "status", "--json", clock=service.now).out)
    decided = json.loads(run_cli("--store", url, "messages", "--json").out)
    return len(decided) == MESSAGES and status["due"] == 0 and status["lag"] is not None


def final_statuses(url: str) -> Counter:
    return Counter(m["status"] for m in json.loads(
        run_cli("--store", url, "messages", "--json").out))


@pytest.mark.parametrize("backend", ["sqlite",
                                     pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_the_service_killed_at_random_loses_nothing_and_sends_nothing_twice(
        backend, tmp_path, providers):  # noqa: F811
    copies = prepared_copies(backend, tmp_path, emails=EMAILS, sms=SMS)
    url = copies.copy(0)
    env = environ(providers)
    service = Service(url, copies.templates, env)
    rng = random.Random(f"chaos-{backend}-{MESSAGES}")
    try:
        providers.new_run()
        emails_before = Counter(providers.ledger.emails)
        sms_before = len(providers.ledger.sms)

        def emails() -> Counter:
            return providers.ledger.emails - emails_before

        for role in ("scheduler", "scheduler", "worker", "worker"):
            service.start(role)
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.3, 1.5))
            service.replace(rng)
        # Let the survivors send what they can (everything but the claims the killed
        # ones left, which wait for their lease), then stop them all (SIGTERM: clean).
        wait_for("every message decided and nothing due but claims in doubt",
                 lambda: quiet(url, service), timeout=120 + MESSAGES / 20,
                 explain=lambda: run_cli("--store", url, "status", "--json",
                                         clock=service.now).out)
        service.stop_all()
        # What the killed ones left claimed without an outcome is settled once their
        # lease has run out: a worker on the shared clock moved past it.
        after_lease = service.now() + CLAIM_LEASE + timedelta(minutes=1)
        run = run_cli("--store", url, "--templates", str(copies.templates), "run", "--until",
                      after_lease.isoformat(), "--channels", "live", "--dispatch", "workers",
                      environ=env, clock=fixed_clock(after_lease))
        assert run.code == 0, run.err
        settled = run_cli("--store", url, "--templates", str(copies.templates), "worker",
                          "--channels", "live", "--drain", "--every", "0.05", environ=env,
                          clock=fixed_clock(after_lease))
        assert settled.code == 0, settled.err

        assert final_statuses(url) == Counter({"sent": MESSAGES})  # nothing lost
        recorded_once(url, MESSAGES)  # no fact recorded twice
        lines = [json.loads(line) for line in
                 run_cli("--store", url, "audit", "export").out.splitlines()]
        claims = Counter(line["message"] for line in lines if line["type"] == "MessageClaimed")
        assert len(emails()) == EMAILS
        for message, accepted in emails().items():
            assert accepted == 1 or claims[message] >= accepted, (message, accepted)
        sms = Counter(s["To"] for s in providers.ledger.sms[sms_before:])
        assert sorted(sms) == sorted(phone(n) for n in range(SMS))
        assert set(sms.values()) == {1}, sms  # never twice
        assert run_cli("--store", url, "audit", "verify").code == 0
        assert service.killed["scheduler"] and service.killed["worker"], service.killed
        print(f"\nchaos {backend}: {MESSAGES} messages, killed {dict(service.killed)}, "
              f"emails sent twice: {sum(1 for n in emails().values() if n > 1)}")
    finally:
        for pid in list(service.processes):
            with _quiet():
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
        copies.drop(0)
        copies.close()


class _quiet:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return exc[0] is not None and issubclass(exc[0], (ProcessLookupError,
                                                           ChildProcessError))
