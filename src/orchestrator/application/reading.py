"""Read use cases: messages and contacts from the read models, and the auditors' views
(a contact as of a moment, why a message, the export, verification, checkpoints).

Audit views open the store read-only and wire no channel at all."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from orchestrator.application.stores import store_of
from orchestrator.audit.export import Bundle, ExportFilter, export_events, write_bundle
from orchestrator.audit.history import contact_journeys, contact_view
from orchestrator.audit.summary import population_summary
from orchestrator.audit.verify import Verification, verify
from orchestrator.audit.why import why
from orchestrator.errors import UsageError
from orchestrator.persistence.checkpoints import (
    Checkpoint,
    current_checkpoint,
    read_checkpoint_file,
)
from orchestrator.projections.contact_directory import directory_rows, message_rows
from orchestrator.projections.runner import read_directory, rebuild
from orchestrator.store.reader import contact_state


@dataclass(frozen=True)
class Rows:
    """Rows of a read model as it is, and how many recorded events it has not applied
    (read commands never write, so they do not catch it up: every write command does)."""

    rows: list[dict[str, Any]]
    behind: int


@dataclass(frozen=True)
class MessageFilter:
    """``messages --journey --status --channel --since --until`` (each optional; ``since``
    and ``until`` bound the message's ``at``, both inclusive)."""

    journey: str | None = None
    status: str | None = None
    channel: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def keeps(self, row: dict[str, Any]) -> bool:
        at = datetime.fromisoformat(row["at"])
        return ((self.journey is None or row["journey"] == self.journey)
                and (self.status is None or row["status"] == self.status)
                and (self.channel is None or row["channel"] == self.channel)
                and (self.since is None or at >= self.since)
                and (self.until is None or at <= self.until))


def messages(app: Any, contact: str | None = None,
             selection: MessageFilter | None = None) -> Rows:
    with store_of(app, read_only=True) as store:
        model = read_directory(store)
        rows = message_rows(model.directory.view, contact) if model.directory else []
        if selection is not None:
            rows = [row for row in rows if selection.keeps(row)]
        return Rows(rows, model.behind)


def contacts(app: Any, *, as_of: datetime | None = None, stage: str | None = None
             ) -> tuple[datetime, Rows]:
    now = as_of or app.now()
    with store_of(app, read_only=True) as store:
        model = read_directory(store)
        rows = (directory_rows(model.directory.view, now, app.settings.thresholds, stage)
                if model.directory else [])
        return now, Rows(rows, model.behind)


def rebuild_read_models(app: Any) -> int:
    with store_of(app) as store:
        rebuild(store)
        return store.max_position()


def contact_as_of(app: Any, contact: str, as_of: datetime | None = None) -> dict[str, Any]:
    moment = as_of or app.now()
    with store_of(app, read_only=True) as store:
        state = contact_state(store, contact, moment, with_feedback=True)
        if state is None:
            raise UsageError(f"no history for contact {contact!r}")
        journeys = contact_journeys(store, contact, moment)
    return contact_view(state, moment, app.settings.thresholds, journeys)


def why_message(app: Any, message: str) -> dict[str, Any]:
    with store_of(app, read_only=True) as store:
        return why(store, message, app.settings.thresholds)


def summary(app: Any, as_of: datetime | None = None) -> dict[str, Any]:
    with store_of(app, read_only=True) as store:
        return population_summary(store, as_of or app.now(), app.settings.thresholds)


def export(app: Any, selection: ExportFilter, out: IO[str]) -> int:
    with store_of(app, read_only=True) as store:
        return export_events(store, selection, out)


def export_bundle(app: Any, folder: str, selection: ExportFilter) -> Bundle:
    with store_of(app, read_only=True) as store:
        return write_bundle(store, folder, selection, now=app.now(),
                            key=app.settings.signing_key)


def verify_chain(app: Any, checkpoint_files: list[str]) -> Verification:
    checkpoints = [read_checkpoint_file(path) for path in checkpoint_files]
    with store_of(app, read_only=True) as store:
        return verify(store, checkpoints, app.settings.checkpoint_public_key)


def head_checkpoint(app: Any) -> Checkpoint:
    with store_of(app, read_only=True) as store:
        checkpoint = current_checkpoint(store, app.now(), app.settings.signing_key)
    if checkpoint is None:
        raise UsageError("the store is empty: nothing to checkpoint")
    return checkpoint
