"""``orchestrator audit verify``: recompute the chain and compare it with what is stored.

Walks the events and their chain links side by side, in position order, and stops at the
first position where they disagree:
- an event whose recomputed link differs from its stored link (a changed byte, a swap);
- a link whose event is gone, or whose ``previous`` names an event that is gone (removed);
- an event without a link (inserted);
- a checkpoint beyond the last event (truncated), or whose signed head no longer matches
  (history rewritten up to it, links and all).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from orchestrator.audit.checkpoints import Checkpoint
from orchestrator.persistence import chain

PAGE = 5000


@dataclass
class Verification:
    events: int = 0
    last_position: int = 0
    broken_at: int | None = None
    problem: str | None = None
    checkpoints_checked: int = 0
    signatures_checked: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return self.broken_at is None

    def fail(self, position: int, problem: str) -> Verification:
        self.broken_at = position
        self.problem = problem
        return self

    def as_json(self) -> dict[str, Any]:
        return {"intact": self.intact, "events": self.events,
                "last_position": self.last_position, "first_broken_position": self.broken_at,
                "problem": self.problem, "checkpoints_checked": self.checkpoints_checked,
                "signatures_checked": self.signatures_checked, "notes": self.notes}


def verify(store: Any, extra_checkpoints: list[Checkpoint] = (),  # type: ignore[assignment]
           public_key: bytes | None = None) -> Verification:
    result = Verification()
    with store.read() as tables:
        checkpoints = [Checkpoint.from_row(r) for r in tables.checkpoints()]
        checkpoints += list(extra_checkpoints)
        heads = _walk(tables, result, {c.position for c in checkpoints})
        if not result.intact:
            return result
        _check_checkpoints(checkpoints, heads, result, public_key)
    return result


def _walk(tables: Any, result: Verification, wanted: set[int]) -> dict[int, bytes]:
    """Recompute every link; returns the recomputed heads at the ``wanted`` positions
    (memory stays flat however long the history is)."""
    wanted_heads: dict[int, bytes] = {}
    head, last = chain.GENESIS, 0
    events, links = _rows(tables.raw_events), _rows(tables.chain_links)
    event, link_row = next(events, None), next(links, None)
    while event is not None or link_row is not None:
        event_position = event[0] if event else None
        link_position = link_row[0] if link_row else None
        if link_row is not None and (event is None or link_position < event_position):
            result.fail(link_position, f"event at position {link_position} is missing "
                                       "(removed); its chain link is still there")
            return wanted_heads
        if link_row is None or event_position < link_position:
            result.fail(event_position, f"event at position {event_position} has no chain "
                                        "link (inserted after the fact)")
            return wanted_heads
        position, stream, version, topic, state = event
        _, previous, stored_link = link_row
        if previous != last:
            missing = previous if previous > last else last
            result.fail(missing, f"event at position {missing} is missing (removed together "
                                 f"with its link); position {position} follows it")
            return wanted_heads
        head = chain.link(head, position, stream, version, topic, state)
        if head != stored_link:
            result.fail(position, f"event at position {position} was altered: its bytes no "
                                  "longer match the chain")
            return wanted_heads
        if position in wanted:
            wanted_heads[position] = head
        last = position
        result.events += 1
        result.last_position = position
        event, link_row = next(events, None), next(links, None)
    return wanted_heads


def _rows(select: Any) -> Iterator[Any]:
    after = 0
    while True:
        page = select(after, PAGE)
        if not page:
            return
        yield from page
        after = page[-1][0]


def _check_checkpoints(checkpoints: list[Checkpoint], heads: dict[int, bytes],
                       result: Verification, public_key: bytes | None) -> None:
    for checkpoint in sorted(checkpoints, key=lambda c: c.position):
        if checkpoint.signature is not None:
            if not checkpoint.signature_holds(public_key):
                result.fail(checkpoint.position, f"checkpoint at position "
                            f"{checkpoint.position} has a signature that does not verify"
                            + (" with the given public key" if public_key else ""))
                return
            result.signatures_checked += 1
        if checkpoint.position > result.last_position:
            result.fail(result.last_position + 1, f"history truncated: a checkpoint covers "
                        f"position {checkpoint.position} but the store ends at "
                        f"{result.last_position}")
            return
        if heads.get(checkpoint.position) != checkpoint.link:
            result.fail(checkpoint.position, f"history up to position {checkpoint.position} "
                        "was rewritten: it no longer matches its checkpoint")
            return
        result.checkpoints_checked += 1
    if public_key is None and result.signatures_checked:
        result.notes.append("signatures were checked with the key each checkpoint names; "
                            "pass --public-key to pin the key you trust")
