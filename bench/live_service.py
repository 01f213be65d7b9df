"""The live service's rows of ``make bench``: a tick when nothing is due, and a restart,
on stores of three sizes, each beside a reference measured in the same run.

Each store holds ``size`` touchpoints (bench/touchpoints.py: a quarter contacts, then
purchases, consents and mentions) and one journey that enrols every buyer and waits 400
days, so the engine carries one waiting enrolment a buyer and nothing comes due. A first
``orchestrator run --until`` folds the whole log and saves the engine's state.

- **tick**: what the live service does on each APScheduler firing (``advance`` with the
  engine's state kept in memory and nothing recorded when idle, as ``serve_live`` calls
  it), timed in-process, median of 20 after a first one; the reference is the same tick on
  the smallest store (a tick independent of history length has a ratio near 1), and a
  bare ``SELECT max(position)`` on the same store beside it. Target: under 100 ms on 1M.
- **restart**: a new ``orchestrator run --until`` process through the command line, that
  resumes from the saved state (median of 3 wall times), next to the same command with
  ``ORCHESTRATOR_ENGINE_SNAPSHOT_EVERY=0`` (folding the whole log, what every run did
  before) and to ``orchestrator messages --contact nobody --json`` (the command line's
  own floor: starting Python, importing, opening the store, one indexed read). Target:
  under 2 s on a store of 1M events.

Sizes: ``BENCH_LIVE_SIZES`` (default 10000,100000,1000000). Runnable alone:
``python -m bench.live_service``.
"""

from __future__ import annotations

import os
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

SIZES = [int(n) for n in os.environ.get("BENCH_LIVE_SIZES",
                                        "10000,100000,1000000").split(",") if n]
TICK_TARGET_MS = 100
RESTART_TARGET_S = 2.0
END = datetime(2026, 12, 31, tzinfo=UTC)
RECORDED_AT = datetime(2026, 11, 24, tzinfo=UTC)
REPOSITORY = Path(__file__).resolve().parents[1]
TEMPLATES = str(REPOSITORY / "templates")
WAITING_JOURNEY = """
journey: long-thanks
trigger: {on: purchase.recorded}
steps:
  - id: later
    wait: 400d
  - id: hello
    send: {intent: relationship, template: thanks}
"""


def _cli(url: str, *args: str, env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "orchestrator.cli", "--store", url,
                           "--templates", TEMPLATES, *args], capture_output=True, text=True,
                          check=False, env={**os.environ, **(env or {})})
    elapsed = time.perf_counter() - started
    assert done.returncode == 0, done.stderr[-2000:]
    return elapsed


def _prepared(folder: Path, size: int) -> tuple[str, float, int]:
    """The store's URL, the first run's wall time and the store's event count."""
    from bench.touchpoints import write_touchpoints
    from orchestrator.ingest.service import ingest_path
    from orchestrator.store import Store
    source = folder / f"touchpoints-{size}.jsonl"
    write_touchpoints(source, size)
    url = f"sqlite:///{folder / f'live-{size}.db'}"
    with Store.open(url) as store:
        ingest_path(store, str(source), recorded_at=RECORDED_AT)
    journey = folder / "waiting.yaml"
    journey.write_text(WAITING_JOURNEY)
    _cli(url, "journeys", "publish", str(journey))
    first = _cli(url, "run", "--until", END.isoformat())
    with Store.open(url) as store:
        events = store.max_position()
    return url, first, events


def _ticks(url: str) -> tuple[float, float, float]:
    """(first tick s, median idle tick ms, median bare query ms), in-process."""
    from orchestrator import bootstrap
    from orchestrator.application.running import EngineKeeper, advance
    from orchestrator.application.stores import open_store
    moments = iter(END + timedelta(days=1, seconds=n) for n in range(10**6))
    app = bootstrap.build(clock=lambda: next(moments), environ={}, store=url,
                          templates=TEMPLATES)
    keeper = EngineKeeper()
    with open_store(url) as store:
        started = time.perf_counter()
        advance(app, app.now(), keeper, store=store, record_idle=False)
        first = time.perf_counter() - started
        ticks, queries = [], []
        for _ in range(20):
            started = time.perf_counter()
            outcome = advance(app, app.now(), keeper, store=store, record_idle=False)
            ticks.append(time.perf_counter() - started)
            assert outcome.report.recorded == 0 and not outcome.report.touchpoints
            started = time.perf_counter()
            store.max_position()
            queries.append(time.perf_counter() - started)
    return first, statistics.median(ticks) * 1000, statistics.median(queries) * 1000


def _restarts(url: str) -> tuple[float, float, float]:
    """Median wall seconds of: a resuming run, a run folding everything, the CLI floor."""
    resumed, replayed, floor = [], [], []
    for n in range(3):
        until = (END + timedelta(hours=n + 1)).isoformat()
        resumed.append(_cli(url, "run", "--until", until))
        replayed.append(_cli(url, "run", "--until", until,
                             env={"ORCHESTRATOR_ENGINE_SNAPSHOT_EVERY": "0"}))
        floor.append(_cli(url, "messages", "--contact", "nobody", "--json"))
    return statistics.median(resumed), statistics.median(replayed), statistics.median(floor)


def bench_live_service(folder: Path, row: Callable[..., str] = row) -> list[str]:
    rows = []
    smallest_tick = None
    for size in SIZES:
        where = folder / str(size)
        where.mkdir(parents=True)
        print(f"live service: store of {size:,} touchpoints ...", file=sys.stderr)
        url, first_run, events = _prepared(where, size)
        first_tick, tick_ms, query_ms = _ticks(url)
        resumed, replayed, floor = _restarts(url)
        smallest_tick = smallest_tick or tick_ms
        rows.append(row(
            f"live tick, nothing due, {events:,} events", f"{tick_ms:.1f} ms",
            f"{smallest_tick:.1f} ms on the smallest store (bare query {query_ms:.2f} ms; "
            f"first tick after start {first_tick:.2f} s)", f"{tick_ms / smallest_tick:.2f}",
            f"< {TICK_TARGET_MS} ms", tick_ms < TICK_TARGET_MS))
        rows.append(row(
            f"restart: `run --until` resuming, {events:,} events", f"{resumed:.2f} s",
            f"{replayed:.2f} s folding the whole log (CLI floor {floor:.2f} s; first run "
            f"{first_run:.1f} s)", f"{resumed / replayed:.2f}",
            f"< {RESTART_TARGET_S:.0f} s", resumed < RESTART_TARGET_S))
        shutil.rmtree(where, ignore_errors=True)
    return rows


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-live-") as scratch:
        print_table(bench_live_service(Path(scratch)))


if __name__ == "__main__":
    main()
