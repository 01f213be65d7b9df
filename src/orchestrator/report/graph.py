"""A journey version as a graph to draw: its trigger, its steps (sends, waits, branches,
ends) and how an enrolment can finish (completed, goal, each exit), with the edges the
definition allows; given a :class:`~orchestrator.audit.report_data.VersionFlow`, each
node and edge also carries how many enrolments passed it.

The edges come from the journey itself (``Journey.successors``, the same graph the
validator checks), never from re-reading YAML.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.audit.report_data import (
    COMPLETED,
    END,
    EXIT_PREFIX,
    GOAL,
    VersionFlow,
)
from orchestrator.campaigns.language.durations import format_duration
from orchestrator.campaigns.language.journey import (
    BranchStep,
    EndStep,
    Journey,
    ScheduleTrigger,
    SendStep,
    Step,
    WaitStep,
    WaitUntilStep,
)
from orchestrator.campaigns.language.vocabulary import DEFAULT_AUDIENCE

TRIGGER = "trigger"
MAX_TEXT = 40


@dataclass(frozen=True)
class Node:
    """``id`` is unique in the graph (``trigger``, ``step:ID``, ``ending:NAME``);
    ``entered`` is None when the graph is drawn without counts."""

    id: str
    name: str
    kind: str
    detail: str
    entered: int | None = None
    note: str = ""
    step: str | None = None


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    arm: str = ""  # a branch arm's condition, or "else"
    count: int | None = None


@dataclass(frozen=True)
class JourneyGraph:
    journey: str
    version: int | None
    nodes: list[Node]
    edges: list[Edge]

    @property
    def counted(self) -> bool:
        return any(node.entered is not None for node in self.nodes)


def step_node(step_id: str) -> str:
    return f"step:{step_id}"


def ending_node(ending: str) -> str:
    return f"ending:{ending}"


def journey_graph(journey: Journey, version: int | None = None,
                  flow: VersionFlow | None = None) -> JourneyGraph:
    """The graph of ``journey``; with ``flow``, the counts of that version's traffic
    (edges the definition allows but nobody took show 0; an ending reached from a step
    is an edge from that step)."""
    nodes = [Node(TRIGGER, "trigger", "trigger", _trigger_text(journey),
                  None if flow is None else flow.enrolled)]
    for step in journey.steps:
        outcomes = flow.wait_outcomes.get(step.id, {}) if flow else {}
        notes = [f"{outcome} {count:,}" for outcome, count in sorted(outcomes.items())]
        if flow is not None and flow.in_progress and flow.in_progress.get(step.id):
            notes.append(f"{flow.in_progress[step.id]:,} here now")
        note = " · ".join(notes)
        nodes.append(Node(step_node(step.id), step.id, step_kind(step), _step_text(step),
                          None if flow is None else flow.entered.get(step.id, 0), note,
                          step.id))
    edges = [Edge(TRIGGER, step_node(journey.first_step.id))]
    for step in journey.steps:
        if isinstance(step, BranchStep):
            edges.extend(Edge(step_node(step.id), step_node(case.goto),
                              "else" if case.condition is None else case.condition.source)
                         for case in step.cases)
        elif not isinstance(step, EndStep):
            following = journey.next_step_id(step.id)
            edges.append(Edge(step_node(step.id), step_node(following) if following
                              else ending_node(COMPLETED)))
    endings = _endings(journey, edges, flow)
    nodes.extend(Node(ending_node(name), _ending_name(name), "ending", _ending_text(name,
                      journey), None if flow is None else _ended(flow, name))
                 for name in endings)
    if flow is not None:
        edges = _counted(edges, flow, endings)
    return JourneyGraph(journey.id, version, nodes, _merge_arms(edges))


def _endings(journey: Journey, edges: list[Edge], flow: VersionFlow | None) -> list[str]:
    """The ways out the definition has (completed if a step falls off the end, the goal,
    each exit), then any other ending the traffic shows (failed, archived)."""
    names = []
    if any(edge.target == ending_node(COMPLETED) for edge in edges):
        names.append(COMPLETED)
    if journey.goal is not None:
        names.append(GOAL)
    names.extend(f"{EXIT_PREFIX}{kind}" for kind in journey.exit_on)
    if flow is not None:
        for (_, ending), count in sorted(flow.endings.items(), key=lambda i: i[0][1]):
            if count and ending != END and ending not in names:
                names.append(ending)
    return names


def _ended(flow: VersionFlow, ending: str) -> int:
    return flow.ended().get(ending, 0)


def _counted(edges: list[Edge], flow: VersionFlow, endings: list[str]) -> list[Edge]:
    """Each edge with its transitions; endings reached from a step become edges."""
    def source_step(node: str) -> str | None:
        return None if node == TRIGGER else node.removeprefix("step:")

    counted = []
    for edge in edges:
        if edge.target.startswith("step:"):
            count = flow.moves.get((source_step(edge.source), edge.target[5:]), 0)
        else:  # completed: counted with the endings below
            count = flow.endings.get((source_step(edge.source), COMPLETED), 0)
        counted.append(Edge(edge.source, edge.target, edge.arm, count))
    known = {(edge.source, edge.target) for edge in counted}
    for (step, ending), count in sorted(flow.endings.items(),
                                        key=lambda i: (i[0][0] or "", i[0][1])):
        if step is None or ending == END or not count or ending not in endings:
            continue
        pair = (step_node(step), ending_node(ending))
        if pair not in known:
            counted.append(Edge(*pair, count=count))
    for (step, following), count in sorted(flow.moves.items(),
                                           key=lambda i: (i[0][0] or "", i[0][1])):
        pair = (step_node(step) if step else TRIGGER, step_node(following))
        if pair not in known:  # a move the definition does not draw: still shown
            counted.append(Edge(*pair, count=count))
            known.add(pair)
    return counted


def _merge_arms(edges: list[Edge]) -> list[Edge]:
    """Two branch arms to the same step are one edge, labelled with both conditions."""
    merged: dict[tuple[str, str], Edge] = {}
    for edge in edges:
        key = (edge.source, edge.target)
        if key in merged:
            kept = merged[key]
            merged[key] = Edge(kept.source, kept.target, f"{kept.arm} | {edge.arm}",
                               kept.count)
        else:
            merged[key] = edge
    return list(merged.values())


def step_kind(step: Step) -> str:
    return {SendStep: "send", WaitStep: "wait", WaitUntilStep: "wait_until",
            BranchStep: "branch", EndStep: "end"}[type(step)]


def _step_text(step: Step) -> str:
    if isinstance(step, SendStep):
        audience = "" if step.audience == DEFAULT_AUDIENCE else f" ({step.audience})"
        return f"send {step.intent}: {step.template}{audience}"
    if isinstance(step, WaitStep):
        return f"wait {format_duration(step.duration)}"
    if isinstance(step, WaitUntilStep):
        return f"until {step.on}, at most {format_duration(step.timeout)}"
    if isinstance(step, BranchStep):
        return f"branch, {len(step.cases)} arms"
    return "end"


def _trigger_text(journey: Journey) -> str:
    trigger = journey.trigger
    if isinstance(trigger, ScheduleTrigger):
        return f"every {trigger.cron} ({trigger.timezone})"
    return f"on {trigger.on}" + (f" ({trigger.stage})" if trigger.stage else "")


def _ending_name(ending: str) -> str:
    return "exit" if ending.startswith(EXIT_PREFIX) else ending


def _ending_text(ending: str, journey: Journey) -> str:
    if ending == COMPLETED:
        return "after the last step"
    if ending == GOAL and journey.goal is not None:
        within = (f" within {format_duration(journey.goal.within)}"
                  if journey.goal.within else "")
        return f"{journey.goal.on}{within}, from any step"
    if ending.startswith(EXIT_PREFIX):
        return f"on {ending.removeprefix(EXIT_PREFIX)}, from any step"
    return "a step could not go on" if ending == "failed" else "the journey was archived"


def shorten(text: str, limit: int = MAX_TEXT) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis (the whole text goes in the
    node's tooltip)."""
    return text if len(text) <= limit else text[:limit - 1] + "…"
