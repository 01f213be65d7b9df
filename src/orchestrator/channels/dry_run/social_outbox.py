"""Dry-run public social: one JSON object a line in ``OUTBOX/social.jsonl``: id, text,
in_reply_to, at. Nothing else is written: a public post carries no contact data."""

from __future__ import annotations

from pathlib import Path

from orchestrator.channels.capabilities import SocialCapabilities
from orchestrator.channels.dry_run.base import Clock, OutboxChannel
from orchestrator.channels.dry_run.jsonl import jsonl_log, jsonl_record
from orchestrator.channels.message import OutboundMessage, SendResult

__all__ = ["DryRunSocialChannel"]


class DryRunSocialChannel(SocialCapabilities, OutboxChannel):
    def __init__(self, outbox_dir: str | Path, *, clock: Clock | None = None):
        super().__init__(outbox_dir, clock=clock)
        self.log = jsonl_log(self.outbox_dir / "social.jsonl")

    def send(self, message: OutboundMessage) -> SendResult:
        self.check_message(message)
        reply_to = message.in_reply_to.as_dict() if message.in_reply_to else None
        # Built field by field from public parts only; never from the whole message.
        record = {"id": message.message_id, "text": message.text, "in_reply_to": reply_to,
                  "at": self.now().isoformat()}
        with self.writing():
            written = self.log.append_once(message.message_id, jsonl_record(record))
        return self.result(message, written=written)
