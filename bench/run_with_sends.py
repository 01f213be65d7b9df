"""Issue 13's "run with sends" row of ``make bench``: ``orchestrator run --until`` through
the command line, dry-run sends included, over issue 13's scenario, next to a reference
measured in the same run.

The scenario: ``BENCH_SENDS_CUSTOMERS`` customers (default 5,000) with an email address
and email consent, each with 1 to 5 purchases on different days of one month (about
25,000 touchpoints), and the one-step "thank you by email" journey. The store is ingested
and the journey published first (not timed); then one ``run --until`` the month's end
decides every message and writes every ``.eml`` to the dry-run outbox. Timed: the whole
command (process start to exit), median of ``BENCH_SENDS_REPEATS`` (default 3) runs, each
on a fresh copy of the prepared store.

Reference, in the same run: the same command with no journey published (the process
start, reading the store and passing every touchpoint through the engine, deciding
nothing), so the ratio shows what deciding and sending add. Targets (issue 13): at least
5,000 touchpoints/s and 2,000 messages/s. Runnable alone: ``python -m bench.run_with_sends``.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.table import print_table, row

CUSTOMERS = int(os.environ.get("BENCH_SENDS_CUSTOMERS", "5000"))
REPEATS = int(os.environ.get("BENCH_SENDS_REPEATS", "3"))
TOUCHPOINTS_TARGET, MESSAGES_TARGET = 5000, 2000
MONTH = datetime(2026, 10, 1, tzinfo=UTC)
UNTIL = MONTH + timedelta(days=31)
REPOSITORY = Path(__file__).resolve().parents[1]
TEMPLATES = str(REPOSITORY / "templates")
THANKS = """
journey: thanks-by-email
trigger: {on: purchase.recorded}
reentry: 1d
steps:
  - id: thanks
    send: {intent: relationship, template: thanks}
"""


def write_scenario(path: Path, customers: int, seed: int = 13) -> int:
    rng = random.Random(seed)
    start = (MONTH - timedelta(days=1)).isoformat()
    count = 0
    with path.open("w") as out:
        for n in range(customers):
            key = f"S{n:07d}"
            lines = [{"id": f"c{n}", "type": "contact.upserted", "at": start, "contact": key,
                      "kind": "customer", "email": f"s{n}@example.com"},
                     {"id": f"g{n}", "type": "consent.granted", "at": start, "contact": key,
                      "channel": "email", "purpose": "marketing", "source": "web_form"}]
            for k, day in enumerate(sorted(rng.sample(range(30), rng.randint(1, 5)))):
                at = MONTH + timedelta(days=day, hours=9 + rng.randint(0, 10),
                                       minutes=rng.randint(0, 59))
                lines.append({"id": f"p{n}-{k}", "type": "purchase.recorded",
                              "at": at.isoformat(), "contact": key, "amount": 25,
                              "currency": "EUR"})
            out.write("".join(json.dumps(line) + "\n" for line in lines))
            count += len(lines)
    return count


def _cli(url: str, *args: str) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "orchestrator.cli", "--store", url,
                           "--templates", TEMPLATES, *args], capture_output=True, text=True,
                          check=False)
    elapsed = time.perf_counter() - started
    assert done.returncode == 0, (args, done.stderr[-2000:])
    return elapsed, done.stdout


def _prepared(folder: Path, name: str, journey: bool) -> Path:
    db = folder / f"{name}.db"
    url = f"sqlite:///{db}"
    _cli(url, "ingest", str(folder / "scenario.jsonl"))
    if journey:
        (folder / "thanks.yaml").write_text(THANKS)
        _cli(url, "journeys", "publish", str(folder / "thanks.yaml"))
    return db


def _timed_run(folder: Path, prepared: Path) -> tuple[float, int]:
    """Seconds of one `run --until` on a fresh copy, and the messages it sent."""
    copy = folder / "copy.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{copy}{suffix}").unlink(missing_ok=True)
    shutil.copy(prepared, copy)
    outbox = folder / "outbox"
    shutil.rmtree(outbox, ignore_errors=True)
    elapsed, _ = _cli(f"sqlite:///{copy}", "run", "--until", UNTIL.isoformat(),
                      "--outbox", str(outbox))
    sent = sum(1 for _ in (outbox / "email").glob("*.eml")) if (outbox / "email").exists() else 0
    return elapsed, sent


def bench_run_with_sends(folder: Path, row: Callable[..., str] = row) -> list[str]:
    touchpoints = write_scenario(folder / "scenario.jsonl", CUSTOMERS)
    with_journey = _prepared(folder, "thanks", journey=True)
    without = _prepared(folder, "nothing", journey=False)
    ours, bare, sent = [], [], 0
    for n in range(REPEATS):
        print(f"run with sends: round {n + 1} of {REPEATS}", file=sys.stderr)
        seconds, sent = _timed_run(folder, with_journey)
        ours.append(seconds)
        bare.append(_timed_run(folder, without)[0])
    seconds, reference = statistics.median(ours), statistics.median(bare)
    rate, messages = touchpoints / seconds, sent / seconds
    label = f"run --until with dry-run sends, {CUSTOMERS:,} customers ({touchpoints:,} tp)"
    return [
        row(f"{label}, touchpoints/s", f"{rate:,.0f} ({seconds:.1f} s)",
            f"same command, no journey: {touchpoints / reference:,.0f}/s ({reference:.1f} s)",
            f"{seconds / reference:.2f}x the time", f">= {TOUCHPOINTS_TARGET:,}/s",
            rate >= TOUCHPOINTS_TARGET),
        row(f"{label}, messages/s", f"{messages:,.0f} ({sent:,} sent)", "-", "-",
            f">= {MESSAGES_TARGET:,}/s", messages >= MESSAGES_TARGET)]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-sends-") as scratch:
        print_table(bench_run_with_sends(Path(scratch)))


if __name__ == "__main__":
    main()
