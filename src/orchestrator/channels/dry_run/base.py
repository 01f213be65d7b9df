"""What every dry-run adapter shares: the outbox folder, the clock, provider ids, and
turning file-system errors into channel errors."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from orchestrator.channels.errors import ChannelConfigurationError, TransientFailure
from orchestrator.channels.message import OutboundMessage, SendResult

__all__ = ["Clock", "OutboxChannel", "utc_now"]

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class OutboxChannel:
    """Writes messages under ``outbox_dir`` instead of sending them. ``clock`` stamps
    them; pass the engine's (simulated) clock so the outbox shows simulated times."""

    provider: ClassVar[str] = "dry-run"
    name: ClassVar[str]

    def __init__(self, outbox_dir: str | Path, *, clock: Clock | None = None):
        self.outbox_dir = Path(outbox_dir)
        if self.outbox_dir.exists() and not self.outbox_dir.is_dir():
            raise ChannelConfigurationError(
                f"outbox {self.outbox_dir} exists and is not a folder (--outbox)")
        self._clock = clock or utc_now

    def now(self) -> datetime:
        moment = self._clock()
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ChannelConfigurationError("the dry-run clock must give times with a zone")
        return moment

    def result(self, message: OutboundMessage, *, written: bool) -> SendResult:
        """The result of a send; the provider id is stable, so a repeat returns the same."""
        provider_id = f"dry-run:{self.name}:{message.message_id}"
        if written:
            logger.info("dry-run %s message %s written to the outbox", self.name,
                        message.message_id)
        else:
            logger.debug("dry-run %s message %s already in the outbox; not written again",
                         self.name, message.message_id)
        return SendResult(provider_id=provider_id, repeated=not written)

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Translate file-system errors: a folder we may not write to is configuration;
        anything else (disk full, I/O error) may clear up, so it is worth a retry."""
        try:
            yield
        except (PermissionError, FileExistsError, NotADirectoryError, IsADirectoryError) as exc:
            raise ChannelConfigurationError(f"cannot write the outbox: {exc}") from exc
        except OSError as exc:
            raise TransientFailure(f"cannot write the outbox: {exc}") from exc
