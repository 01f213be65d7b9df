"""``orchestrator audit verify``: recompute the chain and compare it with what is stored.

Walks the events and their chain links side by side, in position order, and stops at the
first position where they disagree:
- an event whose recomputed link differs from its stored link (a changed byte, a swap);
- a link whose event is gone, or whose ``previous`` names an event that is gone (removed);
- an event without a link (inserted);
- sealed personal data that does not open with its subject's key, when no erasure of that
  subject is recorded after it (the key table is not chained: a swapped, replaced or
  deleted key is found only by opening the blobs);
- a checkpoint beyond the last event (truncated), or whose signed head no longer matches
  (history rewritten up to it, links and all);
- with a pinned public key, a head that no checkpoint signed by that key covers (the store
  was truncated and its checkpoints deleted, or events were appended after the last one).

A broken result also says which events did verify (``verified_events``, up to position
``verified_up_to``); docs/tamper-evidence.md says how that is counted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.utils import get_topic, resolve_topic

from orchestrator.domain import events as ev
from orchestrator.persistence import chain
from orchestrator.persistence.checkpoints import Checkpoint
from orchestrator.persistence.sealing import blob_opens, sealed_text

sha256 = chain.sha256

PAGE = 5000
KEY_CACHE = 50_000
ERASURE_TOPIC = get_topic(ev.ContactErased)


@dataclass
class Verification:
    events: int = 0
    last_position: int = 0
    broken_at: int | None = None
    problem: str | None = None
    checkpoints_checked: int = 0
    signatures_checked: int = 0
    sealed_checked: int = 0
    verified_events: int = 0
    verified_up_to: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return self.broken_at is None

    def fail(self, position: int, problem: str,
             verified: tuple[int, int] | None = None) -> Verification:
        """Record the first broken position; ``verified`` is (events, up to position) that
        still verify, else every event walked so far."""
        self.broken_at = position
        self.problem = problem
        self.verified_events, self.verified_up_to = (
            verified if verified is not None else (self.events, self.last_position))
        return self

    def as_json(self) -> dict[str, Any]:
        return {"intact": self.intact, "events": self.events,
                "last_position": self.last_position, "first_broken_position": self.broken_at,
                "problem": self.problem, "verified_events": self.verified_events,
                "verified_up_to": self.verified_up_to,
                "checkpoints_checked": self.checkpoints_checked,
                "signatures_checked": self.signatures_checked,
                "sealed_checked": self.sealed_checked, "notes": self.notes}


def verify(store: Any, extra_checkpoints: list[Checkpoint] = (),  # type: ignore[assignment]
           public_key: bytes | None = None) -> Verification:
    with store.read() as tables:
        return verify_tables(tables, extra_checkpoints, public_key)


def verify_tables(tables: Any, extra_checkpoints: list[Checkpoint] = (),  # type: ignore[assignment]
                  public_key: bytes | None = None) -> Verification:
    """``verify`` inside a transaction the caller holds (``store copy`` checks its copy
    this way before committing it)."""
    result = Verification()
    checkpoints = [Checkpoint.from_row(r) for r in tables.checkpoints()]
    checkpoints += list(extra_checkpoints)
    heads = _walk(tables, result, {c.position for c in checkpoints})
    if not result.intact:
        return result
    _check_checkpoints(checkpoints, heads, result, public_key)
    if result.intact:
        result.verified_events, result.verified_up_to = result.events, result.last_position
    return result


def _walk(tables: Any, result: Verification,
          wanted: set[int]) -> dict[int, tuple[bytes, int]]:
    """Recompute every link and open every sealed blob; returns the recomputed heads (and
    the number of events up to them) at the ``wanted`` positions (memory stays flat however
    long the history is). Events and links are read a page at a time from the same starting
    position, so they line up row by row while intact."""
    wanted_heads: dict[int, tuple[bytes, int]] = {}
    seals = _Seals()
    may_be_sealed = seals.may_be_sealed
    head, last = chain.GENESIS, 0
    id_bytes = chain.id_bytes
    fromhex = bytes.fromhex
    topics: dict[str, bytes] = {}  # each topic's bytes in a link, with the 0x00 after it
    while True:
        events = tables.raw_events_with_keys(last, PAGE)
        links = tables.chain_links(last, PAGE)
        if not events and not links:
            seals.finish(result)
            return wanted_heads
        for event, link_row in zip(events, links, strict=False):
            position, stream, version, topic, state, key = event
            link_position, previous, stored_link = link_row
            if position != link_position:
                if link_position < position:
                    seals.fail(result, link_position, f"event at position {link_position} is "
                               "missing (removed); its chain link is still there")
                else:
                    seals.fail(result, position, f"event at position {position} has no chain "
                               "link (inserted after the fact)")
                return wanted_heads
            if previous != last:
                missing = previous if previous > last else last
                seals.fail(result, missing, f"event at position {missing} is missing (removed "
                           f"together with its link); position {position} follows it")
                return wanted_heads
            subject = (fromhex(stream) if type(stream) is str and len(stream) == 32
                       else id_bytes(stream))
            topic_bytes = topics.get(topic)
            if topic_bytes is None:
                topic_bytes = topics[topic] = topic.encode() + b"\x00"
            head = sha256(b"".join((head, position.to_bytes(8, "big"), subject,
                                    version.to_bytes(8, "big", signed=True), topic_bytes,
                                    state))).digest()
            if head != stored_link:
                seals.fail(result, position, f"event at position {position} was altered: its "
                           "bytes no longer match the chain")
                return wanted_heads
            if may_be_sealed.get(topic, True):
                problem = seals.check(position, subject, version, topic, state, key, result)
                if problem is not None:
                    seals.fail(result, position, problem)
                    return wanted_heads
            result.events += 1
            result.last_position = last = position
            if position in wanted:
                wanted_heads[position] = (head, result.events)
        if len(events) != len(links):
            if len(links) > len(events):
                position = links[len(events)][0]
                seals.fail(result, position, f"event at position {position} is missing "
                           "(removed); its chain link is still there")
            else:
                position = events[len(links)][0]
                seals.fail(result, position, f"event at position {position} has no chain "
                           "link (inserted after the fact)")
            return wanted_heads


class _Seals:
    """Opens every sealed blob with its subject's key, as the mapper will when it reads.

    A blob that does not open, or whose subject has no key, is what ``orchestrator forget``
    leaves behind (the key destroyed; a later fact about the same phone or handle may
    create a new one): it is explained by an erasure of that subject recorded *after* it.
    Until such an erasure is walked past it is pending; a pending blob left at the end is
    tampering with the key table (a key swapped, replaced or deleted outside ``forget``).
    Subjects are kept as their 16 bytes, and each key comes with its event (one query)."""

    def __init__(self) -> None:
        self.ciphers: dict[bytes, AESGCM] = {}
        self.pending: dict[bytes, tuple[int, str, int, int]] = {}
        # Whether events of a topic can hold a blob (or are erasures): False skips them.
        self.may_be_sealed: dict[str, bool] = {}

    def check(self, position: int, subject: bytes, version: int, topic: str, state: bytes,
              key: bytes | None, result: Verification) -> str | None:
        if topic not in self.may_be_sealed:
            self.may_be_sealed[topic] = topic == ERASURE_TOPIC or _has_personal_fields(topic)
            if not self.may_be_sealed[topic]:
                return None
        if topic == ERASURE_TOPIC:
            self._erasure(subject, state)
            return None
        try:
            sealed = sealed_text(state)
        except ValueError:
            return f"event at position {position} cannot be decoded"
        if sealed is None:
            return None
        result.sealed_checked += 1
        if key:  # an empty key is the tombstone `forget` leaves
            cipher = self.ciphers.get(key)
            if cipher is None:
                if len(self.ciphers) >= KEY_CACHE:
                    self.ciphers.clear()
                cipher = self.ciphers[key] = AESGCM(key)
            if blob_opens(cipher, sealed, subject, version):
                return None
            why = ("does not open with its subject's key, and no erasure of that subject is "
                   "recorded after it: the key table was tampered with (a key swapped or "
                   "replaced)")
        else:
            why = ("has no key for its subject, and no erasure of that subject is recorded "
                   "after it: a key was deleted outside `orchestrator forget`")
        if subject not in self.pending:
            self.pending[subject] = (position, f"the sealed personal data of the event at "
                                     f"position {position} {why}", result.events,
                                     result.last_position)
        return None

    def _erasure(self, stream: bytes, state: bytes) -> None:
        try:
            named = json.loads(state).get("subjects")
            erased = [bytes.fromhex(s) for s in named] if named is not None else [stream]
        except (ValueError, TypeError, AttributeError):
            return  # not an erasure this product wrote: it explains nothing
        for subject in erased:
            self.pending.pop(subject, None)

    def _first_pending(self) -> tuple[int, str, int, int] | None:
        return min(self.pending.values(), default=None)

    def fail(self, result: Verification, position: int, problem: str) -> None:
        """A break in the walk at ``position``: the events before it verified, except from
        the first blob still pending (whether an erasure explains it lies past the break)."""
        first = self._first_pending()
        if first is not None and first[0] < position:
            result.fail(position, problem, (first[2], first[3]))
        else:
            result.fail(position, problem)

    def finish(self, result: Verification) -> None:
        first = self._first_pending()
        if first is not None:
            position, problem, events, up_to = first
            result.fail(position, problem, (events, up_to))


def _has_personal_fields(topic: str) -> bool:
    """Whether events of ``topic`` can hold a sealed blob (a topic no class answers to is
    looked at too: the mapper cannot read it either)."""
    try:
        return bool(getattr(resolve_topic(topic), "PERSONAL_FIELDS", ()))
    except Exception:
        return True


def _check_checkpoints(checkpoints: list[Checkpoint], heads: dict[int, tuple[bytes, int]],
                       result: Verification, public_key: bytes | None) -> None:
    held = (0, 0)  # (events, position) of the last checkpoint that held
    signed_held: tuple[int, int] | None = None  # the same, for a signed one
    for checkpoint in sorted(checkpoints, key=lambda c: c.position):
        if checkpoint.signature is not None:
            if not checkpoint.signature_holds(public_key):
                result.fail(checkpoint.position, f"checkpoint at position "
                            f"{checkpoint.position} has a signature that does not verify"
                            + (" with the given public key" if public_key else ""), held)
                return
            result.signatures_checked += 1
        if checkpoint.position > result.last_position:
            result.fail(result.last_position + 1, f"history truncated: a checkpoint covers "
                        f"position {checkpoint.position} but the store ends at "
                        f"{result.last_position}")
            return
        head, events = heads.get(checkpoint.position, (None, 0))
        if head != checkpoint.link:
            result.fail(checkpoint.position, f"history up to position {checkpoint.position} "
                        "was rewritten: it no longer matches its checkpoint", held)
            return
        result.checkpoints_checked += 1
        held = (events, checkpoint.position)
        if checkpoint.signature is not None:
            signed_held = held
    if public_key is not None:
        _require_signed_head(result, signed_held)
    elif result.signatures_checked:
        result.notes.append("signatures were checked with the key each checkpoint names; "
                            "pass --public-key to pin the key you trust")


def _require_signed_head(result: Verification, signed_held: tuple[int, int] | None) -> None:
    """With a pinned key, only a signature proves where the history ends: the head must be
    covered by a checkpoint signed by that key (every write command records one)."""
    head = result.last_position
    if head == 0 or (signed_held is not None and signed_held[1] == head):
        return
    if signed_held is None:
        found = "found none signed by the given public key"
    else:
        found = (f"the last one signed by the given public key covers position "
                 f"{signed_held[1]}: what follows it is not proven")
    result.fail(head, f"no signed checkpoint covers the head (position {head}); {found}. "
                "The store may have been truncated and its checkpoints deleted, or events "
                "appended after the last signed checkpoint", signed_held or (0, 0))
