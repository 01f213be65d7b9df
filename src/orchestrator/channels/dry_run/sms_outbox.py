"""Dry-run SMS: one JSON object a line in ``OUTBOX/sms.jsonl``: id, to, body, at."""

from __future__ import annotations

from pathlib import Path

from orchestrator.channels.capabilities import SmsCapabilities
from orchestrator.channels.dry_run.base import Clock, OutboxChannel
from orchestrator.channels.dry_run.jsonl import jsonl_log, jsonl_record
from orchestrator.channels.message import OutboundMessage, SendResult

__all__ = ["DryRunSmsChannel"]


class DryRunSmsChannel(SmsCapabilities, OutboxChannel):
    def __init__(self, outbox_dir: str | Path, *, clock: Clock | None = None):
        super().__init__(outbox_dir, clock=clock)
        self.log = jsonl_log(self.outbox_dir / "sms.jsonl")

    def send(self, message: OutboundMessage) -> SendResult:
        self.check_message(message)
        record = {"id": message.message_id, "to": message.to_address, "body": message.text,
                  "at": self.now().isoformat()}
        with self.writing():
            written = self.log.append_once(message.message_id, jsonl_record(record))
        return self.result(message, written=written)
