"""`orchestrator worker` processes sharing dispatch on one store (docs/workers.md).

- 2 and 3 workers on PostgreSQL, 2 on SQLite, over 1,000 chosen messages (two per
  contact, decided two days apart): each message sent exactly once, each worker sent
  some, one contact's second message claimed only after its first one's outcome, the
  chain verifies;
- SIGTERM mid-dispatch (a local SendGrid and Twilio, tests/crash/fake_providers.py): the
  worker exits 0, its row says stopped, what it had claimed and not handed over is
  released, and the next worker sends the rest: nothing lost, nothing twice;
- kill -9 mid-dispatch, then another worker after the claim lease: nothing lost, SMS never
  twice, an email twice only where the history records the hand-over in doubt.
  ``WORKER_CRASH_RUNS`` sets the runs per store (3 by default; the kinds of kill rotate).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from tests.conftest import POSTGRES_BASE, TEST_NOW, fixed_clock, postgres_available, run_cli
from tests.crash.fake_providers import FakeProviders, KillPlan
from tests.crash.test_dispatcher_crashes import (
    PostgresCopies,
    SqliteCopies,
    cli_in_child,
    environ,
    phone,
)
from tests.journeys_support import TWO_NOTES, JourneyWorld
from tests.support import consent, contact, purchase

from orchestrator.application.dispatch import CLAIM_LEASE

AT = "2026-03-02T10:00:00+00:00"
UNTIL = "2026-03-06T00:00:00+00:00"
CONTACTS = 500  # two messages each
CRASH_RUNS = int(os.environ.get("WORKER_CRASH_RUNS", "3"))
assert POSTGRES_BASE  # the PostgreSQL cases use the suite's server


def chosen(world: JourneyWorld, lines: list[dict]) -> None:
    """Record the touchpoints and let the engine choose, leaving every send to workers."""
    world.publish(TWO_NOTES)
    world.ingest(*lines)
    result = world.run_cli("run", "--until", UNTIL, "--dispatch", "workers")
    assert result.code == 0, result.err
    assert "left to `orchestrator worker`" in result.out, result.out


def email_lines(contacts: int) -> list[dict]:
    lines = []
    for n in range(contacts):
        key = f"C{n:04d}"
        lines += [contact(f"c{n}", AT, key, email=f"{key.lower()}@example.com"),
                  consent(f"g{n}", AT, key), purchase(f"p{n}", AT, key)]
    return lines


def export(url: str) -> list[dict]:
    result = run_cli("--store", url, "audit", "export")
    assert result.code == 0, result.err
    return [json.loads(line) for line in result.out.splitlines()]


def check_contact_order(lines: list[dict]) -> int:
    """One contact's messages go in decision order, never two in flight at once: each
    message is first claimed after the outcome of the one decided before it. Returns how
    many contacts had more than one message."""
    contact_of = {line["message"]: line["contact"] for line in lines
                  if line["type"] == "MessageScheduled"}
    decided: dict[str, str] = {}
    first_claim: dict[str, int] = {}
    outcome: dict[str, int] = {}
    for line in lines:
        message = line.get("message")
        if line["type"] == "ChannelChosen":
            decided[message] = line["at"]
        elif line["type"] == "MessageClaimed":
            first_claim.setdefault(message, line["position"])
        elif line["type"] in ("MessageSent", "MessageReconciled", "MessageFailed"):
            outcome.setdefault(message, line["position"])
    lines_of: dict[str, list[str]] = {}
    for message, _at in sorted(decided.items(), key=lambda item: (item[1], item[0])):
        lines_of.setdefault(contact_of[message], []).append(message)
    several = 0
    for messages in lines_of.values():
        several += len(messages) > 1
        for before, after in pairwise(messages):
            assert outcome[before] < first_claim[after], (before, after)
    return several


def worker_command(url: str, templates: Path, outbox: Path) -> list[str]:
    return [sys.executable, "-m", "orchestrator.cli", "--store", url, "--templates",
            str(templates), "worker", "--drain", "--concurrency", "2", "--every", "0.05",
            "--outbox", str(outbox)]


@pytest.mark.parametrize(("backend", "workers"), [
    ("sqlite", 2),
    pytest.param("postgresql", 2, marks=pytest.mark.postgres),
    pytest.param("postgresql", 3, marks=pytest.mark.postgres)])
def test_workers_share_the_sends_once_each_in_contact_order(request, tmp_path, backend,
                                                            workers):
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "postgres_url")
    world = JourneyWorld(run_cli, url, tmp_path)
    chosen(world, email_lines(CONTACTS))
    status = json.loads(world.run_cli("status", "--json").out)
    assert status["due"] == 2 * CONTACTS and status["workers"] == []

    processes = [subprocess.Popen(worker_command(url, world.templates, tmp_path / f"out{i}"),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for i in range(workers)]
    outputs = [process.communicate(timeout=300) for process in processes]
    failures = [err for p, (_, err) in zip(processes, outputs, strict=True) if p.returncode]
    assert failures == [], "\n".join(err[-3000:] for err in failures)
    assert not any("Traceback" in err for _, err in outputs)

    written = {i: [path.stem for path in (tmp_path / f"out{i}" / "email").iterdir()]
               for i in range(workers) if (tmp_path / f"out{i}" / "email").exists()}
    every = [message for names in written.values() for message in names]
    assert len(every) == 2 * CONTACTS and len(set(every)) == 2 * CONTACTS
    assert len(written) == workers and all(written.values()), {
        i: len(names) for i, names in written.items()}  # every worker took a share
    messages = json.loads(world.run_cli("messages", "--json").out)
    assert {m["status"] for m in messages} == {"sent"}
    assert sorted(m["id"] for m in messages) == sorted(every)
    lines = export(url)
    types = Counter(line["type"] for line in lines)
    assert types["MessageSent"] == 2 * CONTACTS
    assert types["MessageClaimed"] == 2 * CONTACTS  # no claim lost to another worker
    assert check_contact_order(lines) == CONTACTS
    assert world.run_cli("audit", "verify").code == 0

    status = json.loads(world.run_cli("status", "--json").out)
    assert [w["state"] for w in status["workers"]] == ["stopped"] * workers
    assert sum(w["detail"]["sent"] for w in status["workers"]) == 2 * CONTACTS
    assert (status["due"], status["in_doubt"], status["in_flight"]) == (0, 0, 0)
    assert status["lag"]["read_model"]["behind"] == 0


# --- signals: SIGTERM and SIGKILL in the middle of a dispatch ----------------------------

EMAIL_CONTACTS = SMS_CONTACTS = 6


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
                scope="module")
def copies(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("workers")
    if request.param == "sqlite":
        stores = SqliteCopies(folder)
    else:
        if not postgres_available():
            if os.environ.get("CI") == "true":
                pytest.fail("PostgreSQL is not reachable and CI=true")
            pytest.skip("PostgreSQL not reachable")
        stores = PostgresCopies()
    world = JourneyWorld(run_cli, stores.url, folder)
    lines = []
    for n in range(EMAIL_CONTACTS):
        key = f"E{n}"
        lines += [contact(f"c{key}", AT, key, email=f"e{n}@example.com"),
                  consent(f"g{key}", AT, key), purchase(f"p{key}", AT, key)]
    for n in range(SMS_CONTACTS):  # the offer has no SMS text: one message each
        key = f"S{n}"
        lines += [contact(f"c{key}", AT, key, phone=phone(n), timezone="Europe/London"),
                  consent(f"g{key}", AT, key, channel="sms"), purchase(f"p{key}", AT, key)]
    chosen(world, lines)
    stores.templates = world.templates
    yield stores
    stores.close()


CHOSEN = 2 * EMAIL_CONTACTS + SMS_CONTACTS


@pytest.fixture(scope="module")
def providers():
    fake = FakeProviders(latency=0.02)
    yield fake
    fake.close()


def worker_in_child(url: str, templates: Path, env: dict[str, str],
                    providers: FakeProviders, plan: KillPlan) -> int:
    """A draining worker under the kill plan."""
    return cli_in_child(["--store", url, "--templates", str(templates), "worker",
                         "--channels", "live", "--drain", "--concurrency", "2", "--every",
                         "0.05"], env, providers, plan)


def drain(url: str, templates: Path, env: dict[str, str], clock) -> None:
    result = run_cli("--store", url, "--templates", str(templates), "worker", "--channels",
                     "live", "--drain", "--every", "0.05", environ=env, clock=clock)
    assert result.code == 0, result.err
    assert "worker drained" in result.out


def check_sent(url: str, providers: FakeProviders, emails_before: Counter,
               sms_before: int) -> tuple[list[dict], Counter]:
    """Nothing lost, SMS never twice, an email twice only where a hand-over is in doubt."""
    messages = json.loads(run_cli("--store", url, "messages", "--json").out)
    sent = [m for m in messages if m["status"] != "suppressed"]
    assert len(sent) == CHOSEN and {m["status"] for m in sent} == {"sent"}, messages
    lines = export(url)
    claims = Counter(line["message"] for line in lines if line["type"] == "MessageClaimed")
    emails = providers.ledger.emails - emails_before
    for m in sent:
        if m["channel"] == "email":
            accepted = emails[m["id"]]
            assert accepted >= 1, f"{m['id']} lost"
            assert accepted == 1 or claims[m["id"]] >= accepted, (m["id"], accepted)
    sms = Counter(s["To"] for s in providers.ledger.sms[sms_before:])
    assert sorted(sms) == sorted(phone(n) for n in range(SMS_CONTACTS))
    assert set(sms.values()) == {1}, sms
    check_contact_order(lines)
    assert run_cli("--store", url, "audit", "verify").code == 0
    return lines, emails


def test_sigterm_mid_dispatch_finishes_what_is_in_flight_and_exits_0(copies, providers):
    env = environ(providers)
    url = copies.copy(1000)
    try:
        providers.new_run()
        emails_before, sms_before = Counter(providers.ledger.emails), len(providers.ledger.sms)
        status = worker_in_child(url, copies.templates, env, providers,
                                 KillPlan("later", at=4, signum=signal.SIGTERM))
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
        stopped = json.loads(run_cli("--store", url, "status", "--json").out)
        assert [w["state"] for w in stopped["workers"]] == ["stopped"]
        assert 0 < stopped["workers"][0]["detail"]["sent"] < CHOSEN
        assert stopped["in_flight"] == stopped["in_doubt"] == 0  # all recorded or released

        drain(url, copies.templates, env, fixed_clock())  # no lease to wait for
        lines, emails = check_sent(url, providers, emails_before, sms_before)
        assert set(emails.values()) == {1}  # a clean stop leaves nothing in doubt
        assert any(line["type"] == "MessageClaimReleased" for line in lines)
    finally:
        copies.drop(1000)


def test_a_killed_worker_loses_nothing_and_the_next_one_settles_its_claims(copies,
                                                                           providers):
    env = environ(providers)
    rng = random.Random("workers-kill")
    killed = 0
    for run in range(CRASH_RUNS):
        url = copies.copy(run)
        try:
            providers.new_run()
            emails_before = Counter(providers.ledger.emails)
            sms_before = len(providers.ledger.sms)
            mode = ("before", "after", "later")[run % 3]
            status = worker_in_child(url, copies.templates, env, providers, KillPlan(
                mode, at=rng.randint(1, CHOSEN // 2), delay=rng.uniform(0, 0.05)))
            killed += os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
            after_lease = fixed_clock(TEST_NOW + CLAIM_LEASE + timedelta(seconds=1))
            drain(url, copies.templates, env, after_lease)
            check_sent(url, providers, emails_before, sms_before)
            at_end = json.loads(run_cli("--store", url, "status", "--json",
                                        clock=after_lease).out)
            assert sorted(w["state"] for w in at_end["workers"]) == ["gone", "stopped"]
            assert (at_end["due"], at_end["in_doubt"], at_end["in_flight"]) == (0, 0, 0)
        finally:
            copies.drop(run)
    assert killed >= max(1, CRASH_RUNS // 2)
