"""Relationship stages and the contact fold."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.domain import events as ev
from orchestrator.domain.contact import fold
from orchestrator.domain.stages import StageThresholds, relationship_stage

DEFAULT = StageThresholds()
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(("kind", "purchases", "stage"), [
    ("customer", 0, "prospect"), ("customer", 1, "light_buyer"), ("customer", 2, "light_buyer"),
    ("customer", 3, "regular_buyer"), ("prospect", 5, "regular_buyer"),
    ("press", 9, "press"), ("competitor", 0, "competitor"), ("employee", 4, "employee"),
    ("unknown", 0, "unknown"), ("unknown", 1, "light_buyer"),
])
def test_stage_by_kind_and_purchases(kind, purchases, stage):
    assert relationship_stage(kind, purchases, DEFAULT) == stage


@given(st.integers(min_value=0, max_value=1000), st.integers(min_value=1, max_value=50),
       st.integers(min_value=1, max_value=50))
def test_stage_never_goes_down_as_purchases_go_up(count, light, extra):
    thresholds = StageThresholds(light_from=light, regular_from=light + extra)
    ladder = ["prospect", "light_buyer", "regular_buyer"]

    now = relationship_stage("customer", count, thresholds)
    more = relationship_stage("customer", count + 1, thresholds)

    assert ladder.index(more) >= ladder.index(now)


@pytest.mark.parametrize(("text", "expected"), [
    ("", StageThresholds()),
    ("regular=5", StageThresholds(regular_from=5)),
    ("light=2, regular=4, window=90d", StageThresholds(2, 4, timedelta(days=90))),
])
def test_thresholds_parse(text, expected):
    assert StageThresholds.parse(text) == expected


@pytest.mark.parametrize("text", ["regular=1", "light=x", "window=3w", "colour=blue"])
def test_bad_thresholds_are_refused_with_the_reason(text):
    with pytest.raises(ValueError):
        StageThresholds.parse(text)


def _purchase(at: datetime, version: int) -> ev.PurchaseRecorded:
    return ev.PurchaseRecorded(originator_id=uuid.UUID(int=1), originator_version=version,
                               timestamp=T0, touchpoint_id=f"p{version}", at=at.isoformat(),
                               contact="C1", amount="1", currency="EUR", sku=None)


@given(st.lists(st.integers(min_value=0, max_value=800), max_size=20),
       st.integers(min_value=0, max_value=800), st.randoms())
def test_fold_is_independent_of_recording_order(days, as_of_day, rng):
    facts = [_purchase(T0 + timedelta(days=d), i + 1) for i, d in enumerate(days)]
    shuffled = list(facts)
    rng.shuffle(shuffled)
    as_of = T0 + timedelta(days=as_of_day)

    a, b = fold("C1", facts, as_of), fold("C1", shuffled, as_of)

    assert a.stage(as_of, DEFAULT) == b.stage(as_of, DEFAULT)
    assert a.purchases_within(DEFAULT.window, as_of) == sum(
        1 for d in days if as_of_day - 365 < d <= as_of_day)
