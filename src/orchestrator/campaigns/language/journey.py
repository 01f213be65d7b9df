"""A journey as the engine reads it: typed, validated, immutable.

Built only by :mod:`orchestrator.campaigns.language.validation`, which guarantees what the engine
relies on: step ids are unique, every ``goto`` names a step, every step is reachable,
every loop waits, and expressions are checked.

Moving through steps: after a send, a wait or a wait_until, the contact falls through
to the next step in the list (after the last one, the journey is complete). A branch
jumps to the ``goto`` of its first case whose condition holds, else to its ``else``.
An end step ends the journey.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import NamedTuple

from apscheduler.triggers.cron import CronTrigger

from orchestrator.campaigns.language.expressions import CompiledExpression
from orchestrator.campaigns.language.schedules import cron_trigger
from orchestrator.campaigns.language.vocabulary import DEFAULT_AUDIENCE, PUBLIC_INTENTS


@dataclass(frozen=True)
class TouchpointTrigger:
    """Starts the journey for one contact when a touchpoint of type ``on`` is recorded
    (or, for ``stage.entered``, when the contact enters ``stage``) and ``condition``,
    if any, holds."""

    on: str
    stage: str | None = None
    condition: CompiledExpression | None = None


@dataclass(frozen=True)
class ScheduleTrigger:
    """Starts a broadcast at each time the crontab expression ``cron`` matches in
    ``timezone``; private steps go to each contact for whom ``segment`` holds (every
    contact when there is no segment; the channel policy still decides who may receive)."""

    cron: str
    timezone: str
    segment: CompiledExpression | None = None

    def cron_trigger(self) -> CronTrigger:
        """The APScheduler trigger, with crontab's weekday numbering (Sunday = 0)."""
        return cron_trigger(self.cron, self.timezone)


Trigger = TouchpointTrigger | ScheduleTrigger


@dataclass(frozen=True)
class Goal:
    """Reaching it (a touchpoint ``on``, within ``within`` of entering, if given) exits
    the journey with reason "goal"."""

    on: str
    stage: str | None = None
    within: timedelta | None = None
    condition: CompiledExpression | None = None


@dataclass(frozen=True)
class SendStep:
    """Sends the message ``template`` with an ``intent``; the channel policy picks the
    channel."""

    id: str
    intent: str
    template: str
    audience: str = DEFAULT_AUDIENCE

    @property
    def is_public(self) -> bool:
        return self.intent in PUBLIC_INTENTS


@dataclass(frozen=True)
class WaitStep:
    """Waits ``duration`` from the moment the step is entered."""

    id: str
    duration: timedelta


@dataclass(frozen=True)
class WaitUntilStep:
    """Waits for a touchpoint ``on`` about the contact, at most ``timeout``; either way
    the contact then falls through to the next step."""

    id: str
    on: str
    timeout: timedelta


class BranchCase(NamedTuple):
    """One arm of a branch: ``condition`` None is the ``else`` arm."""

    condition: CompiledExpression | None
    goto: str


@dataclass(frozen=True)
class BranchStep:
    """Jumps to the first case whose condition holds; the last case is the ``else``."""

    id: str
    cases: tuple[BranchCase, ...]

    def choose(self, context: Mapping[str, object]) -> str:
        """The id of the step to go to. Raises
        :class:`~orchestrator.campaigns.language.expressions.ExpressionFailed` if a condition
        cannot be evaluated."""
        for case in self.cases:
            if case.condition is None or case.condition.evaluate(context):
                return case.goto
        raise LookupError(f"branch {self.id!r} has no else case")  # validation prevents this


@dataclass(frozen=True)
class EndStep:
    id: str


Step = SendStep | WaitStep | WaitUntilStep | BranchStep | EndStep


@dataclass(frozen=True)
class Journey:
    """One journey file, validated. ``source_digest`` is the SHA-256 of the file's bytes
    (hex), which identifies what was published."""

    id: str
    description: str
    trigger: Trigger
    reentry: timedelta | None
    goal: Goal | None
    exit_on: tuple[str, ...]
    steps: tuple[Step, ...]
    source_digest: str
    source_path: str

    @property
    def is_broadcast(self) -> bool:
        return isinstance(self.trigger, ScheduleTrigger)

    @property
    def first_step(self) -> Step:
        return self.steps[0]

    def step(self, step_id: str) -> Step:
        """The step called ``step_id``; raises KeyError if there is none."""
        return self.steps[self._index[step_id]]

    def next_step_id(self, step_id: str) -> str | None:
        """Where a contact falls through to after ``step_id``: the next step in the list,
        or None after the last step, an end, or a branch (which jumps; see
        :meth:`BranchStep.choose`)."""
        index = self._index[step_id]
        if isinstance(self.steps[index], BranchStep | EndStep) or index + 1 == len(self.steps):
            return None
        return self.steps[index + 1].id

    def successors(self, step_id: str) -> tuple[str, ...]:
        """Every step a contact can go to from ``step_id``."""
        step = self.step(step_id)
        if isinstance(step, BranchStep):
            return tuple(dict.fromkeys(case.goto for case in step.cases))
        following = self.next_step_id(step_id)
        return () if following is None else (following,)

    @functools.cached_property
    def _index(self) -> dict[str, int]:
        return {step.id: index for index, step in enumerate(self.steps)}
