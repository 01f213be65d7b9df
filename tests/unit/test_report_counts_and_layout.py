"""The report's pure parts: the counts folded from the engine's facts and the message
rows (audit/report_data.py), the layered layout (report/layout.py), the chart scale."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from orchestrator.audit.report_data import FlowCounter, Window, count_messages
from orchestrator.domain import journey_events as je
from orchestrator.report.charts import nice_ceiling
from orchestrator.report.layout import Box, layered

START = datetime(2026, 3, 1, tzinfo=UTC)


def _at(hours: float) -> str:
    return (START + timedelta(hours=hours)).isoformat()


def _fact(cls, **fields):
    return cls(originator_id=uuid4(), originator_version=1, timestamp=START, **fields)


def _enrolled(enrolment: str, hours: float, journey: str = "j"):
    return _fact(je.ContactEnrolled, enrolment=enrolment, journey=journey, version=1,
                 contact=enrolment, trigger="t", trigger_type="purchase.recorded",
                 at=_at(hours))


def _entered(enrolment: str, step: str, hours: float):
    return _fact(je.StepEntered, enrolment=enrolment, step=step, kind="send", at=_at(hours),
                 due=None, waiting_for=None, goto=None)


def _ended(enrolment: str, reason: str, hours: float):
    return _fact(je.EnrolmentEnded, enrolment=enrolment, reason=reason, at=_at(hours))


def _loop_story():
    """e1 goes a, wait, a, wait, b (round the loop once) and completes; e2 enters a, then
    exits; e3 is another journey's."""
    return [_enrolled("e1", 0), _entered("e1", "a", 0), _entered("e1", "wait", 1),
            _enrolled("e2", 2), _entered("e2", "a", 2), _entered("e1", "a", 25),
            _entered("e1", "wait", 26), _ended("e2", "exit:consent.withdrawn", 30),
            _enrolled("e3", 30, "other"), _entered("e3", "a", 30),
            _entered("e1", "b", 50), _ended("e1", "completed", 50)]


def test_moves_count_every_pass_and_entered_counts_enrolments_once():
    counter = FlowCounter()
    for fact in _loop_story():
        counter.add(fact)
    flow = counter.flows()[("j", 1)]

    assert flow.enrolled == 2
    assert dict(flow.moves) == {(None, "a"): 2, ("a", "wait"): 2, ("wait", "a"): 1,
                                ("wait", "b"): 1}
    assert dict(flow.entered) == {"a": 2, "wait": 1, "b": 1}
    assert dict(flow.endings) == {("a", "exit:consent.withdrawn"): 1, ("b", "completed"): 1}
    assert flow.in_progress == {}  # nobody still in the journey
    assert counter.flows()[("other", 1)].in_progress == {"a": 1}


def test_a_window_counts_what_happened_inside_it_following_earlier_enrolments():
    counter = FlowCounter(Window(START + timedelta(hours=24), START + timedelta(hours=40)),
                          journey="j")
    for fact in _loop_story():
        counter.add(fact)
    flows = counter.flows()

    assert set(flows) == {("j", 1)}
    flow = flows[("j", 1)]
    assert flow.enrolled == 0
    assert dict(flow.moves) == {("wait", "a"): 1, ("a", "wait"): 1}
    assert dict(flow.entered) == {"a": 1, "wait": 1}  # e1, again, inside the window
    assert dict(flow.endings) == {("a", "exit:consent.withdrawn"): 1}
    assert flow.in_progress is None  # where enrolments stood at the window's end: unknown


def _row(at: str, status: str = "sent", channel: str | None = "email",
         reason: str | None = None) -> dict:
    return {"journey": "j", "version": 1, "step": "a", "status": status, "channel": channel,
            "reason": reason, "at": at}


def test_messages_are_bucketed_by_day_week_or_month_with_the_empty_periods():
    days = count_messages([_row("2026-03-01T23:30:00-02:00"), _row("2026-03-04T00:00:00Z",
                           "suppressed", None, "relationship.requires_marketing_consent: no")])
    weeks = count_messages([_row("2026-01-05T10:00:00Z"), _row("2026-05-01T10:00:00Z")])
    months = count_messages([_row("2024-01-31T10:00:00Z"), _row("2026-05-01T10:00:00Z")])

    assert days.period == "day"
    assert days.buckets == ["2026-03-02", "2026-03-03", "2026-03-04"]  # UTC days
    assert days.over_time["status"] == {"sent": [1, 0, 0], "suppressed": [0, 0, 1]}
    assert days.over_time["channel"] == {"email": [1, 0, 0], "none": [0, 0, 1]}
    assert [(r.rule, r.count) for r in days.reasons] == [
        ("relationship.requires_marketing_consent", 1)]
    assert days.reasons[0].words == "no consent to marketing on a private channel"
    assert weeks.period == "week" and weeks.buckets[0] == "2026-01-05"
    assert len(weeks.buckets) == 17 and sum(weeks.over_time["status"]["sent"]) == 2
    assert months.period == "month" and months.buckets[0] == "2024-01"
    assert months.buckets[-1] == "2026-05" and len(months.buckets) == 29
    assert count_messages([]).buckets == []


def test_the_chart_scale_has_four_whole_ticks():
    assert [nice_ceiling(n) for n in (0, 1, 5, 9, 13, 21, 41, 1_999)] == [
        4, 4, 8, 12, 20, 40, 80, 2_000]


def _boxes(*ids: str) -> list[Box]:
    return [Box(i, 100, 40) for i in ids]


def test_layers_go_down_loops_go_back_up_and_nothing_overlaps():
    edges = [("t", "a"), ("a", "b"), ("a", "c"), ("b", "d"), ("c", "d"), ("d", "a"),
             ("a", "d")]
    layout = layered(_boxes("t", "a", "b", "c", "d", "goal"), edges)
    nodes = layout.nodes

    assert nodes["t"].y < nodes["a"].y < nodes["b"].y == nodes["c"].y < nodes["d"].y
    assert nodes["goal"].y > nodes["d"].y  # reached from nowhere: below the rest
    left, right = sorted((nodes["b"], nodes["c"]), key=lambda p: p.x)
    assert left.x + left.width < right.x
    routes = {(r.source, r.target): r for r in layout.routes}
    assert set(routes) == set(edges)
    assert [pair for pair, r in routes.items() if r.back] == [("d", "a")]
    assert routes[("a", "d")].path.count("C") == 2  # through one point on b's layer
    assert all(p.x >= 0 and p.x + p.width <= layout.width for p in nodes.values())
    assert layout == layered(_boxes("t", "a", "b", "c", "d", "goal"), edges)
