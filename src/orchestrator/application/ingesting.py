"""Use case: record touchpoints from a JSON Lines file (or standard input)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from orchestrator.application.stores import store_of
from orchestrator.application.tail import finish_write
from orchestrator.ingest.service import IngestReport, ingest_path


def ingest(app: Any, source: str, *, skip_invalid: bool = False,
           progress: Callable[[int, int], None] | None = None) -> IngestReport:
    with store_of(app) as store:
        report = ingest_path(store, source, recorded_at=app.now(), skip_invalid=skip_invalid,
                             progress=progress)
        if report.recorded:
            finish_write(app, store)
    return report
