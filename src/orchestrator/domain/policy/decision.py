"""What the policy answers: a status, the channel, the rule that fired, a sentence an
auditor can read, and the facts the rule used.

A ``Decision`` is meant to become a recorded event as it is (``as_payload``), so every
value in it is a primitive: ``facts`` holds str, int, float, bool or None, datetimes as
ISO-8601 strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from orchestrator.domain.policy.errors import PolicyInputError
from orchestrator.domain.policy.facts import require_aware
from orchestrator.domain.policy.vocabulary import ALL_CHANNELS, POLICY_STATUSES, Status

Primitive = str | int | float | bool | None
PRIMITIVE_TYPES = (str, int, float, bool, type(None))


@dataclass(frozen=True, kw_only=True)
class Decision:
    """The policy's answer for one message.

    - ``scheduled``: send now on ``channel``.
    - ``deferred``: send on ``channel`` no earlier than ``not_before`` (UTC); the policy
      is asked again then, so a suppression or withdrawal in between still wins.
    - ``suppressed``: never send; ``channel`` is ``None`` because nothing goes anywhere.
    - ``held_for_review``: a person must look first; ``channel`` is the channel it would
      use when one is already known (a public reply), else ``None``.
    """

    status: str
    channel: str | None
    rule: str
    reason: str
    facts: Mapping[str, Primitive] = field(default_factory=dict)
    not_before: datetime | None = None

    def __post_init__(self) -> None:
        if self.status not in POLICY_STATUSES:
            raise PolicyInputError(f"the policy cannot decide status {self.status!r}")
        if self.channel is not None and self.channel not in ALL_CHANNELS:
            raise PolicyInputError(f"unknown channel {self.channel!r}")
        if self.status == Status.SUPPRESSED and self.channel is not None:
            raise PolicyInputError("a suppressed message has no channel")
        if self.status in (Status.SCHEDULED, Status.DEFERRED) and self.channel is None:
            raise PolicyInputError(f"a {self.status} message needs a channel")
        if (self.status == Status.DEFERRED) != (self.not_before is not None):
            raise PolicyInputError("not_before is set exactly when the status is deferred")
        if self.not_before is not None:
            require_aware(self.not_before, "Decision.not_before")
            object.__setattr__(self, "not_before", self.not_before.astimezone(UTC))
        for key, value in self.facts.items():
            if not isinstance(key, str) or not isinstance(value, PRIMITIVE_TYPES):
                raise PolicyInputError(f"decision fact {key!r} is not a primitive: {value!r}")
        object.__setattr__(self, "facts", MappingProxyType(dict(self.facts)))

    def as_payload(self) -> dict[str, Any]:
        """The decision as an event payload of primitives."""
        return {
            "status": self.status,
            "channel": self.channel,
            "rule": self.rule,
            "reason": self.reason,
            "facts": dict(self.facts),
            "not_before": self.not_before.isoformat() if self.not_before else None,
        }
