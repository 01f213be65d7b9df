"""Unsubscribe tokens: the TOKEN of ``/unsubscribe/TOKEN`` (SPEC "HTTP endpoint").

A token names one message and proves that we made it: ``ID.MAC``, where ID is the message
id in URL-safe base64 and MAC is HMAC-SHA256 over it, keyed with the link secret
(``ORCHESTRATOR_LINK_SECRET``), also URL-safe base64. Without the secret nobody can make a
token for a message, nor turn one message's token into another's; a bare message id is
never a token. Pure: no clock, no I/O.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re

# Domain separation: a MAC made here is never valid for any other use of the same secret.
_PURPOSE = b"orchestrator unsubscribe v1\x00"
_MAX_TOKEN = 600  # characters; anything longer is not one of ours (and is not hashed)
# URL-safe base64 without padding, a dot, and 43 characters: 32 bytes of HMAC-SHA256.
_TOKEN = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}")


def token_for(message_id: str, secret: bytes) -> str:
    """The token for ``message_id``; always the same for the same message and secret."""
    if not message_id:
        raise ValueError("a message id is needed")
    encoded = _b64(message_id.encode("utf-8"))
    return f"{encoded}.{_b64(_mac(encoded, secret))}"


def message_of(token: str, secret: bytes) -> str | None:
    """The message a token was made for, or None when it is not a token made with
    ``secret`` (tampered, truncated, for another secret, or not a token at all)."""
    if not isinstance(token, str) or len(token) > _MAX_TOKEN or not _TOKEN.fullmatch(token):
        return None
    encoded, mac = token.split(".")
    if not hmac.compare_digest(_b64(_mac(encoded, secret)), mac):
        return None
    try:
        return _unb64(encoded).decode("utf-8")
    except (binascii.Error, ValueError):  # cannot happen for a token we made
        return None


def _mac(encoded_id: str, secret: bytes) -> bytes:
    return hmac.new(secret, _PURPOSE + encoded_id.encode("ascii"), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
