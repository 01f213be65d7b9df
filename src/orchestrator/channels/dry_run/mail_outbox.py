"""Dry-run physical mail, shaped like a print-house batch in ``OUTBOX/mail/``:
``batch.csv``, a mail-merge with one row per letter (message id, name and address
lines, letter file), and ``MESSAGE_ID.html``, the rendered letter it points to."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from orchestrator.channels.capabilities import MailCapabilities
from orchestrator.channels.dry_run.base import Clock, OutboxChannel
from orchestrator.channels.dry_run.files import AppendOnceLog, write_atomically
from orchestrator.channels.message import POSTAL_ADDRESS_FIELDS, OutboundMessage, SendResult

__all__ = ["BATCH_COLUMNS", "BATCH_FILE", "DryRunMailChannel"]

BATCH_FILE = "batch.csv"
BATCH_COLUMNS = ("message_id", *POSTAL_ADDRESS_FIELDS, "letter_file")

# Print houses open batches in spreadsheets, which run a cell starting with one of these
# as a formula; a leading apostrophe keeps it text (OWASP "CSV injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class DryRunMailChannel(MailCapabilities, OutboxChannel):
    def __init__(self, outbox_dir: str | Path, *, clock: Clock | None = None):
        super().__init__(outbox_dir, clock=clock)
        self.folder = self.outbox_dir / "mail"
        self.batch = AppendOnceLog(self.folder / BATCH_FILE, key_of=_first_cell,
                                   header=_csv_line(BATCH_COLUMNS))

    def letter_path(self, message_id: str) -> Path:
        return self.folder / f"{message_id}.html"

    def send(self, message: OutboundMessage) -> SendResult:
        self.check_message(message)
        address = message.postal_address()
        letter = self.letter_path(message.message_id)
        row = [message.message_id,
               *(_spreadsheet_safe(address.get(field) or "") for field in POSTAL_ADDRESS_FIELDS),
               letter.name]

        def write_letter() -> None:
            # The letter first: a row in the batch must never point to a missing file.
            write_atomically(letter, (message.html or "").encode("utf-8"))

        with self.writing():
            written = self.batch.append_once(message.message_id, _csv_line(row),
                                             before_append=write_letter)
        return self.result(message, written=written)


def _csv_line(cells: tuple[str, ...] | list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(cells)
    return buffer.getvalue()


def _first_cell(line: str) -> str | None:
    row = next(csv.reader([line]), [])
    return row[0] if row and row[0] else None


def _spreadsheet_safe(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_STARTS) else value
