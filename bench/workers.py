"""Work sharing: ``BENCH_WORKERS_MESSAGES`` chosen emails (default 2,000) dispatched by 1,
2 and 4 ``orchestrator worker`` processes on one PostgreSQL store, through the official
SendGrid SDK, against a local SendGrid-like provider that answers every request after
``BENCH_WORKERS_LATENCY`` seconds (default 0.020; tests/crash/fake_providers.py). Also
runnable alone: ``python -m bench.workers``.

Each worker hands over ``BENCH_WORKERS_CONCURRENCY`` messages at once (default: the
series is run with 1, then with 2), so one worker is bound by the provider's latency (at
most concurrency / latency: 50 or 100 msg/s) and what is measured is how the workers share
the queue, not how many cores the machine has (2 here, shared with the provider,
PostgreSQL and the workers themselves). The rate is the provider's own:
messages accepted over the time from its first to its last request (process start-up
excluded); the whole wall time from starting the processes to the last exit is shown
beside it. Each size runs ``BENCH_WORKERS_ROUNDS`` times (default 2) on a fresh copy of a
prepared database (``CREATE DATABASE ... TEMPLATE``); medians are quoted.

Targets: 2 workers >= 1.7x one, 4 workers >= 3x one (each concurrency's series is judged
against its own single worker). Results: bench/results/2026-12-04-workers.md.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

MESSAGES = int(os.environ.get("BENCH_WORKERS_MESSAGES", "2000"))
LATENCY = float(os.environ.get("BENCH_WORKERS_LATENCY", "0.020"))
CONCURRENCIES = tuple(int(c) for c in os.environ.get("BENCH_WORKERS_CONCURRENCY",
                                                    "1,2").split(","))
ROUNDS = max(1, int(os.environ.get("BENCH_WORKERS_ROUNDS", "2")))
POSTGRES = os.environ.get("ORCHESTRATOR_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
SIZES = (1, 2, 4)
TARGETS = {2: 1.7, 4: 3.0}
AT = "2026-03-02T10:00:00+00:00"
UNTIL = "2026-03-03T00:00:00+00:00"
JOURNEY = """
journey: after-purchase
trigger: {on: purchase.recorded}
steps:
  - id: hello
    send: {intent: relationship, template: thanks}
"""


class Databases:
    """A prepared database and fresh copies of it, dropped afterwards."""

    def __init__(self) -> None:
        import psycopg
        self.psycopg = psycopg
        self.admin_url = POSTGRES.split("?")[0]
        self.base = self.admin_url.rsplit("/", 1)[0]
        self.prefix = f"bench_workers_{uuid.uuid4().hex[:8]}"
        self.made: list[str] = []
        self.template = self.create(f"{self.prefix}_t")

    def _admin(self, sql: str) -> None:
        with self.psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(sql)

    def create(self, name: str, template: str | None = None) -> str:
        self._admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template
                                                   else ""))
        self.made.append(name)
        return f"{self.base}/{name}"

    def copy(self, n: int) -> str:
        return self.create(f"{self.prefix}_{n}", f"{self.prefix}_t")

    def close(self) -> None:
        for name in reversed(self.made):
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def prepare(url: str, folder: Path, count: int) -> Path:
    """``count`` contacts with email consent and a purchase; the engine run chose one
    email each and left every send to the workers (``run --dispatch workers``)."""
    import json

    from orchestrator.cli import main as cli
    templates = folder / "templates" / "thanks"
    templates.mkdir(parents=True, exist_ok=True)
    (templates / "email.subject.txt").write_text("Thank you")
    (templates / "email.txt").write_text("Thanks for your order.")
    (folder / "journey.yaml").write_text(JOURNEY)
    with (folder / "touchpoints.jsonl").open("w") as out:
        for n in range(count):
            key = f"C{n:05d}"
            for line in (
                    {"id": f"c{n}", "type": "contact.upserted", "at": AT, "contact": key,
                     "kind": "customer", "email": f"{key.lower()}@example.com"},
                    {"id": f"g{n}", "type": "consent.granted", "at": AT, "contact": key,
                     "channel": "email", "purpose": "marketing", "source": "web_form"},
                    {"id": f"p{n}", "type": "purchase.recorded", "at": AT, "contact": key,
                     "amount": 10, "currency": "EUR"}):
                out.write(json.dumps(line) + "\n")
    common = ["--store", url, "--templates", str(folder / "templates")]
    for args in (["journeys", "publish", str(folder / "journey.yaml")],
                 ["ingest", str(folder / "touchpoints.jsonl")],
                 ["run", "--until", UNTIL, "--dispatch", "workers"]):
        with open(os.devnull, "w") as quiet:
            saved = sys.stdout
            sys.stdout = quiet
            try:
                code = cli([*common, *args], environ={})
            finally:
                sys.stdout = saved
        if code != 0:
            raise RuntimeError(f"bench preparation failed: {' '.join(args)}")
    return folder / "templates"


def environment(provider_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORCHESTRATOR_",
                                                                    "SENDGRID", "TWILIO"))}
    env.update({"SENDGRID_API_KEY": "SG.bench-key", "ORCHESTRATOR_SENDGRID_URL": provider_url,
                "ORCHESTRATOR_EMAIL_FROM": "The shop <hello@shop.example>",
                "ORCHESTRATOR_PUBLIC_URL": "https://messages.shop.example",
                "ORCHESTRATOR_LINK_SECRET": "bench-link-secret-0123456789abcdef-0123",
                "ORCHESTRATOR_POSTAL_ADDRESS": "1 High Street, Bench Town"})
    return env


def one_round(url: str, templates: Path, workers: int, concurrency: int, providers: object,
              env: dict[str, str]) -> tuple[float, float, float]:
    """(messages/s seen by the provider, messages/s over the whole wall time, CPU
    milliseconds the worker processes spent per message)."""
    ledger = providers.ledger  # type: ignore[attr-defined]
    before = sum(ledger.emails.values())
    stamps: list[float] = []
    providers.on_request = lambda: stamps.append(time.monotonic())  # type: ignore[attr-defined]
    command = [sys.executable, "-m", "orchestrator.cli", "--store", url, "--templates",
               str(templates), "worker", "--channels", "live", "--drain", "--concurrency",
               str(concurrency)]
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    processes = [subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True) for _ in range(workers)]
    errors = [p.communicate(timeout=900)[1] for p in processes]
    wall = time.monotonic() - started
    spent = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_seconds = (spent.ru_utime - cpu.ru_utime) + (spent.ru_stime - cpu.ru_stime)
    providers.on_request = None  # type: ignore[attr-defined]
    failed = [e for p, e in zip(processes, errors, strict=True) if p.returncode]
    if failed:
        raise RuntimeError("a worker failed:\n" + failed[0][-2000:])
    accepted = sum(ledger.emails.values()) - before
    if accepted != MESSAGES or len(stamps) < 2:
        raise RuntimeError(f"{accepted} of {MESSAGES} messages reached the provider")
    return accepted / (stamps[-1] - stamps[0]), accepted / wall, cpu_seconds / accepted * 1000


def bench_workers(folder: Path, row: Callable[..., str]) -> list[str]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.crash.fake_providers import FakeProviders
    folder.mkdir(parents=True, exist_ok=True)
    print(f"workers: {MESSAGES:,} chosen emails, 1/2/4 workers on PostgreSQL ...",
          file=sys.stderr)
    databases = Databases()
    providers = FakeProviders(latency=LATENCY)
    try:
        templates = prepare(databases.template, folder, MESSAGES)
        env = environment(providers.url)
        rows = []
        copy = 0
        for concurrency in CONCURRENCIES:
            rates: dict[int, list[float]] = {n: [] for n in SIZES}
            walls: dict[int, list[float]] = {n: [] for n in SIZES}
            cpus: dict[int, list[float]] = {n: [] for n in SIZES}
            for _ in range(ROUNDS):
                for workers in SIZES:
                    copy += 1
                    rate, wall, cpu = one_round(databases.copy(copy), templates, workers,
                                                concurrency, providers, env)
                    rates[workers].append(rate)
                    walls[workers].append(wall)
                    cpus[workers].append(cpu)
                    print(f"  {workers} worker(s), c={concurrency}: {rate:,.0f} msg/s (wall "
                          f"{wall:,.0f} msg/s, {cpu:.1f} ms CPU a message)", file=sys.stderr)
            rows.extend(_rows(row, concurrency, rates, walls, cpus))
    finally:
        providers.close()
        databases.close()
    return rows


def _rows(row: Callable[..., str], concurrency: int, rates: dict[int, list[float]],
          walls: dict[int, list[float]], cpus: dict[int, list[float]]) -> list[str]:
    one = statistics.median(rates[1])
    rows = []
    for workers in SIZES:
        rate = statistics.median(rates[workers])
        wall = statistics.median(walls[workers])
        ratio = rate / one
        target = TARGETS.get(workers)
        rows.append(row(
            f"{workers} worker(s), --concurrency {concurrency}, {MESSAGES:,} emails via the "
            f"SendGrid SDK, provider latency {LATENCY * 1000:.0f} ms, PostgreSQL",
            f"{rate:,.0f} msg/s", f"1 worker {one:,.0f} msg/s; whole wall time "
            f"{wall:,.0f} msg/s; workers' CPU {statistics.median(cpus[workers]):.1f} ms a "
            f"message; rounds {', '.join(f'{r:,.0f}' for r in rates[workers])}",
            f"{ratio:.2f}x", f">= {target}x" if target else "-",
            ratio >= target if target else None))
    return rows


def main() -> int:
    import tempfile

    from bench.table import print_table, row
    with tempfile.TemporaryDirectory() as tmp:
        rows = bench_workers(Path(tmp), row)
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
