"""The contact directory: who each contact is to us now, kept up to date from the log.

An eventsourcing ``Projection`` over the ledger's notification log. Events are applied a
page at a time: the page's rows are read, changed in memory and written back, and the
tracking position moves in the same transaction, so a projection killed half-way resumes
exactly where its last committed page ended and never applies an event twice.

Facts with a business time (``at``) older than the one already kept never overwrite it:
a late file with old consents cannot undo a newer withdrawal.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection
from sqlalchemy import and_, delete, func, select

from orchestrator.domain import events as ev
from orchestrator.domain import journey_events as je
from orchestrator.domain import message_lifecycle as lifecycle
from orchestrator.domain import subjects, suppressions
from orchestrator.domain.events import ERASED
from orchestrator.domain.stages import StageThresholds, relationship_stage
from orchestrator.domain.time_range import unusable_time
from orchestrator.domain.vocabulary import PRIVATE_CHANNELS, PUBLIC_INTENTS
from orchestrator.projections import tables as t
from orchestrator.projections.dispatch_queue import LIFECYCLE_FACTS, DispatchQueue
from orchestrator.projections.view import SQLAlchemyView, upsert

# Every fact that moves a message's standing (domain/message_lifecycle.py folds them).
MESSAGE_FACTS = (je.MessageScheduled, je.MessageSent, je.MessageDecided, je.MessageFailed,
                 je.MessageClaimed, je.MessageClaimReleased, je.ChannelRejected,
                 ev.MessageFeedbackRecorded)


def utc_text(at: str) -> str:
    """``at`` (ISO-8601 with an offset) as the same moment in UTC, in ISO-8601 (kept for
    the last few thousand texts: facts of one file share their times often)."""
    found = _UTC_TEXTS.get(at)
    if found is None:
        if len(_UTC_TEXTS) >= UTC_TEXTS_KEPT:
            _UTC_TEXTS.clear()
        found = _UTC_TEXTS[at] = datetime.fromisoformat(at).astimezone(UTC).isoformat()
    return found


UTC_TEXTS_KEPT = 8_192
_UTC_TEXTS: dict[str, str] = {}


class ContactDirectory(Projection[SQLAlchemyView]):
    family = "contact_directory"
    # Bump the version when the rows kept change: views of another version are rebuilt.
    name = f"{family}@5"

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.process_page([domain_event], tracking)

    def process_page(self, events: Sequence[Any], tracking: Tracking) -> None:
        with self.view.engine.begin() as conn:
            _Page(conn, events).apply()
            self.view.track(conn, self.name, tracking)


class _Page:
    def __init__(self, conn: Any, events: Sequence[Any]):
        self.conn = conn
        self.events = events

    def apply(self) -> None:
        # One pass sorts the page: facts with an unusable time, and the keys of the rows
        # the others touch (contacts, phones, messages), loaded below in a few queries.
        usable, failures = [], []
        names: set[str] = set()
        phone_set: set[str] = set()
        message_set: set[str] = set()
        for e in self.events:
            reason = unusable_time(e)
            if reason is not None:
                failures.append({"stream": e.originator_id.hex, "version": e.originator_version,
                                 "event_type": type(e).__name__, "reason": reason})
                continue
            usable.append(e)
            if isinstance(e, MESSAGE_FACTS):
                if e.message:
                    message_set.add(e.message)
            elif isinstance(e, ev.InboundSmsReceived):
                phone_set.add(e.originator_id.hex)
            else:
                name = _contact_of(e)
                if name:
                    names.add(name)
        if failures:
            upsert(self.conn, t.processing_failures, failures, ["stream", "version"])
        self.events = usable
        contact_names = sorted(names)
        contacts = self._load(t.contacts, t.contacts.c.contact, contact_names, key="contact")
        consents = {(r["contact"], r["channel"], r["purpose"]): r for r in self._rows(
            t.consents, t.consents.c.contact, contact_names)}
        phones = sorted(phone_set)
        opt_outs = self._load(t.sms_opt_outs, t.sms_opt_outs.c.phone_stream, phones,
                              key="phone_stream")
        purchases, new_phones, erased = [], [], []
        message_ids = sorted(message_set)
        messages = self._load(t.messages, t.messages.c.message, message_ids, key="message")
        queue = DispatchQueue(self.conn, [m for m in message_ids])
        stopped: list[dict[str, Any]] = []
        for event in self.events:
            if isinstance(event, LIFECYCLE_FACTS):
                queue.lifecycle(event)
                continue
            if isinstance(event, MESSAGE_FACTS):
                _message(messages, event)
                queue.apply(event, messages.get(event.message or ""))
                if isinstance(event, ev.MessageFeedbackRecorded):
                    stopped.extend(_suppression(messages.get(event.message or ""), event))
                continue
            if isinstance(event, ev.InboundSmsReceived):
                self._opt_out(opt_outs, event)
                continue
            name = _contact_of(event)
            if not name:
                continue
            if isinstance(event, ev.ContactErased):
                erased.append(name)
                row = contacts.get(name)
                if row:
                    row["erased"] = True
                continue
            at = utc_text(event.at)
            row = contacts.setdefault(name, {
                "contact": name, "kind": "unknown", "known": False, "erased": False,
                "verified_identities": 0, "first_at": at, "last_at": at, "touchpoints": 0,
                "timezone": None})
            row["touchpoints"] += 1
            row["first_at"], row["last_at"] = min(row["first_at"], at), max(row["last_at"], at)
            if isinstance(event, ev.ContactDetailsRecorded):
                row["known"], row["kind"] = True, event.kind
                row["timezone"] = event.timezone or row["timezone"]
                if event.phone not in (None, ERASED):
                    new_phones.append({"contact": name,
                                       "phone_stream": subjects.phone_stream(event.phone).hex})
            elif isinstance(event, ev.IdentityLinked):
                row["verified_identities"] += 1
            elif isinstance(event, ev.PurchaseRecorded):
                purchases.append({"touchpoint": event.touchpoint_id, "contact": name,
                                  "at_utc": at})
            elif isinstance(event, (ev.ConsentGranted, ev.ConsentWithdrawn)):
                key = (name, event.channel, event.purpose)
                kept = consents.get(key)
                if kept is None or at >= kept["at_utc"]:
                    consents[key] = {"contact": name, "channel": event.channel,
                                     "purpose": event.purpose,
                                     "granted": isinstance(event, ev.ConsentGranted),
                                     "at_utc": at, "touchpoint": event.touchpoint_id}
        upsert(self.conn, t.contacts, list(contacts.values()), ["contact"])
        upsert(self.conn, t.consents, list(consents.values()), ["contact", "channel", "purpose"])
        upsert(self.conn, t.sms_opt_outs, list(opt_outs.values()), ["phone_stream"])
        upsert(self.conn, t.messages, list(messages.values()), ["message"])
        queue.write()
        upsert(self.conn, t.channel_suppressions, _latest(stopped), ["contact", "channel"])
        upsert(self.conn, t.purchases, purchases, ["touchpoint"], update=False)
        upsert(self.conn, t.contact_phones, new_phones, ["contact", "phone_stream"],
               update=False)
        if erased:
            # The link from a forgotten contact to its phone numbers goes with it.
            self.conn.execute(delete(t.contact_phones).where(
                t.contact_phones.c.contact.in_(erased)))

    def _opt_out(self, opt_outs: dict[str, dict[str, Any]], event: ev.InboundSmsReceived) -> None:
        if event.keyword not in ("opt_out", "opt_in"):
            return
        stream, at = event.originator_id.hex, utc_text(event.at)
        kept = opt_outs.get(stream)
        if kept is None or at >= kept["at_utc"]:
            opt_outs[stream] = {"phone_stream": stream, "opted_out": event.keyword == "opt_out",
                                "at_utc": at, "touchpoint": event.touchpoint_id}

    def _rows(self, table: Any, column: Any, values: list[str]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for start in range(0, len(values), 500):
            chunk = values[start:start + 500]
            rows.extend(dict(r._mapping) for r in self.conn.execute(
                select(table).where(column.in_(chunk))))
        return rows

    def _load(self, table: Any, column: Any, values: list[str], key: str) -> dict[str, Any]:
        return {row[key]: row for row in self._rows(table, column, values)}




def public_recipient(scheduled: je.MessageScheduled) -> str | None:
    """The contact a message is for; ``None`` for a public post or reply, which is
    addressed to everyone (even when a known customer's mention started it)."""
    if scheduled.intent in PUBLIC_INTENTS or not scheduled.contact:
        return None
    return None if scheduled.contact.startswith("handle:") else scheduled.contact


def _message(messages: dict[str, dict[str, Any]], event: Any) -> None:
    if isinstance(event, je.MessageScheduled):
        contact = public_recipient(event)
        messages.setdefault(event.message, {
            "message": event.message, "contact": contact, "journey": event.journey,
            "version": event.version, "step": event.step, "intent": event.intent,
            "audience": event.audience, "channel": None, "status": lifecycle.SCHEDULED,
            "reason": None, "provider_id": None, "dead_letter": False, "at": event.at,
            "at_utc": utc_text(event.at)})
        return
    row = messages.get(event.message)
    if row is None:
        return  # feedback about a message this store never scheduled
    standing = lifecycle.advance(lifecycle.MessageStanding(
        status=row["status"], channel=row["channel"], reason=row["reason"],
        provider_id=row["provider_id"], dead_letter=bool(row["dead_letter"])), event)
    row.update(status=standing.status, channel=standing.channel, reason=standing.reason,
               provider_id=standing.provider_id, dead_letter=standing.dead_letter)


def _suppression(row: dict[str, Any] | None, event: Any) -> list[dict[str, Any]]:
    """The channel a piece of feedback stops for the message's contact, if it does."""
    reason = suppressions.feedback_suppression(event)
    if row is None or reason is None or not row["contact"] or row["channel"] not in (
            PRIVATE_CHANNELS):
        return []
    return [{"contact": row["contact"], "channel": row["channel"], "reason": reason,
             "at_utc": utc_text(event.at), "touchpoint": event.touchpoint_id}]


def _latest(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    kept: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        kept[(row["contact"], row["channel"])] = row
    return list(kept.values())


_CONTACT_FACTS = (ev.TouchpointRecorded, ev.ContactErased)


def _contact_of(event: Any) -> str | None:
    """The contact a fact about a contact's own stream names (not engine facts)."""
    if isinstance(event, _CONTACT_FACTS):
        return getattr(event, "contact", None)
    return None


# --- queries ------------------------------------------------------------------------------------

def directory_rows(view: SQLAlchemyView, now: datetime, thresholds: StageThresholds,
                   stage: str | None = None) -> list[dict[str, Any]]:
    """Every contact with its stage now, marketing consents and suppressed channels."""
    window_start = (now - thresholds.window).astimezone(UTC).isoformat()
    now_text = now.astimezone(UTC).isoformat()
    with view.engine.connect() as conn:
        counts = dict(conn.execute(
            select(t.purchases.c.contact, func.count())
            .where(and_(t.purchases.c.at_utc > window_start, t.purchases.c.at_utc <= now_text))
            .group_by(t.purchases.c.contact)).all())
        granted: dict[str, list[str]] = {}
        for contact, channel in conn.execute(
                select(t.consents.c.contact, t.consents.c.channel).where(and_(
                    t.consents.c.granted.is_(True), t.consents.c.purpose == "marketing",
                    t.consents.c.at_utc <= now_text))):
            granted.setdefault(contact, []).append(channel)
        stopped: dict[str, set[str]] = {}
        for (contact,) in conn.execute(
                select(t.contact_phones.c.contact).join(
                    t.sms_opt_outs,
                    t.sms_opt_outs.c.phone_stream == t.contact_phones.c.phone_stream)
                .where(t.sms_opt_outs.c.opted_out.is_(True))):
            stopped.setdefault(contact, set()).add("sms")
        for contact, channel in conn.execute(
                select(t.channel_suppressions.c.contact, t.channel_suppressions.c.channel)
                .where(t.channel_suppressions.c.at_utc <= now_text)):
            stopped.setdefault(contact, set()).add(channel)
        rows = []
        for row in conn.execute(select(t.contacts).order_by(t.contacts.c.contact)):
            record = dict(row._mapping)
            purchases = counts.get(record["contact"], 0)
            record["stage"] = relationship_stage(
                record["kind"] if record["known"] else "unknown", purchases, thresholds)
            if stage and record["stage"] != stage:
                continue
            record["purchases_in_window"] = purchases
            record["marketing_consents"] = sorted(granted.get(record["contact"], []))
            record["suppressed_channels"] = (
                sorted(PRIVATE_CHANNELS) if record["erased"]
                else sorted(stopped.get(record["contact"], ())))
            rows.append(record)
    return rows


def snapshot(view: SQLAlchemyView) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every view table, sorted: what two projections compare by."""
    with view.engine.connect() as conn:
        return {table.name: sorted(tuple(r) for r in conn.execute(select(table)))
                for table in t.VIEW_TABLES}



def message_rows(view: SQLAlchemyView, contact: str | None = None) -> list[dict[str, Any]]:
    """``orchestrator messages``: one row a message, in the contract's fields."""
    query = select(t.messages).order_by(t.messages.c.at_utc, t.messages.c.message)
    if contact is not None:
        query = query.where(t.messages.c.contact == contact)
    with view.engine.connect() as conn:
        return [{"id": r.message, "contact": r.contact, "journey": r.journey,
                 "version": r.version, "step": r.step, "intent": r.intent,
                 "channel": r.channel, "status": r.status, "reason": r.reason, "at": r.at,
                 "dead_letter": bool(r.dead_letter)}
                for r in conn.execute(query)]
