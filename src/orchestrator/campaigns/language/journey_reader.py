"""From a positioned YAML tree to a :class:`~orchestrator.campaigns.language.journey.Journey`,
checking the journey language (SPEC "Journeys: YAML") and collecting every problem.

The steps are read by :mod:`.step_reader`. Judgement calls where the SPEC is silent, so
campaign managers get what they expect:

- ``timezone`` of a schedule defaults to UTC;
- a goal may be ``on: stage.entered`` with a ``stage``, like a trigger, and may have an
  ``if`` condition; ``within`` is optional;
- ``exit_on`` is a list, and lists each touchpoint type once;
- a broadcast's ``segment`` cannot use ``event``: a schedule, not a touchpoint, starts
  it. ``reentry``, ``goal`` and ``exit_on`` are allowed in a broadcast: they apply to
  each contact its private steps fan out to.
"""

from __future__ import annotations

from orchestrator.campaigns.language.expressions import CompiledExpression
from orchestrator.campaigns.language.journey import (
    Goal,
    Journey,
    ScheduleTrigger,
    TouchpointTrigger,
    Trigger,
)
from orchestrator.campaigns.language.node_reader import NodeReader
from orchestrator.campaigns.language.problems import Position
from orchestrator.campaigns.language.schedules import ScheduleInvalid, check_timezone, cron_trigger
from orchestrator.campaigns.language.step_reader import StepReader
from orchestrator.campaigns.language.vocabulary import STAGE_ENTERED, STAGES, TOUCHPOINT_TYPES
from orchestrator.campaigns.language.yaml_source import YamlEntry, YamlMapping, YamlNode
from orchestrator.rendering.catalog import TemplateCatalog

JOURNEY_KEYS = ("journey", "description", "trigger", "reentry", "goal", "exit_on", "steps")
TOUCHPOINT_TRIGGER_KEYS = ("on", "stage", "if")
SCHEDULE_TRIGGER_KEYS = ("schedule", "timezone", "segment")
GOAL_KEYS = ("on", "stage", "within", "if")
DEFAULT_TIMEZONE = "UTC"

_TRIGGER_TYPES = (*TOUCHPOINT_TYPES, STAGE_ENTERED)

_HINTS = {
    "journey": "the journey's id, such as journey: second-purchase",
    "trigger": "what starts it, such as trigger: {on: purchase.recorded}",
    "steps": "the list of steps, each with an id and one of send, wait, wait_until, "
             "branch, end",
    "on": "a touchpoint type, such as on: purchase.recorded",
}
_TOUCHPOINT_TRIGGER_ADVICE = {
    "segment": "segment is for broadcasts; a contact journey filters with if",
    "timezone": "timezone is for broadcasts, which have trigger: {schedule: CRON}",
}
_SCHEDULE_TRIGGER_ADVICE = {
    "if": "a broadcast picks its contacts with segment",
    "stage": "stage goes with on: stage.entered, not with a schedule",
}


class JourneyReader(NodeReader):
    """Reads one journey file's tree; ``problems`` holds what is wrong with it."""

    def __init__(self, file: str, templates: TemplateCatalog):
        super().__init__(file)
        self.templates = templates
        self.id_position: Position | None = None

    def read(self, root: YamlNode | None, source_digest: str) -> Journey | None:
        """The journey, or None when anything is wrong (see ``problems``)."""
        if root is None:
            self.report(Position(1, 1), "the file is empty; expected a journey that starts "
                                        "with 'journey: ID'")
            return None
        top = self.mapping(root, "the journey", allowed=JOURNEY_KEYS,
                           required=("journey", "trigger", "steps"), at=Position(1, 1),
                           hints=_HINTS)
        if top is None:
            return None
        journey_id = self.word(top.value("journey"), "journey", "second-purchase")
        if (entry := top.get("journey")) is not None:
            self.id_position = entry.value.position
        description = self.text(top.value("description"), "description",
                                "Deepen the relationship after a first purchase")
        trigger = self._trigger(top.get("trigger"))
        reentry = self.duration(top.value("reentry"), "reentry")
        goal = self._goal(top.get("goal"))
        exit_on = self._exit_on(top.get("exit_on"))
        steps = StepReader(self.file, self.templates, trigger, self.problems).read(
            top.get("steps")
        )
        if self.problems or journey_id is None or trigger is None or steps is None:
            return None
        return Journey(
            id=journey_id,
            description=description or "",
            trigger=trigger,
            reentry=reentry,
            goal=goal,
            exit_on=exit_on,
            steps=steps,
            source_digest=source_digest,
            source_path=self.file,
        )

    # -- trigger and goal

    def _trigger(self, entry: YamlEntry | None) -> Trigger | None:
        if entry is None:
            return None
        node = entry.value
        keys = node.keys() if isinstance(node, YamlMapping) else ()
        by_touchpoint, by_schedule = "on" in keys, "schedule" in keys
        if by_touchpoint and not by_schedule:
            allowed, advice = TOUCHPOINT_TRIGGER_KEYS, _TOUCHPOINT_TRIGGER_ADVICE
        elif by_schedule and not by_touchpoint:
            allowed, advice = SCHEDULE_TRIGGER_KEYS, _SCHEDULE_TRIGGER_ADVICE
        else:
            allowed, advice = TOUCHPOINT_TRIGGER_KEYS + SCHEDULE_TRIGGER_KEYS, {}
        trigger = self.mapping(
            node, "the trigger", allowed=allowed, at=entry.key_position, advice=advice,
            example="a mapping such as {on: purchase.recorded} (a journey per contact) or "
                    "{schedule: '0 9 * * MON', timezone: Europe/London} (a broadcast)",
        )
        if trigger is None:
            return None
        if by_touchpoint == by_schedule:
            self.report(
                entry.key_position,
                "the trigger needs exactly one of on: TOUCHPOINT (a journey per contact) or "
                "schedule: CRON (a broadcast)" + ("; it has both" if by_touchpoint else ""),
            )
            return None
        if by_touchpoint:
            return self._touchpoint_trigger(trigger)
        return self._schedule_trigger(trigger)

    def _touchpoint_trigger(self, trigger: YamlMapping) -> TouchpointTrigger | None:
        on, stage = self._on_and_stage(trigger, "the trigger")
        condition = self.expression(trigger.value("if"), "the trigger's if")
        self._no_wait(condition, "the trigger's if", "before any step")
        if on is None or (on == STAGE_ENTERED and stage is None):
            return None
        return TouchpointTrigger(on=on, stage=stage, condition=condition)

    def _on_and_stage(self, mapping: YamlMapping, what: str) -> tuple[str | None, str | None]:
        """``on:`` and, for ``on: stage.entered`` only, ``stage:``."""
        on_entry, stage_entry = mapping.get("on"), mapping.get("stage")
        on = self.choice(on_entry.value, f"on in {what}", _TRIGGER_TYPES) if on_entry else None
        stage = None
        if on == STAGE_ENTERED:
            if stage_entry is None:
                self.report(on_entry.value.position,
                            f"on: stage.entered needs stage: one of {', '.join(STAGES)}")
            else:
                stage = self.choice(stage_entry.value, f"stage in {what}", STAGES)
        elif stage_entry is not None and on is not None:
            self.report(stage_entry.key_position,
                        f"stage only goes with on: stage.entered, not with on: {on}")
        return on, stage

    def _schedule_trigger(self, trigger: YamlMapping) -> ScheduleTrigger | None:
        schedule_node = trigger.get("schedule").value
        cron = self.text(schedule_node, "schedule", "'0 9 * * MON' (minute hour day month "
                                                    "weekday)")
        timezone = DEFAULT_TIMEZONE
        if (zone_entry := trigger.get("timezone")) is not None:
            timezone = self.text(zone_entry.value, "timezone", "Europe/London")
            if timezone is not None:
                try:
                    check_timezone(timezone)
                except ScheduleInvalid as exc:
                    self.report(zone_entry.value.position, f"timezone: {exc}")
                    timezone = None
        if cron is not None:
            try:
                # With a bad time zone, still say what is wrong with the schedule itself.
                cron_trigger(cron, timezone or DEFAULT_TIMEZONE)
            except ScheduleInvalid as exc:
                self.report(schedule_node.position, f"schedule: {exc}")
                cron = None
        segment = self.expression(trigger.value("segment"), "segment")
        self._no_wait(segment, "segment", "before any step")
        if segment is not None and "event" in segment.names:
            self.report(
                trigger.get("segment").value.position,
                "segment cannot use 'event': a broadcast is started by its schedule, not by "
                "a touchpoint; choose contacts with contact, such as "
                "contact.stage == 'regular_buyer'",
            )
        if cron is None or timezone is None:
            return None
        return ScheduleTrigger(cron=cron, timezone=timezone, segment=segment)

    def _no_wait(self, expression: CompiledExpression | None, what: str, when: str) -> None:
        if expression is not None and "wait" in expression.names:
            self.report(expression.position or Position(1, 1),
                        f"{what}: `wait` is only known after a wait_until step, and {what} "
                        f"is evaluated {when}; use wait.outcome in a branch after the "
                        "wait_until")

    def _goal(self, entry: YamlEntry | None) -> Goal | None:
        if entry is None:
            return None
        goal = self.mapping(entry.value, "the goal", allowed=GOAL_KEYS, required=("on",),
                            at=entry.key_position, hints=_HINTS)
        if goal is None:
            return None
        on, stage = self._on_and_stage(goal, "the goal")
        within = self.duration(goal.value("within"), "within")
        condition = self.expression(goal.value("if"), "the goal's if")
        self._no_wait(condition, "the goal's if", "at any step")
        if on is None:
            return None
        return Goal(on=on, stage=stage, within=within, condition=condition)

    def _exit_on(self, entry: YamlEntry | None) -> tuple[str, ...]:
        if entry is None:
            return ()
        listed = self.sequence(entry.value, "exit_on",
                               "exit_on: [consent.withdrawn, message.unsubscribed]")
        if listed is None:
            return ()
        types: list[str] = []
        for item in listed.items:
            touchpoint = self.choice(item, "exit_on", TOUCHPOINT_TYPES)
            if touchpoint in types:
                self.report(item.position, f"exit_on lists {touchpoint} twice; once is enough")
            elif touchpoint is not None:
                types.append(touchpoint)
        return tuple(types)

def _may_post_publicly(trigger: Trigger) -> bool:
    return isinstance(trigger, ScheduleTrigger) or trigger.on == "social.mention"

