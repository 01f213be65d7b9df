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

from dataclasses import dataclass, field
from typing import Any

from orchestrator.persistence import chain
from orchestrator.persistence.checkpoints import Checkpoint

sha256 = chain.sha256

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
    (memory stays flat however long the history is). Events and links are read a page at
    a time from the same starting position, so they line up row by row while intact."""
    wanted_heads: dict[int, bytes] = {}
    head, last = chain.GENESIS, 0
    id_bytes = chain.id_bytes
    while True:
        events = tables.raw_events(last, PAGE)
        links = tables.chain_links(last, PAGE)
        if not events and not links:
            return wanted_heads
        for event, link_row in zip(events, links, strict=False):
            position, stream, version, topic, state = event
            link_position, previous, stored_link = link_row
            if position != link_position:
                if link_position < position:
                    result.fail(link_position, f"event at position {link_position} is "
                                               "missing (removed); its chain link is still there")
                else:
                    result.fail(position, f"event at position {position} has no chain link "
                                          "(inserted after the fact)")
                return wanted_heads
            if previous != last:
                missing = previous if previous > last else last
                result.fail(missing, f"event at position {missing} is missing (removed "
                                     f"together with its link); position {position} follows it")
                return wanted_heads
            head = sha256(b"".join((head, position.to_bytes(8, "big"), id_bytes(stream),
                                    version.to_bytes(8, "big", signed=True), topic.encode(),
                                    b"\x00", state))).digest()
            if head != stored_link:
                result.fail(position, f"event at position {position} was altered: its bytes "
                                      "no longer match the chain")
                return wanted_heads
            if position in wanted:
                wanted_heads[position] = head
            last = position
        result.events += min(len(events), len(links))
        result.last_position = last
        if len(events) != len(links):
            if len(links) > len(events):
                position = links[len(events)][0]
                result.fail(position, f"event at position {position} is missing (removed); "
                                      "its chain link is still there")
            else:
                position = events[len(links)][0]
                result.fail(position, f"event at position {position} has no chain link "
                                      "(inserted after the fact)")
            return wanted_heads


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
