"""Crypto-shredding: personal fields are sealed with a key of their own subject.

Each stream (a contact, a social handle, a phone number) is a *subject* with its own
256-bit AES-GCM key, kept in a key table apart from the events. ``SealingMapper`` moves an
event's ``PERSONAL_FIELDS`` into one sealed blob (bound to the event's stream and version
as associated data, so a blob cannot be moved to another event) before the state is
stored. Destroying a subject's key (``orchestrator forget``) makes those fields unreadable
everywhere at once; the stored bytes, and so the tamper-evidence chain, never change.
"""

from __future__ import annotations

import base64
import os
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any, Protocol
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic, resolve_topic

from orchestrator.domain.events import ERASED

SEALED = "_sealed"
KEY_BYTES = 32
NONCE_BYTES = 12


class KeyTable(Protocol):
    """Where subject keys live (a table in the store, never in the events)."""

    def load_keys(self, subjects: Iterable[UUID]) -> dict[UUID, bytes]: ...

    def create_keys(self, keys: Mapping[UUID, bytes]) -> None: ...


class MissingKeyError(LookupError):
    """A personal field was about to be sealed for a subject that has no key."""


class KeyRing:
    """Subject keys with a bounded cache. Keys staged by a write transaction are never
    cached: if it rolled back, a cached key would seal data with a key nobody kept."""

    def __init__(self, table: KeyTable | None, cache_size: int = 4_096):
        self.table = table
        self.cache_size = cache_size
        self._ciphers: OrderedDict[UUID, AESGCM | None] = OrderedDict()
        self._pending: dict[UUID, AESGCM] = {}

    def remember(self, keys: Mapping[UUID, bytes | None]) -> None:
        for subject, key in keys.items():
            self._ciphers[subject] = AESGCM(key) if key is not None else None
            self._ciphers.move_to_end(subject)
        while len(self._ciphers) > self.cache_size:
            self._ciphers.popitem(last=False)

    def stage(self, keys: Mapping[UUID, bytes]) -> None:
        """Use these keys for writing in the current transaction, before it commits."""
        for subject, key in keys.items():
            self._pending[subject] = AESGCM(key)

    def drop_staged(self) -> None:
        self._pending.clear()

    def forget(self, subjects: Iterable[UUID]) -> None:
        for subject in subjects:
            self._ciphers.pop(subject, None)
            self._pending.pop(subject, None)

    def cipher_for_writing(self, subject: UUID) -> AESGCM:
        cipher = self._pending.get(subject) or self._ciphers.get(subject)
        if cipher is None:
            cipher = self._cipher_from_table(subject, create=True)
        if cipher is None:
            raise MissingKeyError(f"no key for subject {subject}")
        return cipher

    def cipher_for_reading(self, subject: UUID) -> AESGCM | None:
        if subject in self._pending:
            return self._pending[subject]
        if subject in self._ciphers:
            return self._ciphers[subject]
        return self._cipher_from_table(subject, create=False)

    def _cipher_from_table(self, subject: UUID, *, create: bool) -> AESGCM | None:
        if self.table is None:
            return None
        key = self.table.load_keys([subject]).get(subject)
        if key is None and create:
            key = new_key()
            self.table.create_keys({subject: key})
        self.remember({subject: key})
        return self._ciphers.get(subject)


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


class SealingMapper(Mapper[UUID]):
    """The library's mapper, plus sealing of ``PERSONAL_FIELDS`` with the subject's key."""

    keys: KeyRing

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        cls = type(domain_event)
        state = dict(vars(domain_event))
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        class_version = getattr(cls, "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        personal = {
            name: state.pop(name)
            for name in getattr(cls, "PERSONAL_FIELDS", ())
            if state.get(name) is not None
        }
        if personal:
            cipher = self.keys.cipher_for_writing(originator_id)
            nonce = os.urandom(NONCE_BYTES)
            sealed = cipher.encrypt(
                nonce, self.transcoder.encode(personal),
                _associated_data(originator_id, originator_version),
            )
            state[SEALED] = base64.b64encode(nonce + sealed).decode("ascii")
        stored_state = self.transcoder.encode(state)
        if self.compressor:
            stored_state = self.compressor.compress(stored_state)
        if self.cipher:
            stored_state = self.cipher.encrypt(stored_state)
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=get_topic(cls),
            state=stored_state,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        cls = resolve_topic(stored_event.topic)
        stored_state = stored_event.state
        if self.cipher:
            stored_state = self.cipher.decrypt(stored_state)
        if self.compressor:
            stored_state = self.compressor.decompress(stored_state)
        state: dict[str, Any] = self.transcoder.decode(stored_state)
        originator_id = stored_event.originator_id
        if not isinstance(originator_id, UUID):
            originator_id = UUID(str(originator_id))
        sealed = state.pop(SEALED, None)
        if sealed is not None:
            state.update(self._unseal(sealed, originator_id, stored_event.originator_version,
                                      getattr(cls, "PERSONAL_FIELDS", ()), state))
        state["originator_id"] = originator_id
        state["originator_version"] = stored_event.originator_version
        class_version = getattr(cls, "class_version", 1)
        from_version = state.pop("class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
            from_version += 1
        domain_event = object.__new__(cls)
        object.__setattr__(domain_event, "__dict__", state)
        return domain_event

    def _unseal(self, sealed: str, subject: UUID, version: int,
                personal_fields: tuple[str, ...], plain: dict[str, Any]) -> dict[str, Any]:
        cipher = self.keys.cipher_for_reading(subject)
        if cipher is None:
            return {name: ERASED for name in personal_fields if name not in plain}
        blob = base64.b64decode(sealed)
        opened = cipher.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:],
                                _associated_data(subject, version))
        return self.transcoder.decode(opened)


def _associated_data(subject: UUID, version: int) -> bytes:
    return subject.bytes + version.to_bytes(8, "big", signed=True)
