"""What is left to send, kept beside the read models: ``rm_dispatch_queue``.

The contact directory keeps one row per message the policy chose (``ChannelChosen``)
until an outcome ends it (``MessageSent``, ``MessageReconciled``, ``MessageFailed``,
``MessageDeadLettered``), with what decides when it may be handed over: a provider's
retry time (``MessageRetryScheduled``) and the lease of a recorded claim
(``MessageClaimed``; a lapsed lease with no outcome is *in doubt*). The table holds
pending work only, so finding what is due reads those rows through their indexes and
never the history (docs/workers.md).

Workers share it (``pick``): each takes due rows for a while (``taken_by``,
``taken_until``) in one short transaction — ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
two workers never wait for each other's rows; SQLite serialises writers, so the same
statement is atomic there. Only the head of each contact's line is due: a message waits
while an earlier decided message of the same contact is still pending, or any message of
that contact is taken or claimed, so one contact's messages are never in flight twice and
go in decision order. Whatever a worker takes, the store's claim (``MessageClaimed``,
checked under the writer lock) stays the one guarantee that a message is handed over by
one dispatcher only: a lost or stale row costs a wasted read, never a second send.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, exists, func, not_, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from orchestrator.domain import journey_events as je
from orchestrator.projections import tables as t
from orchestrator.projections.view import upsert

log = logging.getLogger(__name__)

LIFECYCLE_FACTS = (je.JourneyPaused, je.JourneyResumed, je.JourneyArchived)
_STATE = {je.JourneyPaused: "paused", je.JourneyResumed: "active",
          je.JourneyArchived: "archived"}
# The columns the projection writes; workers own the others.
_KEPT = ("order_key", "journey", "channel", "decided_at", "not_before", "lease_until")


def _utc(at: str) -> str:
    return datetime.fromisoformat(at).astimezone(UTC).isoformat()


class DispatchQueue:
    """The queue rows of one page of events, changed in memory and written back with the
    page (same transaction as the other read models and the tracking position)."""

    def __init__(self, conn: Any, messages: list[str]):
        self.conn = conn
        self.rows: dict[str, dict[str, Any]] = {}
        for start in range(0, len(messages), 500):
            chunk = messages[start:start + 500]
            for row in conn.execute(select(*(t.dispatch_queue.c[c] for c in (
                    "message", *_KEPT))).where(t.dispatch_queue.c.message.in_(chunk))):
                self.rows[row.message] = dict(row._mapping)
        self.removed: set[str] = set()
        self.changed: set[str] = set()
        self.states: dict[str, str] = {}

    def lifecycle(self, event: Any) -> None:
        self.states[event.journey] = _STATE[type(event)]

    def apply(self, event: Any, message_row: dict[str, Any] | None) -> None:
        message = event.message
        if isinstance(event, je.ChannelChosen):
            if message_row is None:
                return  # a decision about a message this store never scheduled
            row = self.rows.get(message) or {
                "message": message,
                "order_key": message_row["contact"] or f"message:{message}",
                "journey": message_row["journey"]}
            row.update(channel=event.channel, decided_at=_utc(event.at), not_before=None,
                       lease_until=None)
            self._keep(message, row)
            return
        row = self.rows.get(message)
        if row is None:
            return
        if isinstance(event, je.MessageSent | je.MessageFailed):
            del self.rows[message]
            self.changed.discard(message)
            self.removed.add(message)
        elif isinstance(event, je.MessageClaimed):
            row.update(lease_until=_utc(event.lease_until), not_before=None)
            self._keep(message, row)
        elif isinstance(event, je.MessageRetryScheduled):
            row.update(lease_until=None, not_before=_utc(event.not_before))
            self._keep(message, row)
        elif isinstance(event, je.MessageClaimReleased | je.ChannelRejected):
            row.update(lease_until=None, not_before=None)
            self._keep(message, row)

    def _keep(self, message: str, row: dict[str, Any]) -> None:
        self.rows[message] = row
        self.removed.discard(message)
        self.changed.add(message)

    def write(self) -> None:
        queue = t.dispatch_queue
        _lock_in_order(self.conn, queue.c.message.in_(sorted(self.removed | self.changed)))
        if self.removed:
            gone = sorted(self.removed)
            for start in range(0, len(gone), 500):
                self.conn.execute(delete(queue).where(
                    queue.c.message.in_(gone[start:start + 500])))
        rows = [{"message": m, **{c: self.rows[m][c] for c in _KEPT}}
                for m in sorted(self.changed)]
        if rows:
            dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
            statement = dialect.insert(queue)
            statement = statement.on_conflict_do_update(
                index_elements=["message"], set_={c: statement.excluded[c] for c in _KEPT})
            self.conn.execute(statement, rows)
        if self.states:
            upsert(self.conn, t.journey_states,
                   [{"journey": j, "state": s} for j, s in sorted(self.states.items())],
                   ["journey"])


def _lock_in_order(conn: Any, where: Any) -> None:
    """Lock the rows about to change in one order (by message) before changing them: the
    projection and the workers both write rows of this table, and two transactions that
    take row locks in the same order never deadlock. (SQLite serialises writers.)"""
    if conn.dialect.name == "postgresql":
        queue = t.dispatch_queue
        conn.execute(select(queue.c.message).where(where).order_by(queue.c.message)
                     .with_for_update())


# --- what workers and `status` ask -----------------------------------------------------------

def _text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _not_active() -> Any:
    return select(t.journey_states.c.journey).where(t.journey_states.c.state != "active")


def _free(column: Any, now: str) -> Any:
    return or_(column.is_(None), column <= now)


def _due_rows(now: str) -> Any:
    """Rows that may be handed over now, whoever holds them (claims and takings aside)."""
    q = t.dispatch_queue
    return and_(_free(q.c.not_before, now), _free(q.c.parked_until, now),
                q.c.journey.not_in(_not_active()))


def pick(engine: Any, worker: str, now: datetime, limit: int, lease: timedelta,
         channels: Iterable[str] | None = None) -> list[str]:
    """Take up to ``limit`` due messages for ``worker`` until ``now + lease``: the heads of
    their contacts' lines, oldest decision first, none that another worker holds; only
    messages on ``channels`` when given (the channels this worker can send on)."""
    now_text = _text(now)
    candidate = t.dispatch_queue.alias("candidate")
    earlier_row = t.dispatch_queue.alias("earlier")
    busy_row = t.dispatch_queue.alias("busy")
    held = _not_active()
    # Two index-friendly tests (order_key, decided_at), so the database walks the due rows
    # in decision order and stops at the limit instead of joining the whole queue.
    earlier = exists().where(
        earlier_row.c.order_key == candidate.c.order_key,
        earlier_row.c.decided_at <= candidate.c.decided_at,
        or_(earlier_row.c.decided_at < candidate.c.decided_at,
            earlier_row.c.message < candidate.c.message),
        earlier_row.c.journey.not_in(held), _free(earlier_row.c.parked_until, now_text))
    busy = exists().where(
        busy_row.c.order_key == candidate.c.order_key,
        or_(busy_row.c.taken_until > now_text, busy_row.c.lease_until > now_text))
    due = (select(candidate.c.message)
           .where(_free(candidate.c.not_before, now_text),
                  _free(candidate.c.lease_until, now_text),
                  _free(candidate.c.taken_until, now_text),
                  _free(candidate.c.parked_until, now_text),
                  candidate.c.journey.not_in(held), not_(earlier), not_(busy),
                  *([] if channels is None else [candidate.c.channel.in_(sorted(channels))]))
           .order_by(candidate.c.decided_at, candidate.c.message).limit(limit))
    if engine.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True, of=candidate)
    queue = t.dispatch_queue
    with engine.begin() as conn:
        taken = conn.execute(
            update(queue).where(queue.c.message.in_(due))
            .values(taken_by=worker, taken_until=_text(now + lease))
            .returning(queue.c.message, queue.c.decided_at)).all()
    return [message for message, _ in sorted(taken, key=lambda r: (r[1], r[0]))]


def give_back(engine: Any, worker: str) -> None:
    """What ``worker`` took and did not finish is free again (its claims, retry times and
    outcomes, once the read model has them, say what comes next)."""
    queue = t.dispatch_queue
    with engine.begin() as conn:
        _lock_in_order(conn, queue.c.taken_by == worker)
        conn.execute(update(queue).where(queue.c.taken_by == worker)
                     .values(taken_by=None, taken_until=None))


def park(engine: Any, messages: Iterable[str], until: datetime) -> None:
    """Messages left in doubt for a person (SMS that may have gone): not due, and not
    holding their contact's line, until ``until`` (then looked at again: feedback may
    have proved them sent meanwhile)."""
    wanted = sorted(set(messages))
    if not wanted:
        return
    queue = t.dispatch_queue
    with engine.begin() as conn:
        _lock_in_order(conn, queue.c.message.in_(wanted))
        conn.execute(update(queue).where(queue.c.message.in_(wanted))
                     .values(parked_until=_text(until)))


def refresh_statistics(engine: Any) -> None:
    """PostgreSQL: fresh planner statistics for the queue, so ``pick`` walks the decision
    index and stops at its limit (a never-analysed table is planned as a tiny one, and
    then joined whole). Best effort: a role that may not analyse leaves it to autovacuum."""
    if engine.dialect.name != "postgresql":
        return
    try:
        with engine.begin() as conn:
            conn.execute(text(f"ANALYZE {t.dispatch_queue.name}"))
    except DBAPIError as error:
        log.info("could not analyse the dispatch queue: %s", type(error).__name__)


def held_journeys(engine: Any) -> frozenset[str]:
    with engine.connect() as conn:
        return frozenset(conn.execute(_not_active()).scalars())


def pending_now(engine: Any, now: datetime, channels: Iterable[str] | None = None) -> int:
    """Rows due now or in flight (taken, claimed), on ``channels`` when given: zero means
    nothing to do at the moment."""
    where = _due_rows(_text(now))
    if channels is not None:
        where = and_(where, t.dispatch_queue.c.channel.in_(sorted(channels)))
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(t.dispatch_queue)
                                .where(where)).scalar() or 0)


@dataclass(frozen=True)
class QueueFigures:
    due: int  # chosen, unsent, may be handed over now (no claim running)
    in_flight: int  # claimed (a lease runs) or taken by a worker
    in_doubt: int  # a claim whose lease ran out without an outcome, or parked by a worker
    retry_later: int  # waiting for a provider's retry time
    held: int  # of a paused or archived journey
    dead_letters: int

    def as_json(self) -> dict[str, int]:
        return {"due": self.due, "in_flight": self.in_flight, "in_doubt": self.in_doubt,
                "retry_later": self.retry_later, "held": self.held,
                "dead_letters": self.dead_letters}


def figures(engine: Any, now: datetime) -> QueueFigures:
    """The queue's counts now, in one read (``status``, ``/metrics``)."""
    q = t.dispatch_queue
    n = _text(now)
    held = q.c.journey.in_(_not_active())
    def later(column: Any) -> Any:  # false, not NULL, when the column is empty
        return func.coalesce(column, "") > n

    leased, taken = later(q.c.lease_until), later(q.c.taken_until)
    parked, waiting = later(q.c.parked_until), later(q.c.not_before)
    lapsed = and_(q.c.lease_until.is_not(None), q.c.lease_until <= n)

    def count(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    with engine.connect() as conn:
        row = conn.execute(select(
            count(and_(not_(held), not_(waiting), not_(leased), not_(taken), not_(parked),
                       not_(lapsed))),
            count(and_(not_(held), or_(leased, taken))),
            count(and_(not_(held), not_(leased), not_(taken), or_(lapsed, parked))),
            count(and_(not_(held), waiting, not_(leased), not_(taken))),
            count(held)).select_from(q)).one()
        dead = conn.execute(select(func.count()).select_from(t.messages)
                            .where(t.messages.c.dead_letter.is_(True))).scalar()
    return QueueFigures(*(int(v or 0) for v in row), dead_letters=int(dead or 0))
