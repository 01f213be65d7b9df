"""Erasure in a dry-run outbox: the files and lines that hold a forgotten contact's
messages (email ``.eml`` files, SMS lines, letters and their batch rows) are removed.
Public posts (``social.jsonl``) carry no contact data and stay."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from pathlib import Path

from orchestrator.channels.dry_run.jsonl import jsonl_log
from orchestrator.channels.dry_run.mail_outbox import BATCH_FILE, DryRunMailChannel

__all__ = ["forget_messages"]


def forget_messages(outbox_dir: str | Path, message_ids: Iterable[str]) -> int:
    """Remove every trace of these messages from the outbox; returns how many files and
    lines went."""
    outbox = Path(outbox_dir)
    ids = set(message_ids)
    removed = 0
    for message in sorted(ids):
        for path in (outbox / "email" / f"{message}.eml", outbox / "mail" / f"{message}.html"):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += 1
    removed += jsonl_log(outbox / "sms.jsonl").remove(ids)
    removed += DryRunMailChannel(outbox).batch.remove(ids) if (
        outbox / "mail" / BATCH_FILE).exists() else 0
    return removed
