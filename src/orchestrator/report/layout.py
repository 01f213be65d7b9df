"""A layered (Sugiyama-style) layout for small directed graphs, top to bottom.

A journey is a few dozen steps at most, ordered by its file, with loops only through
waits; so the classic recipe done plainly is enough: loops are broken where a depth-first
walk from the first node meets a node still on its path (those edges are drawn back up
the side), each node goes one layer below the deepest of its predecessors, an edge that
skips layers passes through one invisible point a layer, a few barycentre sweeps reduce
crossings, and nodes are pulled towards their neighbours without overlapping.

Pure geometry: boxes and edges in, positions and paths out.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

LAYER_GAP = 70
NODE_GAP = 28
POINT_WIDTH = 12  # the invisible point an edge passes through on a layer it crosses
BACK_GAP = 22
MARGIN = 24


@dataclass(frozen=True)
class Box:
    id: str
    width: float
    height: float


@dataclass(frozen=True)
class Placed:
    id: str
    x: float  # left
    y: float  # top
    width: float
    height: float

    @property
    def centre(self) -> float:
        return self.x + self.width / 2

    @property
    def bottom(self) -> float:
        return self.y + self.height


@dataclass(frozen=True)
class Route:
    """How one edge is drawn: an SVG path, where its label sits, and whether it goes
    back up (a loop)."""

    source: str
    target: str
    path: str
    label_x: float
    label_y: float
    back: bool


@dataclass(frozen=True)
class Layout:
    nodes: dict[str, Placed]
    routes: list[Route]
    width: float
    height: float


def layered(boxes: Sequence[Box], edges: Sequence[tuple[str, str]]) -> Layout:
    """``boxes`` in their natural order (the first is where the graph starts);
    ``edges`` between their ids (edges to unknown ids are ignored)."""
    order = {box.id: n for n, box in enumerate(boxes)}
    edges = [(s, t) for s, t in dict.fromkeys(edges) if s in order and t in order and s != t]
    backs = _back_edges([box.id for box in boxes], edges)
    forward = [(s, t) for s, t in edges if (s, t) not in backs]
    rank = _ranks([box.id for box in boxes], forward)
    upward = {(s, t) for s, t in forward if rank[t] <= rank[s]}  # from below the rest
    backs |= upward
    forward = [edge for edge in forward if edge not in upward]
    layers, chains = _layers(boxes, forward, rank, order)
    _reduce_crossings(layers, forward, chains)
    sizes = {box.id: box for box in boxes}
    placed = _place(layers, sizes, forward, chains)
    routes = [_forward_route(placed, chains[(s, t)]) for s, t in forward]
    right = max((p.x + p.width for p in placed.values()), default=0)
    lanes = 0
    for lane, (s, t) in enumerate(sorted(backs, key=lambda e: (order[e[0]], order[e[1]]))):
        routes.append(_back_route(placed[s], placed[t], _beside(placed, placed[s], placed[t])
                                  + BACK_GAP * (lane + 1)))
        lanes = lane + 1
    width = max([right, *(r.label_x for r in routes)]) + BACK_GAP * (lanes + 1) + MARGIN
    height = max((p.bottom for p in placed.values()), default=0) + MARGIN
    return Layout({i: p for i, p in placed.items() if i in order}, routes, width, height)


def _back_edges(ids: list[str], edges: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """Edges that close a loop: to a node on the current path of a depth-first walk
    (from the first node, then from any node not reached yet), successors in order."""
    successors: dict[str, list[str]] = {i: [] for i in ids}
    for s, t in edges:
        successors[s].append(t)
    state: dict[str, int] = {}  # 1 on the path, 2 done
    backs: set[tuple[str, str]] = set()
    for root in ids:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(successors[root]))]
        while stack:
            node, pending = stack[-1]
            following = next(pending, None)
            if following is None:
                state[node] = 2
                stack.pop()
            elif state.get(following) == 1:
                backs.add((node, following))
            elif following not in state:
                state[following] = 1
                stack.append((following, iter(successors[following])))
    return backs


def _ranks(ids: list[str], forward: list[tuple[str, str]]) -> dict[str, int]:
    """Longest path from the first node. Nodes the first does not lead to go below the
    rest (an ending nobody reached), in the same way among themselves."""
    predecessors: dict[str, list[str]] = {i: [] for i in ids}
    for s, t in forward:
        predecessors[t].append(s)
    order = _topological(ids, forward)
    rank: dict[str, int] = {}
    for node in order:
        linked = [rank[p] for p in predecessors[node] if p in rank]
        if linked:
            rank[node] = max(linked) + 1
        elif node == ids[0]:
            rank[node] = 0
    floor = max(rank.values(), default=-1) + 1
    for node in order:
        if node not in rank:
            rank[node] = max([floor, *(rank[p] + 1 for p in predecessors[node] if p in rank)])
    return rank


def _topological(ids: list[str], forward: list[tuple[str, str]]) -> list[str]:
    incoming = {i: 0 for i in ids}
    for _, t in forward:
        incoming[t] += 1
    ready = [i for i in ids if incoming[i] == 0]
    out = []
    while ready:
        node = ready.pop(0)
        out.append(node)
        for s, t in forward:
            if s == node:
                incoming[t] -= 1
                if incoming[t] == 0:
                    ready.append(t)
    return out


def _layers(boxes: Sequence[Box], forward: list[tuple[str, str]], rank: dict[str, int],
            order: dict[str, int]) -> tuple[list[list[str]], dict[tuple[str, str], list[str]]]:
    """Nodes by layer (in their natural order), with one invisible point a layer for each
    edge that skips layers; ``chains`` gives each edge's ids from source to target."""
    depth = max(rank.values(), default=0) + 1
    layers: list[list[str]] = [[] for _ in range(depth)]
    for box in sorted(boxes, key=lambda b: order[b.id]):
        layers[rank[box.id]].append(box.id)
    chains: dict[tuple[str, str], list[str]] = {}
    for s, t in forward:
        chain = [s]
        for layer in range(rank[s] + 1, rank[t]):
            point = f"\x00{s}\x00{t}\x00{layer}"
            layers[layer].append(point)
            chain.append(point)
        chains[(s, t)] = [*chain, t]
    return layers, chains


def _reduce_crossings(layers: list[list[str]], forward: list[tuple[str, str]],
                      chains: dict[tuple[str, str], list[str]]) -> None:
    """Barycentre sweeps, down then up; ties keep the order they had."""
    up: dict[str, list[str]] = {}
    down: dict[str, list[str]] = {}
    for chain in chains.values():
        for a, b in itertools.pairwise(chain):
            down.setdefault(a, []).append(b)
            up.setdefault(b, []).append(a)
    for _ in range(4):
        for neighbours, sweep in ((up, range(1, len(layers))),
                                  (down, range(len(layers) - 2, -1, -1))):
            for layer in sweep:
                reference = layers[layer - 1] if neighbours is up else layers[layer + 1]
                position = {node: n for n, node in enumerate(reference)}

                def barycentre(node: str, current: int, neighbours=neighbours,
                               position=position) -> float:
                    linked = [position[n] for n in neighbours.get(node, ()) if n in position]
                    return sum(linked) / len(linked) if linked else current

                layers[layer] = [node for _, node in sorted(
                    ((barycentre(node, n), node) for n, node in enumerate(layers[layer])),
                    key=lambda item: item[0])]


def _width(node: str, sizes: dict[str, Box]) -> float:
    return sizes[node].width if node in sizes else POINT_WIDTH


def _place(layers: list[list[str]], sizes: dict[str, Box], forward: list[tuple[str, str]],
           chains: dict[tuple[str, str], list[str]]) -> dict[str, Placed]:
    heights = [max((sizes[n].height for n in layer if n in sizes), default=0)
               for layer in layers]
    tops = []
    top = float(MARGIN)
    for height in heights:
        tops.append(top)
        top += height + LAYER_GAP
    centre: dict[str, float] = {}
    for layer in layers:
        x = 0.0
        for node in layer:
            centre[node] = x + _width(node, sizes) / 2
            x += _width(node, sizes) + NODE_GAP
    neighbours: dict[str, list[str]] = {}
    for chain in chains.values():
        for a, b in itertools.pairwise(chain):
            neighbours.setdefault(a, []).append(b)
            neighbours.setdefault(b, []).append(a)
    for _ in range(6):  # pull each node towards its neighbours, keeping order and gaps
        for layer in layers:
            wanted = [sum(centre[n] for n in neighbours[node]) / len(neighbours[node])
                      if neighbours.get(node) else centre[node] for node in layer]
            centre.update(_spread(layer, wanted, sizes))
    left = min((centre[n] - _width(n, sizes) / 2 for n in centre), default=0)
    placed = {}
    for layer, top, layer_height in zip(layers, tops, heights, strict=True):
        for node in layer:
            width = _width(node, sizes)
            height = sizes[node].height if node in sizes else 0
            y = top + (layer_height - height) / 2
            placed[node] = Placed(node, centre[node] - width / 2 - left + MARGIN, y,
                                  width, height)
    return placed


def _spread(layer: list[str], wanted: list[float], sizes: dict[str, Box]
            ) -> dict[str, float]:
    """Centres as close to ``wanted`` as the order and the gaps allow: pushed right where
    they overlap, then left, and the two averaged."""
    half = [_width(node, sizes) / 2 for node in layer]
    rightward = list(wanted)
    for n in range(1, len(layer)):
        rightward[n] = max(rightward[n], rightward[n - 1] + half[n - 1] + NODE_GAP + half[n])
    leftward = list(wanted)
    for n in range(len(layer) - 2, -1, -1):
        leftward[n] = min(leftward[n], leftward[n + 1] - half[n + 1] - NODE_GAP - half[n])
    result = [(a + b) / 2 for a, b in zip(rightward, leftward, strict=True)]
    for n in range(1, len(layer)):  # the average may still overlap: settle rightwards
        result[n] = max(result[n], result[n - 1] + half[n - 1] + NODE_GAP + half[n])
    return dict(zip(layer, result, strict=True))


def _forward_route(placed: dict[str, Placed], chain: list[str]) -> Route:
    points = [(placed[chain[0]].centre, placed[chain[0]].bottom)]
    for point in chain[1:-1]:
        spot = placed[point]
        points.append((spot.centre, spot.y))
    end = placed[chain[-1]]
    points.append((end.centre, end.y))
    path = [f"M {points[0][0]:.1f} {points[0][1]:.1f}"]
    for (x1, y1), (x2, y2) in itertools.pairwise(points):
        middle = (y1 + y2) / 2
        path.append(f"C {x1:.1f} {middle:.1f} {x2:.1f} {middle:.1f} {x2:.1f} {y2:.1f}")
    # The label sits on the first stretch, where edges leaving one node still part.
    (x1, y1), (x2, y2) = points[0], points[1]
    return Route(chain[0], chain[-1], " ".join(path), (x1 + x2) / 2, (y1 + y2) / 2, False)


def _beside(placed: dict[str, Placed], source: Placed, target: Placed) -> float:
    """The right edge of everything between the two ends of a loop, which it goes round."""
    low, high = sorted((source.y, target.y))
    return max(p.x + p.width for p in placed.values()
               if p.bottom >= low and p.y <= high + source.height)


def _back_route(source: Placed, target: Placed, lane: float) -> Route:
    sx, sy = source.x + source.width, source.y + source.height / 2
    tx, ty = target.x + target.width + 6, target.y + target.height / 2
    # Control points placed so that the curve's midpoint (t = 1/2 of the cubic: an
    # eighth of each end and three quarters of the control) lies on the lane.
    control = (lane - (sx + tx) / 8) / 0.75
    path = (f"M {sx:.1f} {sy:.1f} C {control:.1f} {sy:.1f} {control:.1f} {ty:.1f} "
            f"{tx:.1f} {ty:.1f}")
    return Route(source.id, target.id, path, lane, (sy + ty) / 2, True)
