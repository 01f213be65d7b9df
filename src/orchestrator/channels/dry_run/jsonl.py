"""JSON Lines records keyed by their ``id`` field, for the sms and social outboxes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from orchestrator.channels.dry_run.files import AppendOnceLog

__all__ = ["jsonl_log", "jsonl_record"]


def jsonl_log(path: Path) -> AppendOnceLog:
    return AppendOnceLog(path, key_of=_record_id)


def jsonl_record(record: dict[str, Any]) -> str:
    # ASCII only: a raw U+2028 in a name would split the line for readers that use
    # str.splitlines(), breaking "one JSON object a line".
    return json.dumps(record, ensure_ascii=True)


def _record_id(line: str) -> str | None:
    record = json.loads(line)
    if isinstance(record, dict) and isinstance(record.get("id"), str):
        return record["id"]
    return None
