"""Restoring the journey engine from its own facts: a run split at any moment (rebuilt
from the recorded facts, as ``run --until`` does on each call) records exactly what one
run straight through records, including how waits ended and the branches after them."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unit.test_engine_properties import (
    T0,
    TEMPLATES,
    TYPE_OF,
    _touchpoint,
    histories,
    journeys,
)

from orchestrator.campaigns.language.validation import parse_journey
from orchestrator.campaigns.runtime.engine import JourneyEngine
from orchestrator.campaigns.runtime.history import ContactHistory
from orchestrator.campaigns.runtime.runner import event_fields
from orchestrator.campaigns.runtime.versions import PublishedVersion
from orchestrator.domain.stages import StageThresholds
from orchestrator.rendering.catalog import TemplateCatalog

ON_OUTCOME = """
journey: outcome
trigger: {on: consent.granted}
reentry: 1d
steps:
  - id: hello
    send: {intent: relationship, template: thanks}
  - id: listen
    wait_until: {on: purchase.recorded, timeout: 2d}
  - id: pause
    wait: 1d
  - id: how
    branch:
      - if: "wait.outcome == 'event' and wait.event.type == 'purchase.recorded'"
        goto: bought
      - else: nudge
  - id: nudge
    send: {intent: relationship, template: thanks}
  - id: bought
    end: true
"""


def _versions(*texts: tuple[str, str]) -> list[PublishedVersion]:
    catalog = TemplateCatalog(TEMPLATES)
    return [PublishedVersion(parse_journey(text.encode(), f"{name}.yaml", catalog), 1, name,
                             "test", T0.isoformat(), f"{name}.yaml") for name, text in texts]


def _run(versions, touchpoints, splits) -> list[tuple]:
    """Feed the touchpoints, rebuilding the engine from the recorded facts at each split
    moment; every fact recorded, in order."""
    known = ContactHistory(StageThresholds())
    recorded: list = []
    engine = JourneyEngine(versions, known.view)
    pending = list(touchpoints)
    for stop in [*sorted(splits), T0 + timedelta(days=60)]:
        while pending and pending[0][0] <= stop:
            moment, touchpoint = pending.pop(0)
            known.observe(touchpoint)
            kind = TYPE_OF[type(touchpoint)]
            engine.on_touchpoint(kind, touchpoint.touchpoint_id, touchpoint.contact,
                                 event_fields(touchpoint, kind), moment)
        engine.advance_to(stop)
        recorded += engine.drain()
        engine = JourneyEngine(versions, known.view)
        for item in recorded:
            engine.restore(item.event_class(originator_id=item.stream, originator_version=1,
                                            timestamp=T0, **item.fields))
    return [(item.stream, item.event_class.__name__, item.fields) for item in recorded]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(other=journeys("other"), history=histories,
       splits=st.lists(st.integers(min_value=0, max_value=40 * 24), max_size=4))
def test_a_run_split_anywhere_records_what_one_run_records(other, history, splits):
    versions = _versions(("outcome", ON_OUTCOME), ("other", other))
    touchpoints = sorted(((datetime.fromisoformat(t.at), t) for t in
                          (_touchpoint(n, *item) for n, item in enumerate(history))),
                         key=lambda p: (p[0], p[1].touchpoint_id))
    moments = [T0 + timedelta(hours=h, minutes=30) for h in splits]

    assert _run(versions, touchpoints, moments) == _run(versions, touchpoints, [])


def test_a_purchase_during_the_wait_skips_the_nudge_and_a_timeout_does_not():
    versions = _versions(("outcome", ON_OUTCOME))
    grant_a, grant_b = _touchpoint(1, 0, 0, "grant"), _touchpoint(2, 1, 0, "grant")
    bought = _touchpoint(3, 0, 5, "purchase")
    touchpoints = [(datetime.fromisoformat(t.at), t) for t in (grant_a, grant_b, bought)]

    facts = _run(versions, touchpoints, [T0 + timedelta(hours=6)])

    ended = [f for _, name, f in facts if name == "WaitEnded"]
    assert sorted((f["outcome"], f["touchpoint"]) for f in ended) == [
        ("event", "t3"), ("timeout", None)]
    sends = [f["contact"] for _, name, f in facts if name == "MessageScheduled"
             and f["step"] == "nudge"]
    assert sends == ["C1"]
