"""Stacked bar charts as plain geometry (the template writes the SVG): one bar a period,
one coloured segment a series (a status, a channel), a scale with round ticks."""

from __future__ import annotations

from dataclasses import dataclass

PLOT_HEIGHT = 180
LEFT = 48
TOP = 12
BOTTOM = 58
RIGHT = 16
MIN_WIDTH = 560
SLOT = 16  # width of one period; a bar is most of it

STATUS_COLOURS = {
    "scheduled": "#9aa5b1", "deferred": "#f0b429", "sent": "#3b82c4",
    "delivered": "#1f9e89", "opened": "#57ae5b", "clicked": "#2f8132",
    "bounced": "#d64545", "failed": "#8b1e1e", "in_doubt": "#8662c7",
    "suppressed": "#616e7c", "held_for_review": "#e66a1f",
}
CHANNEL_COLOURS = {"email": "#3b82c4", "sms": "#57ae5b", "mail": "#a4673b",
                   "social": "#8662c7", "none": "#9aa5b1"}
OTHER = "#c0c6cc"


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: str
    bucket: str
    count: int
    colour: str


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class XLabel:
    x: float
    label: str


@dataclass(frozen=True)
class LegendEntry:
    series: str
    colour: str
    total: int


@dataclass(frozen=True)
class Chart:
    name: str
    width: float
    height: float
    plot_left: float
    plot_right: float
    plot_bottom: float
    bars: list[Bar]
    ticks: list[Tick]
    labels: list[XLabel]
    legend: list[LegendEntry]


def stacked_bars(name: str, buckets: list[str], series: dict[str, list[int]],
                 colours: dict[str, str]) -> Chart:
    totals = [sum(values[n] for values in series.values()) for n in range(len(buckets))]
    top = nice_ceiling(max(totals, default=0))
    width = max(MIN_WIDTH, LEFT + RIGHT + SLOT * len(buckets))
    slot = (width - LEFT - RIGHT) / max(len(buckets), 1)
    scale = PLOT_HEIGHT / top
    bars = []
    for n, bucket in enumerate(buckets):
        base = TOP + PLOT_HEIGHT
        for label, values in series.items():
            count = values[n]
            if not count:
                continue
            height = count * scale
            base -= height
            bars.append(Bar(LEFT + n * slot + slot * 0.12, base, slot * 0.76, height, label,
                            bucket, count, colours.get(label, OTHER)))
    ticks = [Tick(TOP + PLOT_HEIGHT - PLOT_HEIGHT * k / 4, f"{top * k // 4:,}")
             for k in range(5)]
    every = max(1, -(-len(buckets) * 70 // int(width - LEFT - RIGHT)))  # ~70 px a label
    labels = [XLabel(LEFT + n * slot + slot / 2, bucket)
              for n, bucket in enumerate(buckets) if n % every == 0]
    legend = [LegendEntry(label, colours.get(label, OTHER), sum(values))
              for label, values in series.items()]
    return Chart(name, width, TOP + PLOT_HEIGHT + BOTTOM, LEFT, width - RIGHT,
                 TOP + PLOT_HEIGHT, bars, ticks, labels, legend)


def nice_ceiling(value: int) -> int:
    """The smallest of 4, 8, 12, 20, 40, 80, 120, 200, ... (1, 2, 3, 5 x 4 x 10^k) at or
    above ``value``: a scale whose four ticks are whole numbers."""
    magnitude = 1
    while True:
        for step in (1, 2, 3, 5):
            if 4 * step * magnitude >= value:
                return 4 * step * magnitude
        magnitude *= 10
