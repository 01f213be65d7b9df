"""``orchestrator audit export``: the history for auditors, whole or selected, or as a
bundle (events, the latest checkpoint and a verification report, side by side).

Sealed personal data that does not open with its subject's key (or whose subject has no
key) never stops an export:
- when an erasure of that subject is recorded after the event, the key it was sealed with
  was destroyed by ``forget`` (a later fact may have made a new one): the fields read
  ``[erased]``;
- otherwise the key table was tampered with (a key swapped, replaced or deleted): the
  fields read ``[unreadable: tampered]``, every other line is written as usual, and the
  export then fails (exit 1) naming the first such position, so that no script mistakes
  it for a clean export. ``audit verify`` reports the same position.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any
from uuid import UUID

from orchestrator.audit.history import event_record
from orchestrator.audit.verify import verify
from orchestrator.domain import events as ev
from orchestrator.domain.contact import business_time
from orchestrator.errors import CheckFailed
from orchestrator.persistence.checkpoints import current_checkpoint, write_checkpoint_file
from orchestrator.persistence.sealing import UNREADABLE
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
    """Write the selected events; ``CheckFailed`` after the last line if any of them had
    sealed data that does not open with its subject's key (see the module's docstring)."""
    written, unreadable = _write_events(store, selection, out)
    if unreadable:
        raise CheckFailed(
            f"{written:,} event(s) exported, but {len(unreadable):,} of them hold sealed "
            "personal data that does not open with its subject's key and no erasure explains "
            f"(first at position {unreadable[0]}): those fields read {UNREADABLE!r}. The key "
            "table was tampered with; `orchestrator audit verify` checks the whole store")
    return written


def _write_events(store: Store, selection: ExportFilter, out: IO[str]) -> tuple[int, list[int]]:
    """The selected events written to ``out``: how many, and the positions of those whose
    sealed data did not open and no later erasure explains."""
    written, unreadable = 0, []
    erasures: dict[UUID, int] | None = None
    with store.ledger.mapper.marking_unopenable() as marked:
        streams = contact_subjects(store, selection.contact) if selection.contact else None
        marked.clear()
        for recorded in read_log(store):
            event = recorded.event
            names = marked.pop((event.originator_id, event.originator_version), None)
            if streams is not None and event.originator_id not in streams:
                continue
            at = business_time(event) or event.timestamp
            if ((selection.start and at < selection.start)
                    or (selection.end and at > selection.end)):
                continue
            if names is not None:
                if erasures is None:
                    erasures = _last_erasures(store)
                explained = erasures.get(event.originator_id, 0) > recorded.position
                vars(event).update(dict.fromkeys(names, ev.ERASED if explained else UNREADABLE))
                if not explained:
                    unreadable.append(recorded.position)
            out.write(json.dumps(event_record(recorded), ensure_ascii=False, default=str))
            out.write("\n")
            written += 1
    return written, unreadable


def _last_erasures(store: Store) -> dict[UUID, int]:
    """The position of the last recorded erasure of each erased subject."""
    last: dict[UUID, int] = {}
    for recorded in read_log(store, only=(ev.ContactErased,)):
        named = getattr(recorded.event, "subjects", None)
        for subject in ([UUID(hex=s) for s in named] if named is not None
                        else [recorded.event.originator_id]):
            last[subject] = recorded.position
    return last


def write_bundle(store: Store, folder: str, selection: ExportFilter, now: datetime,
                 key: Any = None) -> Bundle:
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "events.jsonl"), "w", encoding="utf-8") as out:
        count, _ = _write_events(store, selection, out)  # the verification below reports it
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
