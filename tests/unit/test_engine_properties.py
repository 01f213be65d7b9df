"""Property tests of the journey engine: random valid journeys over random histories."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.campaigns.language.validation import parse_journey
from orchestrator.campaigns.runtime.engine import JourneyEngine
from orchestrator.campaigns.runtime.history import ContactHistory
from orchestrator.campaigns.runtime.runner import event_fields
from orchestrator.campaigns.runtime.versions import PublishedVersion
from orchestrator.domain import events as ev
from orchestrator.domain import journey_events as je
from orchestrator.domain.stages import StageThresholds
from orchestrator.rendering.catalog import TemplateCatalog

T0 = datetime(2026, 1, 1, tzinfo=UTC)
TEMPLATES = Path(__file__).parent / "engine_templates"


@st.composite
def journeys(draw, name: str) -> str:
    """A valid journey: branches jump forward only (no loop), every step reachable."""
    count = draw(st.integers(min_value=1, max_value=6))
    kinds = draw(st.lists(st.sampled_from(["send", "wait", "wait_until", "branch"]),
                          min_size=count, max_size=count))
    lines = [f"journey: {name}",
             f"trigger: {{on: {draw(st.sampled_from(['purchase.recorded', 'consent.granted']))}}}"]
    reentry = draw(st.sampled_from([None, "1d", "10d"]))
    if reentry:
        lines.append(f"reentry: {reentry}")
    if draw(st.booleans()):
        lines.append("goal: {on: consent.withdrawn, within: 20d}")
    if draw(st.booleans()):
        lines.append("exit_on: [message.unsubscribed]")
    lines.append("steps:")
    for index, kind in enumerate(kinds):
        lines.append(f"  - id: s{index}")
        if kind == "send" or (index == count - 1 and kind == "branch"):
            lines.append("    send: {intent: relationship, template: thanks}")
        elif kind == "wait":
            lines.append(f"    wait: {draw(st.integers(min_value=1, max_value=5))}d")
        elif kind == "wait_until":
            on = draw(st.sampled_from(["purchase.recorded", "consent.granted"]))
            lines.append(f"    wait_until: {{on: {on}, timeout: "
                         f"{draw(st.integers(min_value=1, max_value=4))}d}}")
        else:
            target = draw(st.integers(min_value=index + 1, max_value=count - 1))
            threshold = draw(st.integers(min_value=0, max_value=3))
            lines += ["    branch:",
                      f"      - if: \"contact.purchases_within('30d') >= {threshold}\"",
                      f"        goto: s{target}",
                      f"      - else: s{index + 1}"]
    return "\n".join(lines) + "\n"


touchpoint_kinds = st.sampled_from(["purchase", "grant", "withdraw"])
histories = st.lists(st.tuples(st.integers(min_value=0, max_value=2),
                               st.integers(min_value=0, max_value=40 * 24), touchpoint_kinds),
                     max_size=25)


def _touchpoint(n: int, contact: int, hours: int, kind: str) -> ev.TouchpointRecorded:
    common = {"originator_id": uuid.uuid4(), "originator_version": 1, "timestamp": T0,
              "touchpoint_id": f"t{n}", "at": (T0 + timedelta(hours=hours)).isoformat(),
              "contact": f"C{contact}"}
    if kind == "purchase":
        return ev.PurchaseRecorded(amount="5", currency="EUR", sku=None, **common)
    cls = ev.ConsentGranted if kind == "grant" else ev.ConsentWithdrawn
    return cls(channel="email", purpose="marketing", source="test", evidence=None, **common)


TYPE_OF = {ev.PurchaseRecorded: "purchase.recorded", ev.ConsentGranted: "consent.granted",
           ev.ConsentWithdrawn: "consent.withdrawn"}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=journeys("first"), second=journeys("second"), history=histories)
def test_the_engine_never_crashes_never_sends_twice_and_every_enrolment_ends_or_waits(
        first, second, history):
    catalog = TemplateCatalog(TEMPLATES)
    versions = [PublishedVersion(parse_journey(text.encode(), f"{name}.yaml", catalog), 1,
                                 name, "test", T0.isoformat(), f"{name}.yaml")
                for name, text in (("first", first), ("second", second))]
    known = ContactHistory(StageThresholds())
    engine = JourneyEngine(versions, known.view)
    touchpoints = sorted((_touchpoint(n, *item) for n, item in enumerate(history)),
                         key=lambda t: (t.at, t.touchpoint_id))
    for touchpoint in touchpoints:
        known.observe(touchpoint)
        moment = datetime.fromisoformat(touchpoint.at)
        kind = TYPE_OF[type(touchpoint)]
        engine.on_touchpoint(kind, touchpoint.touchpoint_id, touchpoint.contact,
                             event_fields(touchpoint, kind), moment)
    end = T0 + timedelta(days=60)
    engine.advance_to(end)
    emitted = engine.drain()

    messages = [e.fields for e in emitted if e.event_class is je.MessageScheduled]
    assert len({m["message"] for m in messages}) == len(messages)
    per_step = Counter((m["enrolment"], m["step"]) for m in messages)
    assert all(count == 1 for count in per_step.values())  # no loops: one send per step
    enrolled = {e.fields["enrolment"] for e in emitted if e.event_class is je.ContactEnrolled}
    ended = {e.fields["enrolment"] for e in emitted if e.event_class is je.EnrolmentEnded}
    for enrolment in enrolled - ended:
        waiting = engine.enrolments[enrolment]
        assert waiting.due is not None and waiting.due > end  # only waits not yet due remain
    assert not any(e.fields.get("reason", "").startswith("failed") for e in emitted
                   if e.event_class is je.EnrolmentEnded)

    restored = JourneyEngine(versions, known.view)
    for item in emitted:
        restored.restore(item.event_class(originator_id=item.stream, originator_version=1,
                                          timestamp=T0, **item.fields))
    assert {k: (v.step, v.due) for k, v in restored.enrolments.items()} == {
        k: (v.step, v.due) for k, v in engine.enrolments.items()}


def test_last_purchase_days_ignores_purchases_after_the_moment():
    from orchestrator.campaigns.runtime.history import ContactView
    from orchestrator.domain.contact import fold
    later = _touchpoint(1, 0, 48, "purchase")
    state = fold("C0", [later])

    assert ContactView(state, T0, StageThresholds()).last_purchase_days is None
    assert ContactView(state, T0 + timedelta(days=5), StageThresholds()).last_purchase_days == 3
