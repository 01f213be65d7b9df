"""Deterministic stream ids: the same natural key always names the same stream.

A stream is also a *subject* for crypto-shredding: it has its own key.
"""

from __future__ import annotations

from functools import lru_cache
from hashlib import sha1
from uuid import UUID, SafeUUID

NAMESPACE = UUID("5b0e3c1e-0f6f-4d1c-9a53-8f2f2f0c0b7a")
_NAMESPACE_BYTES = NAMESPACE.bytes
_CLEAR_VERSION = ~((0xC000 << 48) | (0xF000 << 64))
_VERSION_5 = (0x8000 << 48) | (5 << 76)


def uuid5(namespace: UUID, name: str) -> UUID:
    """``uuid.uuid5``, the same id, made without ``UUID.__init__``'s checks (stream ids are
    made for every fact recorded and every row a read model keeps)."""
    digest = sha1(namespace.bytes + name.encode("utf-8")).digest()
    return _uuid_of_int((int.from_bytes(digest[:16], "big") & _CLEAR_VERSION) | _VERSION_5)


def _uuid_of_int(value: int) -> UUID:
    made = object.__new__(UUID)
    object.__setattr__(made, "int", value)
    object.__setattr__(made, "is_safe", SafeUUID.unknown)
    return made


@lru_cache(maxsize=8_192)
def contact_stream(contact: str) -> UUID:
    return uuid5(NAMESPACE, f"contact:{contact}")


def handle_key(network: str, handle: str) -> str:
    """Handles compare case-insensitively and without a leading '@'."""
    return f"{network.strip().lower()}:{handle.strip().lstrip('@').lower()}"


@lru_cache(maxsize=8_192)
def handle_stream(network: str, handle: str) -> UUID:
    return uuid5(NAMESPACE, f"handle:{handle_key(network, handle)}")


@lru_cache(maxsize=8_192)
def phone_stream(phone: str) -> UUID:
    return uuid5(NAMESPACE, f"phone:{phone}")


def message_stream(message: str) -> UUID:
    return uuid5(NAMESPACE, f"message:{message}")


def stream_of_test_message(message: str) -> UUID:
    """A test message (``preview --send-to``) is no message of a journey: its own stream."""
    return uuid5(NAMESPACE, f"test-message:{message}")


def provider_message_stream(provider_id: str) -> UUID:
    return uuid5(NAMESPACE, f"provider-message:{provider_id}")
