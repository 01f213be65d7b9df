"""``orchestrator audit export``: the history for auditors, whole or selected, or as a
bundle (events, the latest checkpoint and a verification report, side by side)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from orchestrator.audit.history import event_record
from orchestrator.audit.verify import verify
from orchestrator.domain.contact import business_time
from orchestrator.persistence.checkpoints import current_checkpoint, write_checkpoint_file
from orchestrator.store import Store
from orchestrator.store.reader import contact_subjects, read_log


@dataclass(frozen=True)
class ExportFilter:
    start: datetime | None = None
    end: datetime | None = None
    contact: str | None = None


@dataclass(frozen=True)
class Bundle:
    folder: str
    events: int
    intact: bool


def export_events(store: Store, selection: ExportFilter, out: IO[str]) -> int:
    streams = contact_subjects(store, selection.contact) if selection.contact else None
    written = 0
    for recorded in read_log(store):
        event = recorded.event
        if streams is not None and event.originator_id not in streams:
            continue
        at = business_time(event) or event.timestamp
        if (selection.start and at < selection.start) or (selection.end and at > selection.end):
            continue
        out.write(json.dumps(event_record(recorded), ensure_ascii=False, default=str))
        out.write("\n")
        written += 1
    return written


def write_bundle(store: Store, folder: str, selection: ExportFilter, now: datetime,
                 key: Any = None) -> Bundle:
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "events.jsonl"), "w", encoding="utf-8") as out:
        count = export_events(store, selection, out)
    checkpoint = current_checkpoint(store, now, key)
    if checkpoint is not None:
        write_checkpoint_file(os.path.join(folder, "checkpoint.json"), checkpoint)
    result = verify(store, [checkpoint] if checkpoint else [])
    report: dict[str, Any] = {"verified_at": now.isoformat(), "store": store.location.redacted(),
                              "selection": {"from": _iso(selection.start),
                                            "to": _iso(selection.end),
                                            "contact": selection.contact},
                              "events_in_bundle": count, **result.as_json()}
    with open(os.path.join(folder, "verification.json"), "w", encoding="utf-8") as out:
        json.dump(report, out, indent=2)
        out.write("\n")
    return Bundle(folder, count, result.intact)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
