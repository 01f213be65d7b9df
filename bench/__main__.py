"""``make bench``: throughput and memory, each next to a reference measured in the same run.

Targets are checked here, never in unit tests. Sizes can be lowered for a quick look:
``BENCH_TOUCHPOINTS=20000 BENCH_BIG=100000 make bench``. The simulate row
(bench/simulate.py, also ``python -m bench.simulate``) takes ``BENCH_SIMULATE_CONTACTS``.
The dispatch rows (bench/dispatch.py, also runnable alone as ``python -m bench.dispatch``)
take ``BENCH_DISPATCH`` and friends; the workers rows (bench/workers.py, ``python -m
bench.workers``) take ``BENCH_WORKERS_MESSAGES`` and friends. Issue 13's rows (rebuild,
verify and ingest through the command line at three sizes: bench/throughput.py,
``python -m bench.throughput``) take ``BENCH_THROUGHPUT_SIZES`` and
``BENCH_THROUGHPUT_REPEATS``; the live service's (bench/live_service.py) take
``BENCH_LIVE_SIZES``; the engine state's size over a growing history
(bench/engine_memory.py) ``BENCH_MEMORY_CONTACTS`` and ``BENCH_MEMORY_WEEKS``; issue
13's run with sends through the command line (bench/run_with_sends.py)
``BENCH_SENDS_CUSTOMERS`` and ``BENCH_SENDS_REPEATS``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench.table import row
from bench.touchpoints import write_touchpoints

N = int(os.environ.get("BENCH_TOUCHPOINTS", "100000"))
BIG = int(os.environ.get("BENCH_BIG", "1000000"))
RECORDED_AT = datetime(2026, 11, 24, tzinfo=UTC)


def _fresh(path: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


def bench_ingest(folder: Path, source: Path, name: str = "ingest.db") -> float:
    from orchestrator.ingest.service import ingest_path
    from orchestrator.store import Store
    with Store.open(f"sqlite:///{_fresh(folder / name)}") as store:
        started = time.perf_counter()
        report = ingest_path(store, str(source), recorded_at=RECORDED_AT)
        elapsed = time.perf_counter() - started
    assert report.recorded == N, report.summary()
    return N / elapsed


def bench_raw_sqlite(folder: Path, source: Path) -> float:
    """Reference 1: the same lines parsed, then one executemany into a plain table."""
    rows = []
    with source.open("rb") as lines:
        for line in lines:
            obj = json.loads(line)
            rows.append((obj["id"], obj["type"], obj["at"], line))
    db = sqlite3.connect(folder / "raw.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE t (id TEXT PRIMARY KEY, type TEXT, at TEXT, body BLOB)")
    started = time.perf_counter()
    db.execute("BEGIN")
    db.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", rows)
    db.execute("COMMIT")
    elapsed = time.perf_counter() - started
    db.close()
    return N / elapsed


def bench_library_save(folder: Path) -> float:
    """Reference 2: the library's own batched Application.save of as many events, with
    payloads of the same shape, on its stock SQLite module."""
    from eventsourcing.application import Application
    from eventsourcing.domain import Aggregate, event

    class Contact(Aggregate):
        @event("Registered")
        def __init__(self, contact: str, kind: str, email: str, phone: str, timezone: str,
                     at: str, touchpoint_id: str):
            pass

    app = Application(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                           "SQLITE_DBNAME": str(folder / "library.db")})
    started = time.perf_counter()
    for start in range(0, N, 1000):
        app.save(*[Contact(contact=f"C{i}", kind="customer", email=f"p{i}@example.com",
                           phone=f"+44770{i:07d}", timezone="Europe/London",
                           at="2026-01-01T10:00:00+00:00", touchpoint_id=f"b{i}")
                   for i in range(start, min(start + 1000, N))])
    elapsed = time.perf_counter() - started
    app.close()
    return N / elapsed


def peak_memory_of_ingest(folder: Path, lines: int) -> tuple[float, float]:
    """Peak RSS (MiB) of a fresh `orchestrator ingest` process, and its rate."""
    source = folder / f"mem-{lines}.jsonl"
    write_touchpoints(source, lines)
    store = f"sqlite:///{folder / f'mem-{lines}.db'}"
    # VmHWM (peak RSS) of the child's own address space: ru_maxrss would carry over the
    # parent's peak across fork and exec.
    code = ("import time\n"
            "from orchestrator.cli import main\n"
            "t = time.perf_counter()\n"
            f"rc = main(['--store', {store!r}, 'ingest', {str(source)!r}])\n"
            "dt = time.perf_counter() - t\n"
            "hwm = [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')]\n"
            "print(hwm[0], dt, rc)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    rss_kib, seconds, rc = done.stdout.strip().splitlines()[-1].split()
    assert rc == "0", done.stderr
    return int(rss_kib) / 1024, lines / float(seconds)


def bench_ingest_without_integrity(folder: Path, source: Path) -> float:
    """The same ingest with the chain and the per-subject sealing switched off: the
    stock library mapper, and the same batched insert minus the chain links."""
    from eventsourcing.persistence import Mapper

    from orchestrator import store as store_module
    from orchestrator.ingest.service import ingest_path
    from orchestrator.persistence.sqlite import ChainedSQLiteRecorder

    class UnchainedRecorder(ChainedSQLiteRecorder):
        def _insert_events(self, c, stored_events, **kwargs):  # type: ignore[override]
            return self._insert_rows(c, stored_events)

    original_stage_keys = store_module.WriteUnit._stage_keys
    store_module.WriteUnit._stage_keys = lambda self, events: None  # type: ignore[method-assign]
    try:
        with store_module.Store.open(f"sqlite:///{_fresh(folder / 'plain.db')}") as store:
            store.recorder = UnchainedRecorder(store.recorder.datastore)
            store.ledger.mapper = Mapper(transcoder=store.ledger.mapper.transcoder)
            started = time.perf_counter()
            report = ingest_path(store, str(source), recorded_at=RECORDED_AT)
            elapsed = time.perf_counter() - started
    finally:
        store_module.WriteUnit._stage_keys = original_stage_keys  # type: ignore[method-assign]
    assert report.recorded == N, report.summary()
    return N / elapsed


def bench_verify(folder: Path) -> float:
    """`audit verify` over the store the ingest bench wrote."""
    from orchestrator.audit.verify import verify
    from orchestrator.store import Store
    with Store.open(f"sqlite:///{folder / 'ingest.db'}", read_only=True) as store:
        started = time.perf_counter()
        result = verify(store)
        elapsed = time.perf_counter() - started
    assert result.intact and result.events == N
    return N / elapsed


def bench_hash_only(folder: Path) -> float:
    """Reference: reading the same rows with sqlite3 and hashing them, nothing else."""
    import hashlib
    db = sqlite3.connect(folder / "ingest.db")
    started = time.perf_counter()
    for stored in db.execute("SELECT rowid, originator_id, originator_version, topic, state "
                          "FROM stored_events ORDER BY rowid"):
        hashlib.sha256(stored[4]).digest()
    elapsed = time.perf_counter() - started
    db.close()
    return N / elapsed


BENCH_JOURNEYS = {
    "second-purchase.yaml": """
journey: second-purchase
trigger: {on: purchase.recorded, if: "contact.stage == 'light_buyer'"}
reentry: 30d
goal: {on: purchase.recorded, within: 21d}
exit_on: [consent.withdrawn, message.unsubscribed]
steps:
  - id: thanks
    send: {intent: relationship, template: thanks}
  - id: pause
    wait: 3d
  - id: check
    branch:
      - if: "contact.purchases_within('30d') >= 2"
        goto: done
      - else: offer
  - id: offer
    send: {intent: relationship, template: thanks, audience: segment}
  - id: done
    end: true
""",
    "monday-spotlight.yaml": """
journey: monday-spotlight
trigger: {schedule: "0 9 * * MON", timezone: Europe/London,
          segment: "contact.stage == 'regular_buyer'"}
steps:
  - id: post
    send: {intent: activation, template: spot}
  - id: regulars
    send: {intent: relationship, template: thanks}
""",
    "mention-replies.yaml": """
journey: mention-replies
trigger: {on: social.mention, if: "event.stance == 'positive'"}
steps:
  - id: reply
    send: {intent: showcase, template: spot}
""",
}


def bench_simulated_run(folder: Path, contacts: int) -> tuple[float, int, float]:
    """Touchpoints processed per second by `run --until` over a month of a synthetic
    population's touchpoints (the run records every enrolment, step and decision)."""
    from datetime import timedelta

    from orchestrator.campaigns.runtime.runner import run_until
    from orchestrator.campaigns.runtime.versions import publish
    from orchestrator.demo.population import DEMO_NOW, generate
    from orchestrator.ingest.service import ingest_path
    from orchestrator.store import Store
    templates = folder / "templates"
    for name, files in {"thanks": {"email.txt": "Thanks", "sms.txt": "Thanks"},
                        "spot": {"social.txt": "This week in the shop"}}.items():
        (templates / name).mkdir(parents=True, exist_ok=True)
        for file, text in files.items():
            (templates / name / file).write_text(text)
    paths = []
    for name, text in BENCH_JOURNEYS.items():
        (folder / name).write_text(text)
        paths.append(str(folder / name))
    population = folder / "population.jsonl"
    with population.open("w") as out:  # a month of activity: what a simulated month runs
        generate(out, contacts=contacts, history=timedelta(days=30))
    with Store.open(f"sqlite:///{folder / 'run.db'}") as store:
        ingest_path(store, str(population), recorded_at=RECORDED_AT)
        publish(store, paths, str(templates), author="bench", now=RECORDED_AT)
        started = time.perf_counter()
        report = run_until(store, DEMO_NOW, recorded_at=RECORDED_AT,
                           templates_dir=str(templates))
        elapsed = time.perf_counter() - started
    return report.touchpoints / elapsed, report.touchpoints, elapsed


def bench_validate_500_steps(folder: Path) -> float:
    """Seconds `journeys validate` takes on one 500-step journey."""
    from orchestrator.campaigns.language.validation import validate_files
    templates = folder / "templates"
    lines = ["journey: long-one", "trigger: {on: purchase.recorded}", "steps:"]
    for index in range(500):
        lines.append(f"  - id: s{index}")
        if index % 5 == 4:
            lines.append("    wait: 1d")
        elif index % 5 == 2 and index + 3 < 500:
            lines += ["    branch:", "      - if: \"contact.purchases_within('30d') >= 2\"",
                      f"        goto: s{index + 3}", f"      - else: s{index + 1}"]
        else:
            lines.append("    send: {intent: relationship, template: thanks}")
    path = folder / "long.yaml"
    path.write_text("\n".join(lines) + "\n")
    started = time.perf_counter()
    journeys, problems = validate_files([str(path)], str(templates))
    elapsed = time.perf_counter() - started
    assert journeys and not problems, problems
    return elapsed


def bench_policy_decisions() -> float:
    """In-memory channel policy decisions per second, over a mix of realistic cases."""
    from datetime import timedelta as td

    from orchestrator.domain.policy import (
        ChannelCapabilities,
        ConsentFact,
        ContactFacts,
        PolicyConfig,
        SendRequest,
        decide,
    )
    now = datetime(2026, 3, 2, 10, tzinfo=UTC)
    config = PolicyConfig()
    capabilities = ChannelCapabilities(with_template=frozenset({"email", "sms", "mail"}),
                                       live=frozenset({"email", "sms", "mail", "social"}))
    contacts = []
    for n in range(1000):
        consents = {}
        if n % 3:
            consents[("email", "marketing")] = ConsentFact(granted=True, at=now - td(days=9),
                                                           source="web", event_ref=f"g{n}")
        if n % 5 == 0:
            consents[("sms", "marketing")] = ConsentFact(granted=True, at=now - td(days=3),
                                                         source="web", event_ref=f"s{n}")
        contacts.append(ContactFacts(
            contact_id=f"C{n}", kind="customer" if n % 7 else "prospect", stage="light_buyer",
            consents=consents, timezone="Europe/London",
            recent_marketing_sends=tuple(("email", now - td(hours=h)) for h in range(n % 4))))
    requests = [SendRequest(message_id=f"m{n}", intent="relationship", journey_id="j",
                            journey_version=1, step_id="s") for n in range(1000)]
    decisions = 0
    started = time.perf_counter()
    while time.perf_counter() - started < 2.0:
        for request, contact in zip(requests, contacts, strict=True):
            decide(request, contact, None, capabilities, config, now)
        decisions += len(requests)
    return decisions / (time.perf_counter() - started)


def bench_eml() -> tuple[float, float]:
    """Milliseconds to write one dry-run ``.eml`` (text, HTML, footer, RFC 8058 headers):
    ours, and the email package building and writing the same message."""
    from orchestrator.channels.email_message import (
        EmailSender,
        build_email,
        email_bytes,
        wire_email,
    )
    from orchestrator.channels.message import OutboundMessage
    sender = EmailSender("The shop <hello@shop.example>")
    at = datetime(2026, 3, 2, 10, tzinfo=UTC)
    messages = [OutboundMessage(
        message_id=f"m{n:08d}", channel="email", contact_key=f"C{n}",
        to_address=f"p{n}@example.com", subject=f"Thank you for your order, Ada {n}",
        text="Hello Ada,\n\nThanks for your order. We hope you enjoy it.\n" * 4,
        html="<html><body><p>Hello Ada,</p><p>Thanks for your order.</p></body></html>",
        unsubscribe_url=f"https://messages.shop.example/unsubscribe/{n:08d}.{'t' * 60}",
        sender_postal_address="1 High Street, Bench Town") for n in range(2000)]

    def per_message(write: Callable[[OutboundMessage], bytes]) -> float:
        started = time.perf_counter()
        for message in messages:
            write(message)
        return (time.perf_counter() - started) / len(messages) * 1000

    ours = min(per_message(lambda m: wire_email(m, sender, at)) for _ in range(3))
    reference = min(per_message(lambda m: email_bytes(build_email(m, sender, at)))
                    for _ in range(3))
    return ours, reference


def bench_why_latency(folder: Path, events: int) -> tuple[float, int]:
    """Median `audit why` latency (ms) on a store of about ``events`` events."""
    import statistics

    from orchestrator.audit.why import why
    from orchestrator.campaigns.runtime.runner import run_until
    from orchestrator.campaigns.runtime.versions import publish
    from orchestrator.demo.population import DEMO_NOW, generate
    from orchestrator.domain.stages import StageThresholds
    from orchestrator.ingest.service import ingest_path
    from orchestrator.store import Store
    population = folder / "why.jsonl"
    with population.open("w") as out:
        generate(out, contacts=max(events // 4, 1000))
    url = f"sqlite:///{folder / 'why.db'}"
    with Store.open(url) as store:
        ingest_path(store, str(population), recorded_at=RECORDED_AT)
        (folder / "second.yaml").write_text(BENCH_JOURNEYS["second-purchase.yaml"])
        publish(store, [str(folder / "second.yaml")], str(folder / "templates"),
                author="bench", now=RECORDED_AT)
        report = run_until(store, DEMO_NOW, recorded_at=RECORDED_AT,
                           templates_dir=str(folder / "templates"))
        total = store.max_position()
    timings = []
    with Store.open(url, read_only=True) as store:
        for message in report.messages[:: max(len(report.messages) // 50, 1)][:50]:
            started = time.perf_counter()
            why(store, message, StageThresholds())
            timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), total


def main() -> int:
    print(f"# orchestrator bench ({os.cpu_count()} cores, Python {sys.version.split()[0]})\n")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = folder / "touchpoints.jsonl"
        write_touchpoints(source, N)
        print(f"peak memory: {N:,} vs {BIG:,} lines ...", file=sys.stderr)
        small_rss, _ = peak_memory_of_ingest(folder, N)
        big_rss, big_rate = peak_memory_of_ingest(folder, BIG)
        print(f"ingest of {N:,} touchpoints on the embedded store ...", file=sys.stderr)
        ours = bench_ingest(folder, source)
        raw = bench_raw_sqlite(folder, source)
        library = bench_library_save(folder)
        results.append(row("ingest touchpoints/s", f"{ours:,.0f}", f"raw sqlite3 executemany "
                           f"{raw:,.0f}/s", f"{ours / raw:.2f}", ">= 0.15", ours / raw >= 0.15))
        results.append(row("ingest touchpoints/s", f"{ours:,.0f}", f"library batched save "
                           f"{library:,.0f}/s", f"{ours / library:.2f}", ">= 0.70",
                           ours / library >= 0.70))
        print("integrity overhead (three repeats each, medians) and audit verify ...",
              file=sys.stderr)
        import statistics
        chained = statistics.median(
            [ours] + [bench_ingest(folder, source, "again.db") for _ in range(2)])
        plain = statistics.median(bench_ingest_without_integrity(folder, source)
                                  for _ in range(3))
        overhead = plain / chained - 1
        results.append(row("ingest with chain + sealing (median of 3)", f"{chained:,.0f}/s",
                           f"same ingest without them {plain:,.0f}/s", f"+{overhead:.0%} time",
                           "< 30% overhead", overhead < 0.30))
        verified = bench_verify(folder)
        hashed = bench_hash_only(folder)
        results.append(row("audit verify events/s", f"{verified:,.0f}", f"read + sha256 only "
                           f"{hashed:,.0f}/s", f"{verified / hashed:.2f}", ">= 100,000/s",
                           verified >= 100_000))
        contacts = int(os.environ.get("BENCH_RUN_CONTACTS", "100000"))
        print(f"simulated run, {contacts:,} contacts, 3 journeys ...", file=sys.stderr)
        rate, processed, seconds = bench_simulated_run(folder, contacts)
        results.append(row(f"run --until, {contacts:,} contacts, 3 journeys",
                           f"{rate:,.0f} touchpoints/s", f"{processed:,} touchpoints in "
                           f"{seconds:.1f} s", "-", ">= 5,000/s", rate >= 5000))
        seconds = bench_validate_500_steps(folder)
        results.append(row("journeys validate, 500-step file", f"{seconds * 1000:,.0f} ms",
                           "-", "-", "-", None))
        decisions = bench_policy_decisions()
        results.append(row("policy decisions (in memory)", f"{decisions:,.0f}/s", "-", "-",
                           ">= 20,000/s", decisions >= 20000))
        eml, package = bench_eml()
        results.append(row("dry-run .eml, per message", f"{eml:.3f} ms",
                           f"email package build + write {package:.3f} ms",
                           f"{eml / package:.2f}", "<= 0.5 ms", eml <= 0.5))
        why_events = int(os.environ.get("BENCH_WHY_EVENTS", "1000000"))
        print(f"audit why on a store of ~{why_events:,} events ...", file=sys.stderr)
        latency, total = bench_why_latency(folder, why_events)
        results.append(row("audit why latency (median of 50)", f"{latency:,.1f} ms",
                           f"store of {total:,} events", "-", "< 200 ms", latency < 200))
        results.append(row(f"peak RSS, ingest {BIG:,} lines", f"{big_rss:,.0f} MiB",
                           f"{N:,} lines: {small_rss:,.0f} MiB", f"{big_rss / small_rss:.2f}",
                           "<= 1.25 (flat)", big_rss / small_rss <= 1.25))
        results.append(row(f"ingest {BIG:,} lines, touchpoints/s", f"{big_rate:,.0f}", "-", "-",
                           "-", None))
        from bench.simulate import bench_simulate
        print("simulate beside a real run of the same month ...", file=sys.stderr)
        results.extend(bench_simulate(folder / "simulate", row))
        from bench.dispatch import bench_dispatch
        results.extend(bench_dispatch(folder / "dispatch", row))
        from bench.store_copy import bench_store_copy
        results.extend(bench_store_copy(folder / "store-copy", row))
        from bench.live_service import bench_live_service
        results.extend(bench_live_service(folder / "live-service", row))
        from bench.engine_memory import bench_engine_memory
        (folder / "engine-memory").mkdir()
        results.extend(bench_engine_memory(folder / "engine-memory", row))
        from bench.run_with_sends import bench_run_with_sends
        (folder / "run-with-sends").mkdir()
        results.extend(bench_run_with_sends(folder / "run-with-sends", row))
        from bench.workers import bench_workers
        results.extend(bench_workers(folder / "workers", row))
        from bench.throughput import bench_throughput
        results.extend(bench_throughput(folder / "throughput", row))
    print("| measure | ours | reference (same run) | ratio | target | verdict |")
    print("|---|---|---|---|---|---|")
    print("\n".join(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
