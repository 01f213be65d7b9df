"""Graph checks over a journey's steps: what is never reached, and which loops never wait.

Steps are nodes; an edge goes from a step to each step a contact can move to next
(fall-through or ``goto``). Pure functions over ids, so they run on a journey that is
still being validated and may have broken ``goto``s (those edges are simply absent).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence


def unreachable(order: Sequence[str], edges: Mapping[str, Sequence[str]]) -> list[str]:
    """The steps no path from the first step leads to, in file order."""
    if not order:
        return []
    reached = {order[0]}
    pending = [order[0]]
    while pending:
        for following in edges.get(pending.pop(), ()):
            if following not in reached:
                reached.add(following)
                pending.append(following)
    return [step for step in order if step not in reached]


def reached_without(
    order: Sequence[str], edges: Mapping[str, Sequence[str]], passing: Collection[str]
) -> dict[str, list[str]]:
    """Each step a contact can reach from the first step without having left any step in
    ``passing`` (such as the wait_until steps), with one such path (step ids, first step
    first, the step itself last)."""
    if not order:
        return {}
    paths = {order[0]: [order[0]]}
    pending = [order[0]]
    while pending:
        step = pending.pop(0)
        if step in passing:
            continue  # leaving it, the contact has passed one
        for following in edges.get(step, ()):
            if following not in paths:
                paths[following] = [*paths[step], following]
                pending.append(following)
    return paths


def loops_without_wait(
    order: Sequence[str], edges: Mapping[str, Sequence[str]], waits: Collection[str]
) -> list[list[str]]:
    """Each group of steps that a contact could go round forever without waiting, as a
    list of step ids in file order. A cycle avoids every wait exactly when it is a cycle
    of the graph with the waiting steps removed, so these are that graph's strongly
    connected components that hold a cycle."""
    instant = [step for step in order if step not in waits]
    instant_edges = {
        step: [following for following in edges.get(step, ()) if following not in waits]
        for step in instant
    }
    position = {step: index for index, step in enumerate(order)}
    loops = []
    for component in _strongly_connected(instant, instant_edges):
        step = next(iter(component))
        if len(component) > 1 or step in instant_edges[step]:
            loops.append(sorted(component, key=position.__getitem__))
    return sorted(loops, key=lambda loop: position[loop[0]])


def _strongly_connected(
    nodes: Sequence[str], edges: Mapping[str, Sequence[str]]
) -> list[set[str]]:
    """Tarjan's algorithm, iterative so a long journey cannot overflow the stack."""
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[set[str]] = []
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(edges.get(root, ())))]
        index[root] = lowlink[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            advanced = False
            for following in successors:
                if following not in index:
                    index[following] = lowlink[following] = len(index)
                    stack.append(following)
                    on_stack.add(following)
                    work.append((following, iter(edges.get(following, ()))))
                    advanced = True
                    break
                if following in on_stack:
                    lowlink[node] = min(lowlink[node], index[following])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                lowlink[parent] = min(lowlink[parent], lowlink[node])
            if lowlink[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                components.append(component)
    return components
