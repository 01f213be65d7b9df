"""Dry-run email: ``OUTBOX/email/MESSAGE_ID.eml``, the RFC 5322 message SMTP would send."""

from __future__ import annotations

from pathlib import Path

from orchestrator.channels.capabilities import EmailCapabilities
from orchestrator.channels.dry_run.base import Clock, OutboxChannel
from orchestrator.channels.dry_run.files import write_atomically
from orchestrator.channels.email_message import EmailSender, wire_email
from orchestrator.channels.message import OutboundMessage, SendResult

__all__ = ["DEFAULT_EMAIL_FROM", "DryRunEmailChannel"]

# RFC 2606 reserves .example: a dry run can never mail a real domain by accident.
DEFAULT_EMAIL_FROM = "The shop <hello@shop.example>"


class DryRunEmailChannel(EmailCapabilities, OutboxChannel):
    def __init__(self, outbox_dir: str | Path, *, sender: str = DEFAULT_EMAIL_FROM,
                 clock: Clock | None = None):
        super().__init__(outbox_dir, clock=clock)
        self.sender = EmailSender(sender)
        self.folder = self.outbox_dir / "email"

    def path_for(self, message_id: str) -> Path:
        return self.folder / f"{message_id}.eml"

    def send(self, message: OutboundMessage) -> SendResult:
        self.check_message(message)
        path = self.path_for(message.message_id)
        # The file is written whole or not at all, so its existence means "sent".
        if path.exists():
            return self.result(message, written=False)
        data = wire_email(message, self.sender, self.now())
        with self.writing():
            write_atomically(path, data)
        return self.result(message, written=True)
