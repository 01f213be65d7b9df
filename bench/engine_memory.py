"""The engine state's size as the history grows over a fixed population: a row of
``make bench`` per size, next to the same state without dropping settled messages,
measured in the same run.

A store of ``BENCH_MEMORY_CONTACTS`` customers (default 1,000) with email consent, two
journeys (a weekly note to every customer, a thank-you for each purchase), and a tenth
of the customers buying each week. Week after week, ``orchestrator run --until`` (a new
process each week, dry-run sends included) moves the engine on, as an operator's cron
would; the history grows by about 6 events a message. At each of ``BENCH_MEMORY_WEEKS``
(default 8,24,72) weeks:

- **state**: the engine's saved state, read back and unpacked whole (contacts,
  enrolments, policy memory), pickled: its size in bytes, and the messages it holds.
  The reference is the state a run builds by folding the whole log, before it drops
  anything (what every snapshot held before settled messages were dropped).
- **restart RSS**: the peak resident memory of the next week's ``run --until`` (a new
  process resuming from the saved state, firing the weekly note and sending it), next
  to the same command folding the whole log (``ORCHESTRATOR_ENGINE_SNAPSHOT_EVERY=0``).

Target (issue 12): the state does not grow with the history's length: at each size at
most 1.5x the state at the smallest (already past the 35 days a settled message is
kept), while the history grows 9x.
Runnable alone: ``python -m bench.engine_memory``.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.table import print_table, row

CONTACTS = int(os.environ.get("BENCH_MEMORY_CONTACTS", "1000"))
WEEKS = [int(n) for n in os.environ.get("BENCH_MEMORY_WEEKS", "8,24,72").split(",") if n]
FIRST_MONDAY = datetime(2025, 1, 6, tzinfo=UTC)
REPOSITORY = Path(__file__).resolve().parents[1]
TEMPLATES = str(REPOSITORY / "templates")
GROWTH_TARGET = 1.5  # each size's state over the smallest's
# The weekly runs save the state every time (the product's default saves it once 20,000
# events were folded since: a measure at a checkpoint would see a state of some weeks ago).
SAVED_EVERY_RUN = {"ORCHESTRATOR_ENGINE_SNAPSHOT_EVERY": "1"}
JOURNEYS = {
    "weekly.yaml": """
journey: weekly-note
trigger: {schedule: "0 9 * * MON", timezone: UTC, segment: "contact.kind == 'customer'"}
steps:
  - id: note
    send: {intent: relationship, template: regulars_note}
""",
    "thanks.yaml": """
journey: thanks-each-time
trigger: {on: purchase.recorded}
reentry: 1d
steps:
  - id: thanks
    send: {intent: relationship, template: thanks}
"""}


def _cli(url: str, outbox: Path, *args: str, env: dict[str, str] | None = None) -> int:
    """Run the command line in a child; its peak RSS in KiB."""
    wrapper = ("import resource, subprocess, sys; "
               "done = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
               "sys.stderr.write(done.stderr[-2000:]) if done.returncode else None; "
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
               "sys.exit(done.returncode)")
    done = subprocess.run(
        [sys.executable, "-c", wrapper, sys.executable, "-m", "orchestrator.cli", "--store",
         url, "--templates", TEMPLATES, *args], capture_output=True, text=True, check=False,
        env={**os.environ, **(env or {})})
    assert done.returncode == 0, (args, done.stderr[-2000:])
    return int(done.stdout.split()[-1])


def _week(folder: Path, week: int) -> Path:
    monday = FIRST_MONDAY + timedelta(weeks=week)
    path = folder / f"week-{week}.jsonl"
    lines = []
    if week == 0:
        start = (monday - timedelta(days=3)).isoformat()
        for n in range(CONTACTS):
            key = f"M{n:06d}"
            lines += [{"id": f"c{n}", "type": "contact.upserted", "at": start, "contact": key,
                       "kind": "customer", "email": f"m{n}@example.com"},
                      {"id": f"g{n}", "type": "consent.granted", "at": start, "contact": key,
                       "channel": "email", "purpose": "marketing", "source": "web_form"}]
    for k in range(CONTACTS // 10):
        key = f"M{(week * 97 + k * 10) % CONTACTS:06d}"
        at = (monday + timedelta(days=2, minutes=k)).isoformat()
        lines.append({"id": f"b{week}-{k}", "type": "purchase.recorded", "at": at,
                      "contact": key, "amount": 20, "currency": "EUR"})
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def _state(url: str) -> tuple[int, int, int]:
    """(bytes, messages held) of the saved state unpacked whole, and the same of the
    state folded from the whole log (before anything is dropped)."""
    from orchestrator.campaigns.runtime import snapshots
    from orchestrator.campaigns.runtime.runner import compute_run
    from orchestrator.domain.stages import StageThresholds
    from orchestrator.store import Store
    with Store.open(url) as store:
        saved = snapshots.load(store, StageThresholds())
        assert saved is not None
        full = compute_run(store, datetime(2000, 1, 1, tzinfo=UTC), recorded_at=FIRST_MONDAY,
                           templates_dir=TEMPLATES).fold
    return _size(saved), len(saved.memory.scheduled), _size(full)


def _size(fold: object) -> int:
    from orchestrator.campaigns.runtime.decisions import PolicyMemory
    from orchestrator.campaigns.runtime.engine import ENGINE_STATE
    memory = {name: getattr(fold.memory, name) for name in PolicyMemory.__dataclass_fields__}
    engine = {name: getattr(fold.engine, name) for name in ENGINE_STATE}
    history = fold.history
    contacts = dict(history.contacts.items())
    sections = [history.handle_owner, history.phone_owners, history.phone_opt_outs]
    return len(pickle.dumps((memory, engine, contacts, sections, fold.pending), protocol=5))


def bench_engine_memory(folder: Path, row: Callable[..., str] = row) -> list[str]:
    url = f"sqlite:///{folder / 'memory.db'}"
    outbox = folder / "outbox"
    for name, text in JOURNEYS.items():
        (folder / name).write_text(text)
    _cli(url, outbox, "journeys", "publish", *(str(folder / name) for name in JOURNEYS))
    rows, smallest = [], None
    week = 0
    for checkpoint in WEEKS:
        while week < checkpoint:
            _cli(url, outbox, "ingest", str(_week(folder, week)))
            _cli(url, outbox, "run", "--until",
                 (FIRST_MONDAY + timedelta(weeks=week, days=6)).isoformat(),
                 "--outbox", str(outbox), env=SAVED_EVERY_RUN)
            week += 1
            if week % 8 == 0:
                print(f"engine memory: week {week} of {WEEKS[-1]}", file=sys.stderr)
                shutil.rmtree(outbox, ignore_errors=True)  # a dry-run outbox: files only
        ours, held, folded = _state(url)
        until = (FIRST_MONDAY + timedelta(weeks=week, days=1)).isoformat()
        shutil.copy(folder / "memory.db", folder / "replay.db")
        replay = f"sqlite:///{folder / 'replay.db'}"
        rss_resumed = _cli(url, outbox, "run", "--until", until, "--outbox", str(outbox))
        rss_replayed = _cli(replay, outbox, "run", "--until", until, "--outbox", str(outbox),
                            env={"ORCHESTRATOR_ENGINE_SNAPSHOT_EVERY": "0"})
        (folder / "replay.db").unlink()
        from orchestrator.store import Store
        with Store.open(url) as store:
            events = store.max_position()
        smallest = smallest or ours
        rows.append(row(
            f"engine state, {CONTACTS:,} contacts, {week} weeks ({events:,} events)",
            f"{ours / 1e6:.2f} MB ({held:,} messages held)",
            f"{folded / 1e6:.2f} MB folded from the whole log", f"{ours / folded:.2f}",
            f"flat: <= {GROWTH_TARGET}x the smallest", ours <= GROWTH_TARGET * smallest))
        rows.append(row(
            f"restart `run --until` peak RSS, {week} weeks",
            f"{rss_resumed / 1024:.0f} MiB", f"{rss_replayed / 1024:.0f} MiB folding the "
            f"whole log", f"{rss_resumed / rss_replayed:.2f}", "-", None))
    return rows


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as scratch:
        print_table(bench_engine_memory(Path(scratch)))


if __name__ == "__main__":
    main()
