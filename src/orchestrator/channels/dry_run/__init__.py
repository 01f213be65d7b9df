"""Dry-run channels: every message is written to an outbox folder instead of being sent.

The layout is part of the product contract (SPEC "Channels"):

- ``OUTBOX/email/MESSAGE_ID.eml``: the RFC 5322 message, with one-click unsubscribe;
- ``OUTBOX/sms.jsonl``: one object a line: id, to, body, at;
- ``OUTBOX/mail/batch.csv`` and ``OUTBOX/mail/MESSAGE_ID.html``: a print batch;
- ``OUTBOX/social.jsonl``: one object a line: id, text, in_reply_to, at.

Sending a message id again writes nothing: the outbox files themselves are the record.
"""

from __future__ import annotations

from pathlib import Path

from orchestrator.channels.dry_run.base import Clock
from orchestrator.channels.dry_run.email_outbox import DEFAULT_EMAIL_FROM, DryRunEmailChannel
from orchestrator.channels.dry_run.mail_outbox import DryRunMailChannel
from orchestrator.channels.dry_run.sms_outbox import DryRunSmsChannel
from orchestrator.channels.dry_run.social_outbox import DryRunSocialChannel
from orchestrator.channels.protocol import Channel

__all__ = [
    "DEFAULT_EMAIL_FROM",
    "DryRunEmailChannel",
    "DryRunMailChannel",
    "DryRunSmsChannel",
    "DryRunSocialChannel",
    "dry_run_channels",
]


def dry_run_channels(outbox_dir: str | Path, *, email_from: str = DEFAULT_EMAIL_FROM,
                     clock: Clock | None = None) -> dict[str, Channel]:
    """One dry-run adapter per channel, keyed by channel name, all writing under
    ``outbox_dir`` (created on the first write) and stamped by ``clock`` (default: the
    wall clock, UTC)."""
    return {
        "email": DryRunEmailChannel(outbox_dir, sender=email_from, clock=clock),
        "sms": DryRunSmsChannel(outbox_dir, clock=clock),
        "mail": DryRunMailChannel(outbox_dir, clock=clock),
        "social": DryRunSocialChannel(outbox_dir, clock=clock),
    }
