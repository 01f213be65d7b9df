"""Use case: ``orchestrator store copy --to URL``, how a store grows from the embedded
SQLite default to PostgreSQL (or comes back).

Everything the history is made of moves as stored: events at their positions, the chain
links over them, the subjects' keys (an erased subject's tombstone too, so it stays
erased), the touchpoint ids already recorded and the signed checkpoints. Nothing is
decoded or re-sealed, so the copy's chain is the source's chain, link for link.

The copy is one transaction on the target. Before it commits, the whole copy is verified
inside that transaction as ``audit verify`` would (every link recomputed, every sealed
blob opened with its key, every copied checkpoint matched and its signature checked) and
its head is compared with the source's: a copy that does not verify is rolled back and
leaves the target as empty as it was. Only then are the target's read models built and a
checkpoint of the copy's head recorded (signed when a signing key is configured).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from orchestrator.application.stores import open_store
from orchestrator.audit.verify import Verification, verify_tables
from orchestrator.errors import OrchestratorError, UsageError
from orchestrator.persistence.checkpoints import record_checkpoint
from orchestrator.projections.runner import catch_up, open_directory
from orchestrator.store import StoreLocation, redact

PAGE = 5000


class CopyNotVerified(OrchestratorError):
    """The copy did not verify inside its transaction: it was rolled back."""

    exit_code = 1


@dataclass(frozen=True)
class CopyReport:
    target: str  # redacted
    events: int
    last_position: int
    keys: int
    touchpoints: int
    checkpoints: int
    verification: Verification
    seconds: float  # reading, writing and verifying the copy, up to its commit
    read_model_seconds: float  # then building the target's read models

    @property
    def per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


def copy_store(app: Any, target_url: str,
               progress: Callable[[int, int], None] | None = None) -> CopyReport:
    """Copy the configured store to ``target_url`` (see the module). ``progress`` is told
    (events copied, events in all) after each page."""
    source_url = app.settings.store_url
    if _same_place(source_url, target_url):
        raise UsageError(f"--to {redact(target_url)} is the store being copied")
    started = time.perf_counter()
    with open_store(source_url, read_only=True) as source, open_store(target_url) as target:
        total = source.max_position()
        with source.read() as tables, target.write() as unit:
            if unit.tables.holds_anything():
                raise UsageError(f"{redact(target_url)} already holds a store with events, "
                                 "keys or checkpoints; store copy only writes to an empty "
                                 "one (nothing was written)")
            events, last = _copy_events(tables, unit.tables, total, progress)
            keys = _copy_keys(tables, unit.tables)
            touchpoints = _copy_touchpoints(tables, unit.tables)
            checkpoints = tables.checkpoints()
            for checkpoint in checkpoints:
                unit.tables.record_checkpoint(*checkpoint)
            unit.tables.copied()
            verification = verify_tables(unit.tables)
            source_head = tables.chain_head()
            if not verification.intact or unit.tables.chain_head() != source_head \
                    or verification.events != events:
                raise CopyNotVerified(
                    "the copy does not verify "
                    f"({verification.problem or 'its head differs from the source'}); "
                    f"it was rolled back and {redact(target_url)} holds nothing")
        copied = time.perf_counter()
        # Committed and verified: the read models, then the copy's own checkpoint.
        catch_up(target, open_directory(target))
        record_checkpoint(target, app.now(), app.settings.signing_key)
    return CopyReport(redact(target_url), events, last, keys, touchpoints, len(checkpoints),
                      verification, copied - started, time.perf_counter() - copied)


def _copy_events(source: Any, target: Any, total: int,
                 progress: Callable[[int, int], None] | None) -> tuple[int, int]:
    copied, last = 0, 0
    while True:
        events = source.raw_events(last, PAGE)
        links = source.chain_links(last, PAGE)
        if not events and not links:
            return copied, last
        # The links are copied as they are; a source whose links and events do not pair
        # up is caught by the verification of the copy, not papered over here.
        target.copy_events(events, links)
        copied += len(events)
        last = max(events[-1][0] if events else 0, links[-1][0] if links else 0)
        if progress is not None:
            progress(copied, total)


def _copy_keys(source: Any, target: Any) -> int:
    copied, after = 0, None
    while rows := source.raw_keys(after, PAGE):
        target.copy_keys(rows)
        copied += len(rows)
        after = rows[-1][0]
    return copied


def _copy_touchpoints(source: Any, target: Any) -> int:
    copied, after = 0, ""
    while rows := source.raw_touchpoints(after, PAGE):
        target.copy_touchpoints(rows)
        copied += len(rows)
        after = rows[-1][0]
    return copied


def _same_place(source_url: str, target_url: str) -> bool:
    source, target = StoreLocation.parse(source_url), StoreLocation.parse(target_url)
    if source.backend != target.backend:
        return False
    if source.backend == "sqlite":
        return os.path.realpath(source.sqlite_path) == os.path.realpath(target.sqlite_path)
    return (source.pg_host, source.pg_port, source.pg_dbname, source.pg_schema) == (
        target.pg_host, target.pg_port, target.pg_dbname, target.pg_schema)
