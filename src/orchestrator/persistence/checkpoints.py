"""Signed checkpoints: the head of the chain at a position, signed with Ed25519.

A checkpoint kept outside the database (``audit checkpoint --out FILE``) lets an auditor
prove later that history up to that position was not rewritten, not even by someone who
recomputed every link: the recomputed head would no longer match the signed one. Signing
needs the private key (``ORCHESTRATOR_SIGNING_KEY``); verifying needs only the public key.
Without a signing key, checkpoints are still recorded, unsigned (they then only guard
against accidents such as a truncated file).
"""

from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from orchestrator.errors import UsageError

DOMAIN = b"orchestrator-checkpoint-v1\x00"


@dataclass(frozen=True)
class Checkpoint:
    position: int
    link: bytes
    created_at: str
    public_key: bytes | None = None
    signature: bytes | None = None

    def message(self) -> bytes:
        return (DOMAIN + self.position.to_bytes(8, "big") + self.link
                + self.created_at.encode())

    def signed_by(self, key: Ed25519PrivateKey) -> Checkpoint:
        public = key.public_key().public_bytes(serialization.Encoding.Raw,
                                               serialization.PublicFormat.Raw)
        return Checkpoint(self.position, self.link, self.created_at, public,
                          key.sign(self.message()))

    def signature_holds(self, public_key: bytes | None = None) -> bool:
        """True when signed by ``public_key`` (or the key the checkpoint names)."""
        key = public_key or self.public_key
        if self.signature is None or key is None:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(key).verify(self.signature, self.message())
        except (InvalidSignature, ValueError):
            return False
        return True

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["link"] = self.link.hex()
        data["public_key"] = _b64(self.public_key)
        data["signature"] = _b64(self.signature)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Checkpoint:
        return cls(position=int(data["position"]), link=bytes.fromhex(data["link"]),
                   created_at=str(data["created_at"]),
                   public_key=_unb64(data.get("public_key")),
                   signature=_unb64(data.get("signature")))

    @classmethod
    def from_row(cls, row: tuple[int, bytes, str, bytes | None, bytes | None]) -> Checkpoint:
        return cls(*row)


def read_checkpoint_file(path: str) -> Checkpoint:
    try:
        with open(path, encoding="utf-8") as handle:
            return Checkpoint.from_json(json.load(handle))
    except OSError as error:
        raise UsageError(f"{path}: cannot read checkpoint: {error.strerror}") from None
    except (ValueError, KeyError, TypeError) as error:
        raise UsageError(f"{path}: not a checkpoint file ({error})") from None


def write_checkpoint_file(path: str, checkpoint: Checkpoint) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(checkpoint.as_json(), handle, indent=2)
        handle.write("\n")


def parse_signing_key(text: str) -> Ed25519PrivateKey:
    """An Ed25519 private key from base64 of its 32 raw bytes, or PEM (ValueError else)."""
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.encode(), password=None)
        else:
            key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(text, validate=True))
    except Exception:
        raise ValueError("not an Ed25519 private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("not an Ed25519 private key")
    return key


def parse_public_key(text: str) -> bytes:
    """The 32 raw bytes of an Ed25519 public key given as base64 (ValueError else)."""
    try:
        key = base64.b64decode(text, validate=True)
        Ed25519PublicKey.from_public_bytes(key)
    except Exception:
        raise ValueError("not an Ed25519 public key") from None
    return key


def new_key_pair() -> tuple[str, str]:
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.Raw,
                                           serialization.PublicFormat.Raw)
    return _b64(private) or "", _b64(public) or ""


def record_checkpoint(store: Any, now: datetime,
                      key: Ed25519PrivateKey | None = None) -> Checkpoint | None:
    """Sign (when a key is given) and store the current head of the chain."""
    with store.write() as unit:
        position, link = unit.tables.chain_head()
        if position == 0:
            return None
        checkpoint = Checkpoint(position, link, now.isoformat())
        if key is not None:
            checkpoint = checkpoint.signed_by(key)
        unit.tables.record_checkpoint(position, checkpoint.link, checkpoint.created_at,
                                      checkpoint.public_key, checkpoint.signature)
    return checkpoint


def _b64(value: bytes | None) -> str | None:
    return None if value is None else base64.b64encode(value).decode("ascii")


def _unb64(value: Any) -> bytes | None:
    return None if value in (None, "") else base64.b64decode(value)


def current_checkpoint(store: Any, now: datetime,
                       key: Ed25519PrivateKey | None = None) -> Checkpoint | None:
    """The head of the chain now, signed when a key is configured, without writing to the
    store (auditors read only): the latest recorded checkpoint if it is still the head."""
    with store.read() as tables:
        position, link = tables.chain_head()
        recorded = [Checkpoint.from_row(row) for row in tables.checkpoints()]
    if position == 0:
        return None
    latest = recorded[-1] if recorded else None
    if latest is not None and latest.position == position and (
            latest.signature is not None or key is None):
        return latest
    checkpoint = Checkpoint(position, link, now.isoformat())
    return checkpoint.signed_by(key) if key is not None else checkpoint
