"""The dispatcher killed with SIGKILL at a seeded moment, then started again: nothing is
lost, SMS is never sent twice, and an email is sent twice only when its history records
the hand-over whose outcome was lost (in doubt). On SQLite and PostgreSQL.

Each seeded run copies a prepared store (contacts, consents, purchases, a journey),
forks a process that runs ``orchestrator run --channels live`` against a local SendGrid
and Twilio (tests/crash/fake_providers.py) through the official SDKs, kills it at the
seed's hand-over (before the provider accepts it, after it accepts but before the
answer, or a moment after an answer), then runs again past the claim lease and checks
the provider's ledger against the store. ``CRASH_RUNS`` sets the runs per kind of kill
(50 in ``make test``; ``make soak`` runs more).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import uuid
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from tests.conftest import POSTGRES_BASE, TEST_NOW, fixed_clock, postgres_available, run_cli
from tests.crash.fake_providers import FakeProviders, KillPlan
from tests.journeys_support import THANKS_ON_PURCHASE, JourneyWorld
from tests.support import consent, contact, purchase

from orchestrator.application.dispatch import CLAIM_LEASE

RUNS = int(os.environ.get("CRASH_RUNS", "50"))
EMAIL_CONTACTS = 6
SMS_CONTACTS = 6
AT = "2026-03-02T12:00:00+00:00"
UNTIL = "2026-03-03T00:00:00+00:00"
MODES = ("before", "after", "later")


def environ(providers: FakeProviders) -> dict[str, str]:
    return {"SENDGRID_API_KEY": "SG.crash-test-key", "ORCHESTRATOR_SENDGRID_URL": providers.url,
            "ORCHESTRATOR_EMAIL_FROM": "The shop <hello@shop.example>",
            "TWILIO_ACCOUNT_SID": "AC" + "0123456789abcdef" * 2,
            "TWILIO_AUTH_TOKEN": "crash-test-token", "TWILIO_FROM": "+447700900000",
            "ORCHESTRATOR_TWILIO_URL": providers.url,
            "ORCHESTRATOR_PUBLIC_URL": "https://messages.shop.example",
            "ORCHESTRATOR_LINK_SECRET": "crash-test-link-secret-0123456789abcdef"}


def phone(n: int) -> str:
    return f"+4477009{n:05d}"


def prepare(url: str, folder: Path, emails: int = EMAIL_CONTACTS,
            sms: int = SMS_CONTACTS) -> JourneyWorld:
    world = JourneyWorld(run_cli, url, folder)
    world.publish(THANKS_ON_PURCHASE)
    lines = []
    for n in range(emails):
        key = f"E{n}"
        lines += [contact(f"c{key}", AT, key, email=f"e{n}@example.com"),
                  consent(f"g{key}", AT, key), purchase(f"p{key}", AT, key)]
    for n in range(sms):
        key = f"S{n}"
        lines += [contact(f"c{key}", AT, key, phone=phone(n), timezone="Europe/London"),
                  consent(f"g{key}", AT, key, channel="sms"), purchase(f"p{key}", AT, key)]
    world.ingest(*lines)
    return world


class SqliteCopies:
    def __init__(self, folder: Path):
        self.folder = folder
        self.template = folder / "template.db"
        self.url = f"sqlite:///{self.template}"

    def copy(self, n: int) -> str:
        target = self.folder / f"run{n}.db"
        for suffix in ("", "-wal", "-shm"):
            source = Path(f"{self.template}{suffix}")
            if source.exists():
                shutil.copyfile(source, f"{target}{suffix}")
        return f"sqlite:///{target}"

    def drop(self, n: int) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.folder / f'run{n}.db'}{suffix}").unlink(missing_ok=True)

    def close(self) -> None:
        pass


class PostgresCopies:
    """Each run gets a database copied from a prepared template (CREATE DATABASE ...
    TEMPLATE), dropped afterwards."""

    def __init__(self) -> None:
        import psycopg
        self.psycopg = psycopg
        self.prefix = f"crash_{uuid.uuid4().hex[:8]}"
        self.base = POSTGRES_BASE.split("?")[0].rsplit("/", 1)[0]
        self._admin(f'CREATE DATABASE "{self.prefix}_t"')
        self.url = f"{self.base}/{self.prefix}_t"

    def _admin(self, sql: str) -> None:
        with self.psycopg.connect(POSTGRES_BASE.split("?")[0], autocommit=True) as admin:
            admin.execute(sql)

    def copy(self, n: int) -> str:
        self._admin(f'CREATE DATABASE "{self.prefix}_{n}" TEMPLATE "{self.prefix}_t"')
        return f"{self.base}/{self.prefix}_{n}"

    def drop(self, n: int) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.prefix}_{n}" WITH (FORCE)')

    def close(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.prefix}_t" WITH (FORCE)')


def prepared_copies(backend: str, folder: Path, **contacts: int) -> SqliteCopies | PostgresCopies:
    """A prepared store (``prepare``) to copy for each seeded run, on ``backend``."""
    if backend == "sqlite":
        stores = SqliteCopies(folder)
    else:
        if not postgres_available():
            if os.environ.get("CI") == "true":
                pytest.fail("PostgreSQL is not reachable and CI=true")
            pytest.skip("PostgreSQL not reachable")
        stores = PostgresCopies()
    world = prepare(stores.url, folder, **contacts)
    stores.templates = world.templates
    return stores


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
                scope="module")
def copies(request, tmp_path_factory):
    stores = prepared_copies(request.param, tmp_path_factory.mktemp("crash"))
    yield stores
    stores.close()


@pytest.fixture(scope="module")
def providers():
    fake = FakeProviders()
    yield fake
    fake.close()


def cli_in_child(args: list[str], env: dict[str, str], providers: FakeProviders,
                 plan: KillPlan) -> int:
    """Fork the command line (the suite's fixed clock); arm the kill plan with its pid once
    it is forked; wait for it to end; return its wait status."""
    ready_read, ready_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the victim
        os.close(ready_write)
        os.read(ready_read, 1)
        code = 3
        try:
            code = run_cli(*args, environ=env).code
        finally:
            os._exit(code)
    os.close(ready_read)
    plan.victim = pid
    providers.arm(plan)
    os.write(ready_write, b"go")
    os.close(ready_write)
    _, status = os.waitpid(pid, 0)
    providers.arm(KillPlan("none", 0))
    return status


def dispatch_in_child(url: str, templates: Path, env: dict[str, str],
                      providers: FakeProviders, plan: KillPlan) -> int:
    """A dispatcher (``run --until --channels live``) under the kill plan."""
    return cli_in_child(["--store", url, "--templates", str(templates), "run", "--until",
                         UNTIL, "--channels", "live"], env, providers, plan)


def check_run(url: str, templates: Path, env: dict[str, str], providers: FakeProviders,
              emails_before: Counter, sms_before: int, *, emails: int = EMAIL_CONTACTS,
              sms: int = SMS_CONTACTS, after: datetime = TEST_NOW,
              until: str = UNTIL) -> Counter:
    """Resume past the lease (counted from ``after``), check the promises, and say what
    the crash left to settle."""
    after_lease = after + CLAIM_LEASE + timedelta(seconds=1)
    resumed = run_cli("--store", url, "--templates", str(templates), "run", "--until", until,
                      "--channels", "live", environ=env, clock=fixed_clock(after_lease))
    assert resumed.code == 0, resumed.err
    messages = json.loads(run_cli("--store", url, "messages", "--json").out)
    assert len(messages) == emails + sms
    assert {m["status"] for m in messages} == {"sent"}, messages  # nothing lost or in doubt

    lines = [json.loads(line) for line in run_cli("--store", url, "audit", "export").out
             .splitlines()]
    claims = Counter(line["message"] for line in lines
                     if line["type"] == "MessageClaimed")
    emails = providers.ledger.emails - emails_before
    for m in messages:
        if m["channel"] == "email":
            accepted = emails[m["id"]]
            assert accepted >= 1, f"{m['id']} lost"
            # A second copy only where the store records a hand-over without an outcome.
            assert accepted == 1 or claims[m["id"]] >= accepted, (m["id"], accepted)
    sms_sent = Counter(s["To"] for s in providers.ledger.sms[sms_before:])
    assert sorted(sms_sent) == sorted(phone(n) for n in range(sms))
    assert set(sms_sent.values()) == {1}, sms_sent  # never twice
    types = Counter(line["type"] for line in lines)
    return Counter({"reconciled": types["MessageReconciled"],
                    "resent": sum(1 for m in messages if emails[m["id"]] > 1),
                    "attempts": types["MessageClaimed"]})


@pytest.mark.parametrize("mode", MODES)
def test_a_killed_dispatcher_loses_nothing_and_duplicates_only_in_doubt(copies, providers,
                                                                        mode):
    rng = random.Random(f"crash-{mode}")
    seen: Counter = Counter()
    for run in range(RUNS):
        url = copies.copy(run)
        # Every other run saves the engine's state after each run, so the resumed run
        # carries on from a snapshot the killed one left (docs/engine-state.md).
        env = {**environ(providers), "ORCHESTRATOR_ENGINE_SNAPSHOT_EVERY": str(run % 2)}
        try:
            providers.new_run()
            emails_before = Counter(providers.ledger.emails)
            sms_before = len(providers.ledger.sms)
            plan = KillPlan(mode, at=rng.randint(1, EMAIL_CONTACTS + SMS_CONTACTS),
                            delay=rng.uniform(0, 0.05))
            status = dispatch_in_child(url, copies.templates, env, providers, plan)
            seen["killed"] += os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
            seen += check_run(url, copies.templates, env, providers, emails_before,
                              sms_before)
        finally:
            copies.drop(run)
    # The runs did what they say: the dispatcher was killed, and what it left in doubt
    # was settled both ways (found at the provider, or sent again where that is allowed).
    print(f"\n{mode}: {dict(seen)}")
    assert seen["killed"] >= RUNS // 2, seen
    assert seen["attempts"] > RUNS * (EMAIL_CONTACTS + SMS_CONTACTS), seen
    if mode == "after":
        assert seen["reconciled"] > 0 and seen["resent"] > 0, seen
