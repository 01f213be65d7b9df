"""The ``simulate`` row of ``make bench``: a what-if over a month of the demo's population
next to a real ``run --until`` of the same window on a copy of the store, both through the
command line (one process each, as a user runs them).

Runnable alone: ``python -m bench.simulate`` (size: ``BENCH_SIMULATE_CONTACTS``, default
10,000, the demo's population).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
CONTACTS = int(os.environ.get("BENCH_SIMULATE_CONTACTS", "10000"))
TARGET = 1.2  # simulate may take at most this many times the real run's time
MONTH_TARGETS = {100_000: 300, 1_000_000: 2_700}  # issue 13: seconds for a simulated month


def _cli(store: Path, *args: str) -> float:
    """Seconds one command takes, in its own process."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "orchestrator.cli", "--store", f"sqlite:///{store}",
         "--templates", str(REPOSITORY / "templates"), *args],
        capture_output=True, text=True, cwd=store.parent, check=False)
    elapsed = time.perf_counter() - started
    assert done.returncode in (0, 1), (args, done.stdout[-2000:], done.stderr[-2000:])
    return elapsed


def bench_simulate(folder: Path, row: Callable[..., str],
                   contacts: int = CONTACTS) -> list[str]:
    from orchestrator.demo.population import DEMO_NOW, generate
    folder.mkdir(parents=True, exist_ok=True)
    population = folder / "population.jsonl"
    with population.open("w") as out:
        generate(out, contacts=contacts)
    store = folder / "simulate.db"
    start = (DEMO_NOW - timedelta(days=30)).isoformat()
    end = DEMO_NOW.isoformat()
    journeys = sorted(str(p) for p in (REPOSITORY / "examples" / "journeys").glob("*.yaml"))
    _cli(store, "ingest", str(population))
    _cli(store, "run", "--until", start, "--outbox", str(folder / "outbox-history"))
    _cli(store, "journeys", "publish", *journeys)
    # The candidate differs from the version in force (one more step), so simulate runs
    # the window twice: the candidate beside the version in force.
    candidate = folder / "second-purchase.yaml"
    candidate.write_text((REPOSITORY / "examples" / "journeys" / "second-purchase.yaml")
                         .read_text().replace("  - id: done\n", "  - id: nudge\n    send: "
                                              "{intent: relationship, template: nudge}\n"
                                              "  - id: done\n"))
    copy = folder / "copy.db"
    for suffix in ("", "-wal"):
        if Path(f"{store}{suffix}").exists():
            shutil.copyfile(f"{store}{suffix}", f"{copy}{suffix}")
    simulated = _cli(store, "simulate", str(candidate), "--from", start, "--to", end, "--json")
    _cli(copy, "journeys", "publish", str(candidate))
    ran = _cli(copy, "run", "--until", end, "--outbox", str(folder / "outbox"))
    ratio = simulated / ran
    month_target = MONTH_TARGETS.get(contacts)
    return [row(f"simulate, a month of {contacts:,} contacts (candidate + in force)",
                f"{simulated:.1f} s", f"run --until on a copy: {ran:.1f} s",
                f"{ratio:.2f}", f"<= {TARGET}", ratio <= TARGET),
            row(f"run --until, a month of {contacts:,} contacts, example journeys, "
                "dry-run dispatch included", f"{ran:.1f} s", f"{contacts / ran:,.0f} "
                "contacts/s", "-", f"< {month_target:,} s" if month_target else "-",
                ran < month_target if month_target else None)]


if __name__ == "__main__":
    import tempfile

    from bench.table import row as table_row
    with tempfile.TemporaryDirectory() as scratch:
        print("\n".join(bench_simulate(Path(scratch), table_row)))
