"""The report page and the journey drawing, written through Jinja2 templates shipped with
the package (``report/templates``), autoescaped: journey names, step ids, conditions and
reasons are text, never markup. Everything the page needs is inside it (styles and SVG
inline, no script, no font, nothing fetched), so it opens anywhere without a network.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jinja2

from orchestrator.audit.report_data import MessageCounts, VersionFlow, Window
from orchestrator.campaigns.language.journey import Journey
from orchestrator.report.charts import CHANNEL_COLOURS, STATUS_COLOURS, Chart, stacked_bars
from orchestrator.report.graph import (
    Edge,
    JourneyGraph,
    Node,
    journey_graph,
    shorten,
    step_kind,
)
from orchestrator.report.layout import Box, Layout, Placed, Route, layered

CHAR_WIDTH = 6.6  # average advance of the 12 px sans-serif the drawing uses
ARM_CHAR_WIDTH = 5.6  # the 10 px italics of a branch arm's condition
NODE_PADDING = 22
MIN_NODE_WIDTH = 96


@dataclass(frozen=True)
class DrawnNode:
    node: Node
    box: Placed
    lines: list[str]
    title: str


@dataclass(frozen=True)
class DrawnEdge:
    edge: Edge
    route: Route
    arm: str
    label: str


@dataclass(frozen=True)
class Drawing:
    """A graph with its layout, ready for ``graph.svg.j2``; ``prefix`` keeps the ids of
    several drawings on one page apart."""

    graph: JourneyGraph
    nodes: list[DrawnNode]
    edges: list[DrawnEdge]
    width: float
    height: float
    prefix: str


@dataclass(frozen=True)
class FunnelRow:
    step: str
    kind: str
    entered: int
    share: float  # of the widest row, 0..1, for the bar's length
    messages: dict[str, int]


@dataclass(frozen=True)
class VersionSection:
    journey: Journey
    version: int
    state: str
    latest: bool
    flow: VersionFlow
    drawing: Drawing
    funnel: list[FunnelRow]


@dataclass(frozen=True)
class HistoryRow:
    journey: str
    what: str
    by: str
    at: str
    detail: str = ""


@dataclass(frozen=True)
class ReportPage:
    generated_at: str
    store: str
    window: Window
    journey: str | None
    behind: int
    sections: list[VersionSection]
    messages: MessageCounts
    history: list[HistoryRow]
    charts: list[Chart] = field(default_factory=list)


def draw(graph: JourneyGraph, prefix: str = "g") -> Drawing:
    lines = {node.id: _node_lines(node) for node in graph.nodes}
    boxes = [Box(node.id, _node_width(lines[node.id]), 20 + 16 * len(lines[node.id]))
             for node in graph.nodes]
    layout: Layout = layered(boxes, [(edge.source, edge.target) for edge in graph.edges])
    routes = {(route.source, route.target): route for route in layout.routes}
    nodes = [DrawnNode(node, layout.nodes[node.id], [shorten(line) for line in
                                                     lines[node.id]],
                       "\n".join(lines[node.id])) for node in graph.nodes]
    edges = [DrawnEdge(edge, routes[(edge.source, edge.target)], shorten(edge.arm, 24),
                       "" if edge.count is None else f"{edge.count:,}")
             for edge in graph.edges if (edge.source, edge.target) in routes]
    # Room for the arms' words, which may reach past the last node.
    width = max([layout.width, *(e.route.label_x + ARM_CHAR_WIDTH * len(e.arm) + 12
                                 for e in edges)])
    return Drawing(graph, nodes, edges, width, layout.height, prefix)


def _node_lines(node: Node) -> list[str]:
    lines = [node.name, node.detail]
    if node.entered is not None:
        counted = "enrolled" if node.kind == "trigger" else (
            "ended" if node.kind == "ending" else "entered")
        lines.append(" · ".join(filter(None, [f"{node.entered:,} {counted}", node.note])))
    return lines


def _node_width(lines: list[str]) -> float:
    longest = max(len(shorten(line)) for line in lines)
    return max(MIN_NODE_WIDTH, longest * CHAR_WIDTH + NODE_PADDING)


def funnel(journey: Journey, flow: VersionFlow, messages: MessageCounts) -> list[FunnelRow]:
    """The enrolments (step "", kind trigger), then each step in file order: the
    enrolments that entered it and the messages it made, by status."""
    widest = max([flow.enrolled, *flow.entered.values(), 1])
    return [FunnelRow("", "trigger", flow.enrolled, flow.enrolled / widest, {}),
            *(FunnelRow(step.id, step_kind(step), flow.entered.get(step.id, 0),
                        flow.entered.get(step.id, 0) / widest,
                        messages.by_step.get((journey.id, flow.version, step.id), {}))
              for step in journey.steps)]


def message_charts(messages: MessageCounts) -> list[Chart]:
    return [stacked_bars("status", messages.buckets, messages.over_time["status"],
                         STATUS_COLOURS),
            stacked_bars("channel", messages.buckets, messages.over_time["channel"],
                         CHANNEL_COLOURS)]


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("orchestrator.report", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
        lstrip_blocks=True)


def render_page(page: ReportPage) -> str:
    return _environment().get_template("report.html.j2").render(
        page=page, status_colours=STATUS_COLOURS, channel_colours=CHANNEL_COLOURS)


def render_graph_svg(journey: Journey) -> str:
    """``journeys graph FILE --svg``: the definition alone, as a standalone SVG file."""
    drawing = draw(journey_graph(journey))
    return _environment().get_template("journey.svg.j2").render(drawing=drawing)

