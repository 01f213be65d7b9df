"""Crypto-shredding: personal fields are sealed with a key of their own subject.

Each stream (a contact, a social handle, a phone number) is a *subject* with its own
256-bit AES-GCM key, kept in a key table apart from the events. ``SealingMapper`` moves an
event's ``PERSONAL_FIELDS`` into one sealed blob (bound to the event's stream and version
as associated data, so a blob cannot be moved to another event) before the state is
stored. Destroying a subject's key (``orchestrator forget``) makes those fields unreadable
everywhere at once; the stored bytes, and so the tamper-evidence chain, never change.

The key table is not covered by the chain. Opening a blob (AES-GCM authentication with the
subject id and version as associated data) is what proves the key in the table is the one
the blob was sealed with: ``open_blob`` is that check, shared by the mapper and by
``audit verify``. A blob that does not open raises ``SealUnopenable`` (a failed check, exit
1) instead of the library's bare ``InvalidTag``; inside ``SealingMapper.marking_unopenable``
its fields read as ``UNREADABLE`` instead, for views that must go on (``audit export``).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic, resolve_topic

from orchestrator.domain.events import ERASED
from orchestrator.errors import CheckFailed

SEALED = "_sealed"
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
UNREADABLE = "[unreadable: tampered]"
_SEALED_KEY = b'"' + SEALED.encode() + b'"'


class SealUnopenable(CheckFailed):
    """Sealed personal data that does not open with the key its subject has now: the key
    was swapped or replaced, or made again after an erasure of that subject (a new fact
    about an erased phone or handle), or the sealed bytes were changed."""

    def __init__(self, subject: UUID, version: int):
        self.subject = subject
        self.version = version
        super().__init__(
            f"the personal data of stream {subject} at version {version} does not open with "
            "the key its subject has now: the key was swapped or replaced, or made again "
            "after an erasure of that subject; `orchestrator audit verify` tells which")


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
        self._by_key: dict[bytes, AESGCM] = {}
        # Subjects whose key was destroyed by `forget`: their key row stays as an empty
        # tombstone, so no new key is ever made for them and their old blobs read erased.
        self._erased: set[UUID] = set()

    def remember(self, keys: Mapping[UUID, bytes | None]) -> None:
        for subject, key in keys.items():
            if key == ERASED_KEY:
                self._erased.add(subject)
            self._ciphers[subject] = AESGCM(key) if key else None
            self._ciphers.move_to_end(subject)
        while len(self._ciphers) > self.cache_size:
            self._ciphers.popitem(last=False)

    def stage(self, keys: Mapping[UUID, bytes]) -> None:
        """Use these keys for writing in the current transaction, before it commits."""
        for subject, key in keys.items():
            if key == ERASED_KEY:
                self._erased.add(subject)
            else:
                self._pending[subject] = AESGCM(key)

    def drop_staged(self) -> None:
        self._pending.clear()

    def forget(self, subjects: Iterable[UUID]) -> None:
        for subject in subjects:
            self._ciphers.pop(subject, None)
            self._pending.pop(subject, None)
        self._by_key.clear()

    def cipher_of_key(self, key: bytes | None) -> AESGCM | None:
        """The cipher of a key read together with the row it opens (None for no key or
        the erased tombstone), kept by key so a stream's events share one."""
        if not key:
            return None
        cipher = self._by_key.get(key)
        if cipher is None:
            if len(self._by_key) >= self.cache_size:
                self._by_key.clear()
            cipher = self._by_key[key] = AESGCM(key)
        return cipher

    def cipher_for_writing(self, subject: UUID) -> AESGCM | None:
        """The subject's key for sealing; None when the subject was erased (its personal
        data is then not kept at all: a fact recorded after ``forget`` keeps only what is
        not personal)."""
        if subject in self._erased:
            return None
        cipher = self._pending.get(subject) or self._ciphers.get(subject)
        if cipher is None:
            cipher = self._cipher_from_table(subject, create=True)
        if cipher is None and subject not in self._erased:
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


# What `forget` leaves in a subject's key row: no key, and a mark that there was one.
ERASED_KEY = b""


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def open_blob(cipher: AESGCM, sealed: str | bytes, subject: UUID, version: int) -> bytes:
    """The plaintext of a sealed blob (base64 of nonce + ciphertext), authenticated with the
    subject's key and the blob's stream id and version; ``SealUnopenable`` if it does not
    authenticate (wrong key, changed bytes, or not a blob at all)."""
    opened = _open(cipher, sealed, subject.bytes, version)
    if opened is None:
        raise SealUnopenable(subject, version)
    return opened


def blob_opens(cipher: AESGCM, sealed: str | bytes, subject: bytes, version: int) -> bool:
    """``open_blob`` as a yes or no, for a subject given as its 16 bytes (``audit verify``
    checks every blob and builds no UUID for each)."""
    return _open(cipher, sealed, subject, version) is not None


def _open(cipher: AESGCM, sealed: str | bytes, subject: bytes, version: int) -> bytes | None:
    try:
        blob = binascii.a2b_base64(sealed)  # what base64.b64decode does, without its checks
    except (binascii.Error, TypeError, ValueError):
        return None
    if len(blob) < NONCE_BYTES + TAG_BYTES:
        return None
    try:
        return cipher.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:],
                              _aad(subject, version))
    except InvalidTag:
        return None


def sealed_text(state: bytes) -> bytes | str | None:
    """The sealed blob of a stored state (the JSON the mapper wrote), without decoding the
    whole state when it can be helped: the mapper writes the blob as the last top-level
    member, so ``,"_sealed":"BASE64"}`` ends the state; anything else is decoded in full.
    ``ValueError`` when the state is not a JSON object."""
    found = state.rfind(_SEALED_KEY)
    if found < 0:
        return None
    start = found + len(_SEALED_KEY) + 2
    if (found > 0 and state[found - 1:found] in (b",", b"{")
            and state[found + len(_SEALED_KEY):start] == b':"' and state.endswith(b'"}')
            and b'"' not in state[start:-2] and b"\\" not in state[start:-2]):
        return state[start:-2]
    decoded = json.loads(state)
    if not isinstance(decoded, dict):
        raise ValueError("a stored state is not a JSON object")
    return decoded.get(SEALED)


class SealingMapper(Mapper[UUID]):
    """The library's mapper, plus sealing of ``PERSONAL_FIELDS`` with the subject's key."""

    keys: KeyRing
    _marked: dict[tuple[UUID, int], tuple[str, ...]] | None = None

    @contextmanager
    def marking_unopenable(self) -> Iterator[dict[tuple[UUID, int], tuple[str, ...]]]:
        """Inside: personal fields whose sealed data does not open read as ``UNREADABLE``
        instead of raising ``SealUnopenable``. Yields ``{(stream, version): field names}``
        of the events whose sealed data was not opened (it did not open, or its subject has
        no key and the fields read ``ERASED``), filled in as they are read: whether an
        erasure explains them is for the caller to say."""
        previous, self._marked = self._marked, {}
        try:
            yield self._marked
        finally:
            self._marked = previous

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
        cipher = self.keys.cipher_for_writing(originator_id) if personal else None
        if cipher is not None:
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
        stored_state = stored_event.state
        if self.cipher:
            stored_state = self.cipher.decrypt(stored_state)
        if self.compressor:
            stored_state = self.compressor.decompress(stored_state)
        originator_id = stored_event.originator_id
        if not isinstance(originator_id, UUID):
            originator_id = UUID(str(originator_id))
        return self._domain_event(stored_event.topic, originator_id,
                                  stored_event.originator_version, stored_state,
                                  self.keys.cipher_for_reading)

    def event_from_row(self, topic: str, originator_id: UUID, version: int, state: bytes,
                       key: bytes | None) -> Any:
        """``to_domain_event`` of a stored row read together with its subject's key (None:
        the subject has no key row; ``b""``: the tombstone ``forget`` leaves), so reading
        the log needs no key look-up of its own. Decodes exactly as ``to_domain_event``."""
        if self.cipher:
            state = self.cipher.decrypt(state)
        if self.compressor:
            state = self.compressor.decompress(state)
        return self._domain_event(topic, originator_id, version, state,
                                  None, key)

    def _domain_event(self, topic: str, originator_id: UUID, version: int,
                      stored_state: bytes, cipher_of: Any, key: bytes | None = None) -> Any:
        """The event, its personal fields opened with ``cipher_of(subject)``, or with
        ``key`` (read with the row) when ``cipher_of`` is None."""
        cls = resolve_topic(topic)
        state: dict[str, Any] = self.transcoder.decode(stored_state)
        sealed = state.pop(SEALED, None)
        if sealed is not None:
            state.update(self._unseal(sealed, originator_id, version,
                                      getattr(cls, "PERSONAL_FIELDS", ()), state, cipher_of,
                                      key))
        else:
            # Recorded after the subject's erasure: its personal fields were not kept.
            for name in getattr(cls, "PERSONAL_FIELDS", ()):
                state.setdefault(name, ERASED)
        state["originator_id"] = originator_id
        state["originator_version"] = version
        class_version = getattr(cls, "class_version", 1)
        from_version = state.pop("class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
            from_version += 1
        domain_event = object.__new__(cls)
        object.__setattr__(domain_event, "__dict__", state)
        return domain_event

    def _unseal(self, sealed: str, subject: UUID, version: int,
                personal_fields: tuple[str, ...], plain: dict[str, Any],
                cipher_of: Any, key: bytes | None = None) -> dict[str, Any]:
        cipher = self.keys.cipher_of_key(key) if cipher_of is None else cipher_of(subject)
        names = tuple(name for name in personal_fields if name not in plain)
        if cipher is None:
            if self._marked is not None:
                self._marked[(subject, version)] = names
            return dict.fromkeys(names, ERASED)
        try:
            opened = open_blob(cipher, sealed, subject, version)
        except SealUnopenable:
            if self._marked is None:
                raise
            self._marked[(subject, version)] = names
            return dict.fromkeys(names, UNREADABLE)
        return self.transcoder.decode(opened)


def _associated_data(subject: UUID, version: int) -> bytes:
    return _aad(subject.bytes, version)


def _aad(subject: bytes, version: int) -> bytes:
    """The associated data of a blob: its stream id and version (so a blob opens only in
    the event it was sealed for, and only with its own subject's key)."""
    return subject + version.to_bytes(8, "big", signed=True)
