"""The engine's fold (``campaigns/runtime/fold.py``) saved in the store, so that a new
process (the next ``run --until``, a restarted service) carries on from it instead of
replaying the history from position 0.

A snapshot is a cache, never a source of truth: it is derived from the events up to its
position, and anything wrong with it (missing, made by another version of the product,
not matching the chain at its position, unreadable) means the next run folds the whole
log again and saves a new one. It holds contacts' personal data (what the engine reads of
them), so it is sealed like the events are: AES-GCM with a key kept in the store's key
table, under a subject of its own. ``forget`` destroys that key and the snapshot with it
(crypto-shredding covers copies of the row in database pages and backups); the next run
folds the log, where the erased contact's fields read as erased, and seals a new one.

It is a pickle, read back by an unpickler that admits only the data classes a fold is
made of (no callable, no other class), so a row written by someone with write access to
the database cannot become code; the seal stops a changed row before that anyway.
"""

from __future__ import annotations

import copyreg
import dataclasses
import io
import os
import pickle
import zlib
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import BigInteger, Column, Integer, LargeBinary, MetaData, String, Table, inspect

from orchestrator.campaigns.runtime.decisions import PolicyMemory
from orchestrator.campaigns.runtime.engine import ENGINE_STATE
from orchestrator.campaigns.runtime.fold import EngineFold
from orchestrator.domain.contact import Consent, ContactState, Identity, Suppression
from orchestrator.domain.stages import StageThresholds
from orchestrator.errors import OrchestratorError
from orchestrator.persistence.sealing import new_key
from orchestrator.projections.view import upsert
from orchestrator.store import Store

# Bumped whenever what a fold holds, or how it folds, changes: an older snapshot is then
# ignored (and replaced by the next run).
FORMAT = 6

metadata = MetaData()
snapshots = Table(
    "engine_snapshots", metadata,
    Column("name", String, primary_key=True),
    Column("format", Integer, nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("own_from", BigInteger),
    Column("own_to", BigInteger),
    Column("link", LargeBinary, nullable=False),  # the chain's link at ``position``
    Column("saved_at", String, nullable=False),
    Column("key_subject", String, nullable=False),  # its key, in the store's key table
    Column("sealed", LargeBinary, nullable=False),
)
NAME = "engine"


def save(store: Store, fold: EngineFold, *, now: datetime) -> None:
    """Seal and keep ``fold`` (replacing the last snapshot)."""
    link = _link_at(store, fold.position)
    if link is None:
        return  # nothing folded yet: nothing worth keeping
    state = {"position": fold.position, "own": fold.own, "pending": fold.pending,
             "unusable": fold.unusable, "reported": fold.reported,
             "published": fold.published, "lifecycle": fold.lifecycle,
             "contacts": fold.history.contacts.packed(_pack_contact),
             "sections": fold.history.packed_sections(fold.history.SECTIONS, _pack),
             "memory": fold.memory.packed_sections(MEMORY_STATE, _pack),
             "engine": fold.engine.packed_sections(ENGINE_STATE, _pack),
             "nothing_due_before": _earliest_due(fold), "clock": fold.clock,
             "sends_kept_for": fold.sends_kept_for}
    plain = zlib.compress(_pack(state), 1)
    metadata.create_all(store.engine, checkfirst=True)
    subject, key = _key(store, _row(store))
    nonce = os.urandom(12)
    sealed = nonce + AESGCM(key).encrypt(nonce, plain, _aad(fold.position, fold.own))
    row = {"name": NAME, "format": FORMAT, "position": fold.position,
           "own_from": fold.own[0] if fold.own else None,
           "own_to": fold.own[1] if fold.own else None, "link": link,
           "saved_at": now.isoformat(), "key_subject": subject.hex, "sealed": sealed}
    with store.engine.begin() as conn:  # an upsert: two processes may save at once
        upsert(conn, snapshots, [row], ["name"])


def load(store: Store, thresholds: StageThresholds,
         sends_needed: timedelta = timedelta(0)) -> EngineFold | None:
    """The saved fold, or None when there is none that can be trusted (see the module),
    or when it dropped marketing sends that a cap of ``sends_needed`` would still count
    (the caps were made longer since it was saved)."""
    row = _row(store)
    if row is None or row["format"] != FORMAT:
        return None
    if _link_at(store, row["position"]) != bytes(row["link"]):
        return None  # not this store's history (restored or copied from elsewhere)
    key = _live_key(store, UUID(row["key_subject"]))
    if key is None:
        return None
    own = (row["own_from"], row["own_to"]) if row["own_from"] is not None else None
    sealed = bytes(row["sealed"])
    try:
        plain = AESGCM(key).decrypt(sealed[:12], sealed[12:], _aad(row["position"], own))
        fold = _restored(_unpack(zlib.decompress(plain)), thresholds)
    except (InvalidTag, zlib.error, SnapshotUnreadable, KeyError, TypeError):
        return None  # not what this version saves: the next run folds the log again
    kept = fold.sends_kept_for
    return fold if kept is None or kept >= sends_needed else None


def _restored(state: dict[str, Any], thresholds: StageThresholds) -> EngineFold:
    fold = EngineFold(thresholds)
    fold.history.restore(state["contacts"], state["sections"], _unpack, _unpack_contact)
    fold.memory.restore_packed(state["memory"], _unpack)
    fold.engine.restore_packed(state["engine"], _unpack)
    fold.engine.nothing_due_before = state["nothing_due_before"]
    fold.pending, fold.unusable, fold.reported = (state["pending"], state["unusable"],
                                                  state["reported"])
    fold.position, fold.own = state["position"], state["own"]
    fold.published, fold.lifecycle = state["published"], state["lifecycle"]
    fold.clock, fold.sends_kept_for = state["clock"], state["sends_kept_for"]
    return fold


def discard(store: Store) -> None:
    """Destroy the snapshot and its key (``forget``: it holds personal data)."""
    row = _row(store)
    if row is None:
        return
    with store.write() as unit:
        unit.tables.delete_keys([UUID(row["key_subject"])])
    with store.engine.begin() as conn:
        conn.execute(snapshots.delete())


def key_subject(store: Store) -> UUID | None:
    """The subject whose key seals the snapshot, if there is one."""
    row = _row(store)
    return UUID(row["key_subject"]) if row is not None else None


def saved_position(store: Store) -> int | None:
    if not inspect(store.engine).has_table(snapshots.name):
        return None
    with store.engine.connect() as conn:
        return conn.execute(snapshots.select().with_only_columns(snapshots.c.position)
                            .where(snapshots.c.name == NAME)).scalar()


MEMORY_STATE = tuple(field.name for field in dataclasses.fields(PolicyMemory))


def _earliest_due(fold: EngineFold) -> datetime | None:
    """The due heap's first entry: nothing comes due before it (stale entries only make
    it earlier, never later)."""
    engine = fold.engine
    if engine.still_packed("_due"):
        return engine.nothing_due_before
    return engine._due[0][0] if engine._due else None


class SnapshotUnreadable(OrchestratorError):
    """A section of the saved state did not unpack (a product change without a new
    :data:`FORMAT`): the run starts again from the whole log."""

    exit_code = 1


def zone_named(key: str) -> ZoneInfo:
    """A time zone as a snapshot stores it: by name (its own pickling goes through
    ``getattr``, which the unpickler does not admit)."""
    return ZoneInfo(key)


def _reduce_zone(zone: ZoneInfo) -> tuple[Any, tuple[str]]:
    return zone_named, (zone.key,)


_DISPATCH = {**copyreg.dispatch_table, ZoneInfo: _reduce_zone}


def _pack(value: Any) -> bytes:
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=5)
    pickler.dispatch_table = _DISPATCH
    pickler.dump(value)
    return buffer.getvalue()


def _unpack(packed: bytes) -> Any:
    try:
        return _FoldUnpickler(io.BytesIO(packed)).load()
    except (pickle.UnpicklingError, EOFError, ValueError, KeyError, TypeError,
            AttributeError) as error:
        raise SnapshotUnreadable(f"the engine's saved state does not unpack "
                                 f"({type(error).__name__}); folding the whole log") from None


def _pack_contact(state: ContactState) -> bytes:
    """A contact as plain values only (no class, no global): a snapshot holds hundreds of
    thousands, and a restart reads the lot before it unpacks any."""
    return pickle.dumps((
        state.contact, state.kind, state.email, state.phone, state.address, state.timezone,
        state.locale, state.attributes,
        [(i.network, i.handle, i.verified_by, i.at, i.touchpoint) for i in state.identities],
        [(key, c.channel, c.purpose, c.granted, c.at, c.source, c.evidence, c.touchpoint)
         for key, c in state.consents.items()],
        [(key, x.channel, x.reason, x.at, x.touchpoint) for key, x in state.suppressions.items()],
        [(at.isoformat(), str(amount), currency) for at, amount, currency in state.purchases],
        state.erased, state.known), protocol=5)


def _unpack_contact(packed: bytes) -> ContactState:
    try:
        (contact, kind, email, phone, address, timezone, locale, attributes, identities,
         consents, suppressions, purchases, erased, known) = _unpack(packed)
        return ContactState(
            contact=contact, kind=kind, email=email, phone=phone, address=address,
            timezone=timezone, locale=locale, attributes=attributes,
            identities=[Identity(*fields) for fields in identities],
            consents={tuple(key): Consent(*fields) for key, *fields in consents},
            suppressions={key: Suppression(*fields) for key, *fields in suppressions},
            purchases=[(datetime.fromisoformat(at), Decimal(amount), currency)
                       for at, amount, currency in purchases],
            erased=erased, known=known)
    except (ValueError, TypeError, ArithmeticError) as error:
        raise SnapshotUnreadable(f"a contact in the engine's saved state does not unpack "
                                 f"({type(error).__name__}); folding the whole log") from None


def _aad(position: int, own: tuple[int, int] | None) -> bytes:
    return f"engine-snapshot:{FORMAT}:{position}:{own}".encode()


def _link_at(store: Store, position: int) -> bytes | None:
    if position <= 0:
        return None
    with store.read() as tables:
        links = tables.chain_links(position - 1, 1)
    return bytes(links[0][2]) if links and links[0][0] == position else None


def _row(store: Store) -> Any:
    if not inspect(store.engine).has_table(snapshots.name):
        return None
    with store.engine.connect() as conn:
        return conn.execute(snapshots.select().where(snapshots.c.name == NAME)).mappings().first()


def _live_key(store: Store, subject: UUID) -> bytes | None:
    with store.read() as tables:
        found = tables.load_keys([subject]).get(subject)
    return found or None  # an empty key is a destroyed one (a tombstone)


def _key(store: Store, row: Any) -> tuple[UUID, bytes]:
    """The key of the snapshot in place, or a new subject and key (after ``forget`` the
    old subject is a tombstone: it never gets a key again)."""
    if row is not None:
        subject = UUID(row["key_subject"])
        if (key := _live_key(store, subject)) is not None:
            return subject, key
    subject, key = uuid4(), new_key()
    with store.write() as unit:
        unit.tables.create_keys({subject: key})
    return subject, key


def _data_classes() -> dict[tuple[str, str], type]:
    """Every class a fold is made of: the recorded facts, the contacts' and the engine's
    data classes, and the few standard types among their fields."""
    import collections
    import datetime as dt
    import decimal
    import uuid

    from orchestrator.campaigns.runtime import engine
    from orchestrator.domain import contact, events, journey_events, stages
    from orchestrator.domain.policy import facts
    allowed: dict[tuple[str, str], type] = {}
    for module in (events, journey_events, contact, engine, stages, facts):
        for value in vars(module).values():
            if isinstance(value, type) and value.__module__ == module.__name__ and (
                    dataclasses.is_dataclass(value) or issubclass(value, events.LedgerEvent)):
                allowed[(value.__module__, value.__qualname__)] = value
    allowed[(__name__, "zone_named")] = zone_named  # type: ignore[assignment]
    for value in (dt.datetime, dt.date, dt.timedelta, dt.timezone, decimal.Decimal, uuid.UUID,
                  uuid.SafeUUID, collections.defaultdict, collections.Counter, set, frozenset,
                  list, dict, tuple):
        allowed[(value.__module__, value.__qualname__)] = value
    return allowed


_ALLOWED: dict[tuple[str, str], type] | None = None


class _FoldUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        global _ALLOWED
        if _ALLOWED is None:
            _ALLOWED = _data_classes()
        found = _ALLOWED.get((module, name))
        if found is None:
            raise pickle.UnpicklingError(f"{module}.{name} is not part of an engine snapshot")
        return found
