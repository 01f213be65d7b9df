"""The tamper-evidence chain: one SHA-256 link per stored event, in notification order.

``link(n) = SHA-256(link(n-1) || position || originator id || version || topic || 0x00 || state)``

The links cover the stored bytes (personal fields are already sealed there), so erasing
a person by destroying a key changes nothing the chain covers and the chain still verifies.
Links are written in the same transaction as the events they cover, by the recorders in
``orchestrator.persistence.sqlite`` and ``orchestrator.persistence.postgres``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from hashlib import sha256
from typing import Protocol
from uuid import UUID

GENESIS = bytes(32)


class StoredRow(Protocol):
    originator_id: UUID | str
    originator_version: int
    topic: str
    state: bytes


def link(previous: bytes, position: int, originator_id: UUID | str, version: int,
         topic: str, state: bytes) -> bytes:
    return sha256(b"".join((
        previous, position.to_bytes(8, "big"), id_bytes(originator_id),
        version.to_bytes(8, "big", signed=True), topic.encode(), b"\x00", state,
    ))).digest()


def extend(previous: int, head: bytes, positions: Sequence[int],
           rows: Iterable[StoredRow]) -> list[tuple[int, int, bytes]]:
    """Chain rows ``(position, previous position, link)`` for ``rows`` recorded at
    ``positions``, continuing from the event at ``previous`` whose link is ``head``.
    Keeping the previous position lets a verifier name a removed event exactly, even on
    PostgreSQL where positions may legitimately skip numbers."""
    chained = []
    for position, row in zip(positions, rows, strict=True):
        head = link(head, position, row.originator_id, row.originator_version, row.topic,
                    row.state)
        chained.append((position, previous, head))
        previous = position
    return chained


def id_bytes(originator_id: UUID | str) -> bytes:
    if isinstance(originator_id, UUID):
        return originator_id.bytes
    return bytes.fromhex(originator_id.replace("-", ""))  # the 16 bytes, without a UUID object
