"""A fact about to be recorded: which stream, which event, what it says. The store numbers
it (``WriteUnit.append_facts``): versions per stream are assigned in one place only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID


@dataclass(frozen=True)
class NewFact:
    stream: UUID
    event_class: type
    fields: dict[str, Any]
