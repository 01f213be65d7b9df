"""Deterministic stream ids: the same natural key always names the same stream.

A stream is also a *subject* for crypto-shredding: it has its own key.
"""

from __future__ import annotations

from functools import lru_cache
from uuid import UUID, uuid5

NAMESPACE = UUID("5b0e3c1e-0f6f-4d1c-9a53-8f2f2f0c0b7a")


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
