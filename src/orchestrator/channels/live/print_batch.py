"""Physical mail as print-house batches (SPEC "Channels": a CSV mail-merge plus a rendered
letter per recipient), written under ``ORCHESTRATOR_MAIL_DIR``.

One batch folder per UTC day of sending and sender, ``batch-YYYY-MM-DD-<8 hex>``: the
hex is the start of the SHA-256 of the sender's postal address (whitespace collapsed),
so the id is the same however often it is computed, and two senders sharing one mail
folder never mix their letters. Each folder holds ``batch.csv``, ``MESSAGE_ID.pdf`` and
``MESSAGE_ID.html`` per letter, and ``manifest.json`` (see
:mod:`orchestrator.channels.live.batch_folder` and docs/print-batches.md).

A message id already in any batch under the mail folder is not written again (the
folders themselves are the record, so a restarted process knows). One process writes a
mail folder; within it, sends are serialised by a lock.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import ClassVar

from fpdf.errors import FPDFException

from orchestrator.channels.capabilities import MailCapabilities
from orchestrator.channels.errors import (
    ChannelConfigurationError,
    MessageInvalid,
    PermanentRejection,
    TransientFailure,
)
from orchestrator.channels.live.batch_folder import BatchFolder
from orchestrator.channels.live.letter import Letter, address_lines, letter_html
from orchestrator.channels.live.letter_pdf import letter_pdf
from orchestrator.channels.message import (
    POSTAL_ADDRESS_FIELDS,
    REQUIRED_POSTAL_FIELDS,
    OutboundMessage,
    SendResult,
)

__all__ = ["PrintBatchChannel", "batch_id_for"]

logger = logging.getLogger(__name__)

# Print houses open batches in spreadsheets, which run a cell starting with one of these
# as a formula; a leading apostrophe keeps it text (OWASP "CSV injection"), as in the
# dry-run batch.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def batch_id_for(day: date, sender_postal_address: str) -> str:
    """The id (and folder name) of the batch of ``day`` for this sender."""
    normalised = " ".join(sender_postal_address.split())
    digest = hashlib.sha256(normalised.encode("utf-8")).hexdigest()[:8]
    return f"batch-{day.isoformat()}-{digest}"


class PrintBatchChannel(MailCapabilities):
    """Writes each letter into the day's batch under ``mail_dir``.

    ``sender_postal_address`` is the letterhead and return address (one line, parts
    separated by commas); ``brand_name``, if given, heads the letterhead; ``clock`` gives
    the send time, which picks the batch (its UTC day), dates the letter and stamps the
    PDF; ``font_path`` is a TrueType font for text beyond Western European scripts.
    """

    provider: ClassVar[str] = "print-batch"

    def __init__(self, mail_dir: str | Path, sender_postal_address: str, *,
                 clock: Callable[[], datetime], brand_name: str = "",
                 font_path: str | Path | None = None):
        self.mail_dir = Path(mail_dir)
        if self.mail_dir.exists() and not self.mail_dir.is_dir():
            raise ChannelConfigurationError(
                f"mail folder {self.mail_dir} exists and is not a folder "
                "(ORCHESTRATOR_MAIL_DIR)")
        if not isinstance(sender_postal_address, str) or not sender_postal_address.strip():
            raise ChannelConfigurationError(
                "letters need the sender's postal address (ORCHESTRATOR_POSTAL_ADDRESS)")
        if "".join(sender_postal_address.splitlines()) != sender_postal_address:
            raise ChannelConfigurationError(
                "the sender's postal address must be one line, its parts separated by "
                "commas (ORCHESTRATOR_POSTAL_ADDRESS)")
        self.font_path = Path(font_path) if font_path is not None else None
        if self.font_path is not None and not self.font_path.is_file():
            raise ChannelConfigurationError(f"letter font {self.font_path} is not a file")
        self.sender_postal_address = sender_postal_address.strip()
        self.brand_name = brand_name.strip()
        self._clock = clock
        self._lock = threading.Lock()
        self._sent: dict[str, str] | None = None  # message id -> batch id, read on first use
        self._open_batch: BatchFolder | None = None

    def describe(self) -> str:
        """One line for the ``run`` banner."""
        return f"print batches in {self.mail_dir}"

    def check_kind_specific(self, message: OutboundMessage) -> None:
        # A blank field passes the message's own check but would print an undeliverable
        # letter. Name the fields only: the values are the recipient's address.
        address = message.postal_address()
        missing = [name for name in REQUIRED_POSTAL_FIELDS
                   if not (address.get(name) or "").strip()]
        if missing:
            raise MessageInvalid(f"message {message.message_id}: the postal address lacks "
                                 f"{', '.join(missing)}")

    def send(self, message: OutboundMessage) -> SendResult:
        self.check_message(message)
        with self._lock, self._writing():
            sent = self._sent_messages()
            if message.message_id in sent:
                logger.debug("letter %s already in batch %s; not written again",
                             message.message_id, sent[message.message_id])
                return self._result(sent[message.message_id], message, repeated=True)
            moment = self._now()
            batch = self._batch_of(moment.astimezone(UTC).date())
            files, row = self._letter(message, moment)
            try:
                batch.add(row, files)
            except BaseException:
                # What is on disk is consistent; what this process remembers may not be.
                self._forget_state()
                raise
            sent[message.message_id] = batch.batch_id
        logger.info("letter %s added to print batch %s", message.message_id, batch.batch_id)
        return self._result(batch.batch_id, message, repeated=False)

    def recover(self) -> list[str]:
        """Open every batch under the mail folder now (rather than on the first send),
        repairing any manifest a crash left one letter behind; returns the repaired ids."""
        with self._lock, self._writing():
            self._forget_state()
            return self._read_batches()

    # Letters

    def _letter(self, message: OutboundMessage,
                moment: datetime) -> tuple[dict[str, bytes], list[str]]:
        address = message.postal_address()
        # In UTC, like the batch's day: the same instant gives the same files whatever
        # zone the clock reports it in.
        moment = moment.astimezone(UTC)
        letter = Letter(message_id=message.message_id, brand_name=self.brand_name,
                        sender_address=self.sender_postal_address,
                        recipient_lines=address_lines(address), day=moment.date(),
                        body_html=message.html or "")
        try:
            pdf = letter_pdf(letter, moment, font_path=self.font_path)
        except FPDFException as exc:
            raise PermanentRejection(f"letter {message.message_id} cannot be set as a PDF: "
                                     f"{type(exc).__name__}") from None
        pdf_name, html_name = f"{message.message_id}.pdf", f"{message.message_id}.html"
        row = [message.message_id,
               *(_spreadsheet_safe(address.get(field) or "") for field in POSTAL_ADDRESS_FIELDS),
               pdf_name, html_name]
        return {html_name: letter_html(letter).encode("utf-8"), pdf_name: pdf}, row

    # Batches on disk

    def _sent_messages(self) -> dict[str, str]:
        if self._sent is None:
            self._read_batches()
        assert self._sent is not None
        return self._sent

    def _read_batches(self) -> list[str]:
        sent: dict[str, str] = {}
        repaired = []
        folders = sorted(self.mail_dir.glob("batch-*")) if self.mail_dir.is_dir() else []
        for folder in (path for path in folders if path.is_dir()):
            batch = BatchFolder(folder)
            if batch.repaired:
                logger.warning("print batch %s: manifest rebuilt after an interrupted "
                               "write", batch.batch_id)
                repaired.append(batch.batch_id)
            sent.update(dict.fromkeys(batch.message_ids, batch.batch_id))
        self._sent = sent
        return repaired

    def _batch_of(self, day: date) -> BatchFolder:
        batch_id = batch_id_for(day, self.sender_postal_address)
        if self._open_batch is None or self._open_batch.batch_id != batch_id:
            self._open_batch = BatchFolder(self.mail_dir / batch_id)
        return self._open_batch

    def _forget_state(self) -> None:
        self._sent = None
        self._open_batch = None

    # Plumbing

    def _now(self) -> datetime:
        moment = self._clock()
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ChannelConfigurationError("the print-batch clock must give times with a "
                                            "zone")
        return moment

    @staticmethod
    def _result(batch_id: str, message: OutboundMessage, *, repeated: bool) -> SendResult:
        return SendResult(provider_id=f"print-batch:{batch_id}:{message.message_id}",
                          repeated=repeated)

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """File-system errors as the dry-run outbox maps them: a folder we may not write
        to is configuration; anything else (disk full, I/O error) may clear up."""
        try:
            yield
        except (PermissionError, FileExistsError, NotADirectoryError,
                IsADirectoryError) as exc:
            raise ChannelConfigurationError(f"cannot write the print batch: {exc}") from exc
        except OSError as exc:
            raise TransientFailure(f"cannot write the print batch: {exc}") from exc


def _spreadsheet_safe(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_STARTS) else value
