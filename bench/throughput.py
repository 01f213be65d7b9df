"""Issue 13's rows of ``make bench``: read-model rebuild, ``audit verify`` and ingest,
each through the command line in its own process, at three sizes, next to a reference
measured in the same run on the same rows.

- **rebuild**: ``orchestrator projections rebuild``; the rate is the events over the time
  the command itself reports (dropping the read models, reading and decoding every event,
  writing the rows), with the whole process's wall time (start-up and imports included)
  beside it. Reference: the same ``stored_events`` rows read with ``sqlite3`` and each
  state parsed by ``json.loads``, nothing else.
- **verify**: ``orchestrator audit verify --json``; the rate over the time it reports
  (every link recomputed, every sealed blob opened, checkpoints checked), the wall time
  beside it. Reference: the rows read with ``sqlite3`` and each state hashed (SHA-256).
- **ingest**: ``orchestrator ingest FILE.jsonl`` (validation, idempotency, sealing,
  chain, checkpoint and the read models caught up: the whole command). Reference: the same
  lines parsed by ``json.loads`` and inserted by one ``executemany`` into a plain table
  (WAL, ``synchronous=FULL``), timed from the first line read to the commit.
- **chain and sealing overhead**: the same in-process ingest with and without them
  (bench/__main__.py's switch), three repeats each, medians.

Sizes: ``BENCH_THROUGHPUT_SIZES`` (default 10000,100000,1000000); repeats:
``BENCH_THROUGHPUT_REPEATS`` (default 3, the median is kept). Runnable alone:
``python -m bench.throughput``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

SIZES = [int(n) for n in os.environ.get("BENCH_THROUGHPUT_SIZES",
                                        "10000,100000,1000000").split(",") if n]
REPEATS = int(os.environ.get("BENCH_THROUGHPUT_REPEATS", "3"))
REBUILD_TARGET = 50_000
VERIFY_TARGET = 100_000
INGEST_TARGET = 0.15
OVERHEAD_TARGET = 0.30


def _cli(*args: str, check: bool = True) -> tuple[subprocess.CompletedProcess[str], float]:
    """The command's result and its wall time; its CPU time (user + system, its own
    process) is added to ``CPU`` under the command's name."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "orchestrator.cli", *args],
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    LAST_CPU[0] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if check and done.returncode != 0:
        raise RuntimeError(f"orchestrator {' '.join(args)} exited {done.returncode}: "
                           f"{done.stderr.strip()[-500:]}")
    return done, wall


LAST_CPU = [0.0]  # CPU seconds of the last command run by _cli


def ingest_cli(source: Path, db: Path) -> float:
    """Wall seconds of ``orchestrator ingest`` into a new store."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    _, wall = _cli("--store", f"sqlite:///{db}", "ingest", str(source))
    return wall


def raw_ingest(source: Path, db: Path) -> float:
    """Seconds to parse the lines and insert them with one executemany, then commit."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    connection = sqlite3.connect(db, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("CREATE TABLE t (id TEXT PRIMARY KEY, type TEXT, at TEXT, body BLOB)")
    started = time.perf_counter()
    rows = []
    with source.open("rb") as lines:
        for line in lines:
            obj = json.loads(line)
            rows.append((obj["id"], obj["type"], obj["at"], line))
    connection.execute("BEGIN")
    connection.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", rows)
    connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def rebuild_cli(db: Path) -> tuple[float, float]:
    """(seconds the command reports, wall seconds) of ``projections rebuild``."""
    done, wall = _cli("--store", f"sqlite:///{db}", "projections", "rebuild")
    found = re.search(r"in ([0-9.]+) s", done.stdout)
    if not found:
        raise RuntimeError(f"unexpected output of projections rebuild: {done.stdout!r}")
    return float(found.group(1)), wall


def verify_cli(db: Path, events: int) -> tuple[float, float]:
    """(seconds the command reports, wall seconds) of ``audit verify``."""
    done, wall = _cli("--store", f"sqlite:///{db}", "audit", "verify", check=False)
    found = re.search(r"\(([0-9.]+) s\)", done.stdout)
    if done.returncode != 0 or not found or f"{events:,} events" not in done.stdout:
        raise RuntimeError(f"audit verify: {done.returncode} {done.stdout!r} {done.stderr!r}")
    return float(found.group(1)), wall


def read_and_parse(db: Path) -> float:
    """Reference for rebuild: every stored state read and parsed, nothing else."""
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    started = time.perf_counter()
    loads = json.loads
    for (state,) in connection.execute("SELECT state FROM stored_events ORDER BY rowid"):
        loads(state)
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def read_and_hash(db: Path) -> float:
    """Reference for verify: every stored row read and its state hashed, nothing else."""
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    started = time.perf_counter()
    sha256 = hashlib.sha256
    for row in connection.execute("SELECT rowid, originator_id, originator_version, topic, "
                                  "state FROM stored_events ORDER BY rowid"):
        sha256(row[4]).digest()
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def _median(measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(REPEATS))


def _median_pair(measure: Callable[[], tuple[float, float]]) -> tuple[float, float, float]:
    """Medians of (reported seconds, wall seconds) and of the command's CPU seconds."""
    triples = []
    for _ in range(REPEATS):
        reported, wall = measure()
        triples.append((reported, wall, LAST_CPU[0]))
    return tuple(statistics.median(t[i] for t in triples) for i in range(3))  # type: ignore[return-value]


def bench_throughput(folder: Path, row: Callable[..., str]) -> list[str]:
    from bench.touchpoints import write_touchpoints
    folder.mkdir(parents=True, exist_ok=True)
    rows: list[str] = []
    rebuilt: dict[int, float] = {}
    verified: dict[int, float] = {}
    for size in SIZES:
        source = folder / f"touchpoints-{size}.jsonl"
        write_touchpoints(source, size)
        db = folder / f"store-{size}.db"
        print(f"throughput: ingest of {size:,} touchpoints through the CLI ...",
              file=sys.stderr)
        walls = [ingest_cli(source, db) for _ in range(REPEATS)]
        ours = size / statistics.median(walls)
        raw = size / _median(lambda: raw_ingest(source, folder / "raw.db"))  # noqa: B023
        rows.append(row(f"ingest {size:,} lines (CLI, whole command), touchpoints/s",
                        f"{ours:,.0f}", f"raw sqlite3 parse + executemany {raw:,.0f}/s",
                        f"{ours / raw:.3f}", f">= {INGEST_TARGET}", ours / raw >= INGEST_TARGET))
        print(f"throughput: projections rebuild, {size:,} events ...", file=sys.stderr)
        seconds, wall, cpu = _median_pair(lambda: rebuild_cli(db))  # noqa: B023
        reference = size / _median(lambda: read_and_parse(db))  # noqa: B023
        rebuilt[size] = size / seconds
        rows.append(row(f"projections rebuild, {size:,} events, events/s",
                        f"{size / seconds:,.0f} (whole command {size / wall:,.0f}, "
                        f"its CPU {cpu:.2f} s)",
                        f"read + json.loads only {reference:,.0f}/s",
                        f"{size / seconds / reference:.2f}", f">= {REBUILD_TARGET:,}/s",
                        size / seconds >= REBUILD_TARGET))
        print(f"throughput: audit verify, {size:,} events ...", file=sys.stderr)
        seconds, wall, cpu = _median_pair(lambda: verify_cli(db, size))  # noqa: B023
        reference = size / _median(lambda: read_and_hash(db))  # noqa: B023
        verified[size] = size / seconds
        rows.append(row(f"audit verify, {size:,} events, events/s",
                        f"{size / seconds:,.0f} (whole command {size / wall:,.0f}, "
                        f"its CPU {cpu:.2f} s)",
                        f"read + sha256 only {reference:,.0f}/s",
                        f"{size / seconds / reference:.2f}", f">= {VERIFY_TARGET:,}/s",
                        size / seconds >= VERIFY_TARGET))
        for path in (source, db, Path(f"{db}-wal"), Path(f"{db}-shm")):
            path.unlink(missing_ok=True)
    if len(SIZES) > 1:
        small, big = SIZES[0], SIZES[-1]
        for name, rates in (("projections rebuild", rebuilt), ("audit verify", verified)):
            rows.append(row(f"{name}: how the rate grows ({small:,} to {big:,} events)",
                            f"{rates[big] / rates[small]:.2f}x the rate",
                            "1.00 = linear time", "-", "-", None))
    return rows


def main() -> int:
    from bench.table import print_table, row
    print(f"# python -m bench.throughput ({os.cpu_count()} cores, "
          f"Python {sys.version.split()[0]}, sizes {SIZES}, median of {REPEATS})\n")
    with tempfile.TemporaryDirectory() as tmp:
        print_table(bench_throughput(Path(tmp), row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
