"""The ``store copy`` rows of ``make bench``: SQLite to PostgreSQL through the command line,
at three sizes, next to a raw transfer of the same rows measured in the same run.

- **ours**: ``orchestrator --store sqlite:///... store copy --to postgresql://...`` in its
  own process; the copy's own time (reading, ``COPY`` into PostgreSQL, verifying the
  whole copy inside its transaction, commit) from its ``--json``, the read models' build
  and the whole command's wall time beside it;
- **reference**: the same ``stored_events`` rows read from the same SQLite file and
  ``COPY``-ed into a bare PostgreSQL table by psycopg, nothing checked: what moving the
  bytes alone costs on this machine.

Sizes: ``BENCH_COPY_SIZES`` touchpoints, comma-separated (default 10000,100000,1000000;
each touchpoint is one event). Runnable alone: ``python -m bench.store_copy``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

SIZES = [int(n) for n in os.environ.get("BENCH_COPY_SIZES",
                                        "10000,100000,1000000").split(",") if n]
TARGET = 20_000  # events/s
POSTGRES = os.environ.get("ORCHESTRATOR_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
RECORDED_AT = datetime(2026, 11, 24, tzinfo=UTC)


def _admin() -> object:
    import psycopg
    return psycopg.connect(POSTGRES.split("?")[0], autocommit=True, connect_timeout=3)


def _prepared(folder: Path, size: int) -> Path:
    from bench.touchpoints import write_touchpoints
    from orchestrator.ingest.service import ingest_path
    from orchestrator.store import Store
    source = folder / f"touchpoints-{size}.jsonl"
    write_touchpoints(source, size)
    path = folder / f"source-{size}.db"
    with Store.open(f"sqlite:///{path}") as store:
        ingest_path(store, str(source), recorded_at=RECORDED_AT)
    return path


def _ours(path: Path, schema: str) -> tuple[float, float, float, int]:
    """(copy seconds, read-model seconds, wall seconds, events) of the command."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "orchestrator.cli", "--store", f"sqlite:///{path}", "store",
         "copy", "--to", f"{POSTGRES}?schema={schema}", "--json"],
        capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["verified"]["intact"], report
    return report["seconds"], report["read_model_seconds"], wall, report["events"]


def _raw(path: Path, schema: str) -> float:
    """Seconds to move the same rows with nothing checked."""
    import sqlite3
    started = time.perf_counter()
    with _admin() as pg, sqlite3.connect(path) as lite:
        pg.execute(f'CREATE TABLE "{schema}".raw_events (notification_id bigint, '
                   'originator_id uuid, originator_version bigint, topic text, state bytea)')
        with pg.cursor() as cursor, cursor.copy(
                f'COPY "{schema}".raw_events FROM STDIN') as copy:
            for row in lite.execute("SELECT rowid, originator_id, originator_version, topic, "
                                    "state FROM stored_events ORDER BY rowid"):
                copy.write_row((row[0], uuid.UUID(row[1]), row[2], row[3], row[4]))
    return time.perf_counter() - started


def bench_store_copy(folder: Path, row: Callable[..., str],
                     log: Callable[[str], None] = lambda text: print(text, file=sys.stderr)
                     ) -> list[str]:
    from tests.conftest import postgres_available
    if not postgres_available():
        return [row("store copy, SQLite to PostgreSQL", "skipped",
                    f"PostgreSQL not reachable at {POSTGRES}", "-", "-", None)]
    rows, rates = [], []
    for size in SIZES:
        log(f"store copy: preparing a store of {size:,} touchpoints ...")
        path = _prepared(folder, size)
        ours_schema, raw_schema = (f"bench_{uuid.uuid4().hex[:10]}" for _ in range(2))
        with _admin() as admin:
            admin.execute(f'CREATE SCHEMA "{raw_schema}"')
        try:
            log(f"store copy: {size:,}: the command, then the raw transfer ...")
            copy_seconds, model_seconds, wall, events = _ours(path, ours_schema)
            raw_seconds = _raw(path, raw_schema)
        finally:
            with _admin() as admin:
                for schema in (ours_schema, raw_schema):
                    admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        rate, raw_rate = events / copy_seconds, events / raw_seconds
        rates.append((events, rate))
        rows.append(row(f"store copy SQLite -> PostgreSQL, {events:,} events (copy, "
                        "verified in its transaction)", f"{rate:,.0f} events/s",
                        f"raw COPY of the rows {raw_rate:,.0f}/s", f"{rate / raw_rate:.2f}",
                        f">= {TARGET:,}/s", rate >= TARGET))
        rows.append(row(f"store copy, {events:,} events: read models, whole command",
                        f"{model_seconds:.1f} s + copy {copy_seconds:.1f} s",
                        f"whole command {wall:.1f} s ({events / wall:,.0f} events/s)", "-",
                        "-", None))
    if len(rates) > 1:
        (small, small_rate), (big, big_rate) = rates[0], rates[-1]
        rows.append(row(f"store copy: how the rate grows ({small:,} to {big:,} events)",
                        f"{big_rate / small_rate:.2f}x the rate",
                        "1.00 = linear time", "-", "-", None))
    return rows


def main() -> int:
    from bench.table import print_table, row
    with tempfile.TemporaryDirectory() as tmp:
        rows = bench_store_copy(Path(tmp), row)
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
