"""What ``orchestrator report`` counts, folded from the engine's facts and the message
rows: how many enrolments took each edge of a journey version's graph, how many entered
each step, how its waits ended and its enrolments finished, and the messages by channel,
status and rule over time.

Pure: facts and rows come in one at a time (the caller streams the log), counts go out.
Memory holds the enrolments still in progress and the counters, never the log.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from orchestrator.domain import journey_events as je
from orchestrator.domain.message_lifecycle import STATUSES
from orchestrator.domain.policy.rule_words import plain_words

# How an enrolment can finish (``EnrolmentEnded`` reasons, grouped): each is a node of
# the graph beside the steps.
END = "end"
COMPLETED = "completed"
GOAL = "goal"
FAILED = "failed"
ARCHIVED = "archived"
EXIT_PREFIX = "exit:"

# Statuses that keep a message back, and whose rule the report explains.
HELD_BACK = ("suppressed", "deferred", "held_for_review")


@dataclass(frozen=True)
class Window:
    """``--from`` / ``--to``: a fact counts when its business time ``at`` lies within
    (both ends inclusive; either may be open)."""

    start: datetime | None = None
    end: datetime | None = None

    def holds(self, at: str) -> bool:
        moment = datetime.fromisoformat(at)
        return ((self.start is None or moment >= self.start)
                and (self.end is None or moment <= self.end))


@dataclass
class VersionFlow:
    """One journey version's traffic. ``moves``: (from step, to step) -> transitions,
    from None for entering the first step; ``entered``: step -> enrolments that entered
    it at least once in the window; ``wait_outcomes``: wait_until step -> {event,
    timeout} -> n; ``endings``: (the step it stood at, ending) -> enrolments, the ending one of
    :data:`END`, :data:`COMPLETED`, :data:`GOAL`, ``exit:TYPE``, :data:`FAILED`,
    :data:`ARCHIVED`."""

    journey: str
    version: int
    enrolled: int = 0
    moves: Counter[tuple[str | None, str]] = field(default_factory=Counter)
    entered: Counter[str] = field(default_factory=Counter)
    wait_outcomes: dict[str, Counter[str]] = field(default_factory=dict)
    endings: Counter[tuple[str | None, str]] = field(default_factory=Counter)
    # Enrolments still in progress, by the step they stand at (None when the window
    # ends before now: where they stood then is not what the log's end says).
    in_progress: Counter[str] | None = None

    def ended(self) -> Counter[str]:
        """Ending -> enrolments, whatever step they stood at."""
        total: Counter[str] = Counter()
        for (_, ending), count in self.endings.items():
            total[ending] += count
        return total


def ending_of(reason: str) -> str:
    """The ending an ``EnrolmentEnded`` reason belongs to (``failed:WHY`` -> failed)."""
    if reason.startswith(EXIT_PREFIX) or reason in (END, COMPLETED, GOAL, ARCHIVED):
        return reason
    return FAILED


@dataclass
class _InProgress:
    key: tuple[str, int]
    step: str | None = None
    entered: set[str] = field(default_factory=set)  # the steps it entered in the window


class FlowCounter:
    """Feed it the engine's facts in log order (``ContactEnrolled``, ``StepEntered``,
    ``WaitEnded``, ``EnrolmentEnded``; others are ignored). Every fact moves the
    enrolment on; only facts inside ``window`` are counted, so an enrolment that started
    before the window still shows where it went within it."""

    FACTS = (je.ContactEnrolled, je.StepEntered, je.WaitEnded, je.EnrolmentEnded)

    def __init__(self, window: Window = Window(), journey: str | None = None):
        self._window = window
        self._journey = journey
        self._active: dict[str, _InProgress] = {}
        self._flows: dict[tuple[str, int], VersionFlow] = {}

    def add(self, fact: Any) -> None:
        if isinstance(fact, je.ContactEnrolled):
            if self._journey is not None and fact.journey != self._journey:
                return
            key = (fact.journey, fact.version)
            self._active[fact.enrolment] = _InProgress(key)
            if self._window.holds(fact.at):
                self._flow(key).enrolled += 1
            return
        progress = self._active.get(getattr(fact, "enrolment", ""))
        if progress is None:
            return
        counted = self._window.holds(fact.at)
        flow = self._flow(progress.key)
        if isinstance(fact, je.StepEntered):
            if counted:
                flow.moves[(progress.step, fact.step)] += 1
                if fact.step not in progress.entered:
                    flow.entered[fact.step] += 1
                    progress.entered.add(fact.step)
            progress.step = fact.step
        elif isinstance(fact, je.WaitEnded):
            if counted:
                flow.wait_outcomes.setdefault(fact.step, Counter())[fact.outcome] += 1
        elif isinstance(fact, je.EnrolmentEnded):
            del self._active[fact.enrolment]
            if counted:
                flow.endings[(progress.step, ending_of(fact.reason))] += 1

    def flows(self) -> dict[tuple[str, int], VersionFlow]:
        """The counts so far; with a window open at its end, also where each enrolment
        still in progress stands."""
        if self._window.end is None:
            for flow in self._flows.values():
                flow.in_progress = Counter()
            for progress in self._active.values():
                flow = self._flow(progress.key)
                if flow.in_progress is None:
                    flow.in_progress = Counter()
                if progress.step is not None:
                    flow.in_progress[progress.step] += 1
        return dict(self._flows)

    def _flow(self, key: tuple[str, int]) -> VersionFlow:
        if key not in self._flows:
            self._flows[key] = VersionFlow(*key)
        return self._flows[key]


@dataclass(frozen=True)
class ReasonCount:
    status: str
    rule: str
    words: str
    count: int


@dataclass(frozen=True)
class MessageCounts:
    """Messages (the ``messages`` read model's rows) in the report's selection.
    ``buckets`` label the periods of the series (days, weeks or months, whichever keeps
    the chart readable); ``over_time[dimension][value]`` has one count per bucket."""

    total: int
    by_status: dict[str, int]
    by_channel: dict[str, int]
    by_step: dict[tuple[str, int, str], dict[str, int]]
    period: str
    buckets: list[str]
    over_time: dict[str, dict[str, list[int]]]
    reasons: list[ReasonCount]


NO_CHANNEL = "none"
MAX_BARS = 62


def selected_messages(rows: Iterable[dict[str, Any]], window: Window,
                      journey: str | None = None) -> list[dict[str, Any]]:
    """The rows the report covers: of ``journey`` (all when None), ``at`` in ``window``."""
    return [row for row in rows if (journey is None or row["journey"] == journey)
            and window.holds(row["at"])]


def count_messages(rows: list[dict[str, Any]]) -> MessageCounts:
    by_status: Counter[str] = Counter()
    by_channel: Counter[str] = Counter()
    by_step: dict[tuple[str, int, str], Counter[str]] = {}
    reasons: Counter[tuple[str, str]] = Counter()
    days: list[date] = []
    for row in rows:
        status, channel = row["status"], row["channel"] or NO_CHANNEL
        by_status[status] += 1
        by_channel[channel] += 1
        by_step.setdefault((row["journey"], row["version"], row["step"]), Counter())[
            status] += 1
        if status in HELD_BACK:
            reasons[(status, rule_of(row["reason"]))] += 1
        days.append(_utc_day(row["at"]))
    period, label = _period(days)
    buckets = _buckets(days, period)
    index = {bucket: position for position, bucket in enumerate(buckets)}
    over_time: dict[str, dict[str, list[int]]] = {"status": {}, "channel": {}}
    for row, day in zip(rows, days, strict=True):
        position = index[label(day)]
        for dimension, value in (("status", row["status"]),
                                 ("channel", row["channel"] or NO_CHANNEL)):
            series = over_time[dimension].setdefault(value, [0] * len(buckets))
            series[position] += 1
    status_order = {status: n for n, status in enumerate(STATUSES)}
    over_time["status"] = dict(sorted(over_time["status"].items(),
                                      key=lambda item: status_order.get(item[0], 99)))
    over_time["channel"] = dict(sorted(over_time["channel"].items()))
    return MessageCounts(
        total=len(rows),
        by_status=dict(sorted(by_status.items(), key=lambda i: status_order.get(i[0], 99))),
        by_channel=dict(sorted(by_channel.items())),
        by_step={key: dict(sorted(counts.items(), key=lambda i: status_order.get(i[0], 99)))
                 for key, counts in by_step.items()},
        period=period, buckets=buckets, over_time=over_time,
        reasons=[ReasonCount(status, rule, plain_words(rule), count) for (status, rule), count
                 in sorted(reasons.items(), key=lambda item: (-item[1], item[0]))])


def rule_of(reason: str | None) -> str:
    """The rule id a message's reason (``rule: why``) starts with."""
    rule, found, _ = (reason or "").partition(": ")
    return rule if found else (reason or "unstated")


def _utc_day(at: str) -> date:
    return datetime.fromisoformat(at).astimezone(UTC).date()


def _period(days: list[date]) -> tuple[str, Any]:
    """The longest span of days that still fits :data:`MAX_BARS` bars: day, week, month."""
    span = (max(days) - min(days)).days + 1 if days else 0
    if span <= MAX_BARS:
        return "day", lambda day: day.isoformat()
    if span <= MAX_BARS * 7:
        return "week", lambda day: (day - timedelta(days=day.weekday())).isoformat()
    return "month", lambda day: f"{day.year:04d}-{day.month:02d}"


def _buckets(days: list[date], period: str) -> list[str]:
    """Every period from the first message's to the last one's, empty ones included."""
    if not days:
        return []
    first, last = min(days), max(days)
    labels: list[str] = []
    if period == "day":
        while first <= last:
            labels.append(first.isoformat())
            first += timedelta(days=1)
    elif period == "week":
        first -= timedelta(days=first.weekday())
        while first <= last:
            labels.append(first.isoformat())
            first += timedelta(days=7)
    else:
        year, month = first.year, first.month
        while (year, month) <= (last.year, last.month):
            labels.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return labels
