"""The relationship stage (SPEC): what the history says a contact is to us now.

Stakeholders (partner, employee, press, regulator, competitor) keep their kind as stage:
they are never moved along a buying ladder. A social handle nobody has tied to a contact
with a verified link is ``unknown``. Everyone else is staged by purchases in a sliding
window: none is ``prospect``, a few is ``light_buyer``, more is ``regular_buyer``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from orchestrator.domain.vocabulary import STAKEHOLDER_KINDS


@dataclass(frozen=True)
class StageThresholds:
    """Defaults: light = 1-2 purchases in the last 365 days, regular = 3 or more."""

    light_from: int = 1
    regular_from: int = 3
    window: timedelta = timedelta(days=365)

    def __post_init__(self) -> None:
        if not 1 <= self.light_from < self.regular_from:
            raise ValueError("stage thresholds need 1 <= light < regular")
        if self.window <= timedelta(0):
            raise ValueError("the stage window must be positive")

    @classmethod
    def parse(cls, text: str) -> StageThresholds:
        """``light=1,regular=3,window=365d`` (any part may be left out)."""
        values: dict[str, object] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            name, _, value = part.partition("=")
            name = name.strip()
            if name in ("light", "regular") and value.strip().isdigit():
                values[f"{name}_from"] = int(value)
            elif name == "window" and re.fullmatch(r"\s*\d+d\s*", value):
                values["window"] = timedelta(days=int(value.strip()[:-1]))
            else:
                raise ValueError(f"cannot read {part!r}; expected "
                                 "light=N, regular=N or window=Nd")
        return cls(**values)  # type: ignore[arg-type]


def relationship_stage(kind: str, purchases_in_window: int, thresholds: StageThresholds) -> str:
    if kind in STAKEHOLDER_KINDS:
        return kind
    if kind == "unknown" and purchases_in_window == 0:
        return "unknown"
    if purchases_in_window >= thresholds.regular_from:
        return "regular_buyer"
    if purchases_in_window >= thresholds.light_from:
        return "light_buyer"
    return "prospect"
