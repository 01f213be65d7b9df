"""How an SMTP server's reply becomes a channel error: one versioned table.

The table is data, so docs/print-batches.md can list it and a change to it is a visible
change of version (a message recorded as failed under one version might have been retried
under another). Rules are tried in order; the first whose codes and stage match decides.

Stages name the command the reply answers: ``greeting`` (on connecting), ``ehlo``,
``starttls``, ``auth``, ``mail`` (MAIL FROM), ``rcpt`` (RCPT TO), ``data`` (the DATA
command) and ``message`` (the reply after the message content was sent).

A server's reply text may quote the recipient's address ("550 <ada@example.com>: no such
user"), and the reason of a channel error ends up in the event store and the logs, so
every address-like word of it is replaced before it goes into an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from orchestrator.channels.errors import (
    ChannelConfigurationError,
    ChannelError,
    PermanentRejection,
    TransientFailure,
)

__all__ = [
    "SMTP_REPLY_RULES",
    "SMTP_RETRY_TABLE_VERSION",
    "SMTP_STAGES",
    "ReplyRule",
    "error_for_reply",
    "redacted_reply",
]

SMTP_RETRY_TABLE_VERSION = 1

SMTP_STAGES = ("greeting", "ehlo", "starttls", "auth", "mail", "rcpt", "data", "message")
Outcome = Literal["transient", "permanent", "configuration"]
_ABOUT_THIS_MESSAGE = frozenset({"rcpt", "data", "message"})
_BEFORE_ANY_RECIPIENT = frozenset(SMTP_STAGES) - _ABOUT_THIS_MESSAGE


@dataclass(frozen=True)
class ReplyRule:
    codes: range | frozenset[int]
    stages: frozenset[str]
    outcome: Outcome
    why: str


SMTP_REPLY_RULES: tuple[ReplyRule, ...] = (
    ReplyRule(frozenset({530, 534, 535, 538}), frozenset(SMTP_STAGES), "configuration",
              "authentication required (530), mechanism too weak (534), credentials refused "
              "(535) or encryption required (538): no message can go out until the URL's "
              "credentials change"),
    ReplyRule(range(400, 500), frozenset(SMTP_STAGES), "transient",
              "4yz is a transient negative reply (RFC 5321 4.2.1): 421 service closing, "
              "450/451 mailbox busy or local error, 452 insufficient storage; retry later"),
    ReplyRule(range(500, 600), _ABOUT_THIS_MESSAGE, "permanent",
              "5yz to this message's recipient or content: 550 mailbox unavailable, 551 not "
              "local, 552 storage exceeded, 553 mailbox name not allowed, 554 transaction "
              "failed; sending it again fails the same way"),
    ReplyRule(range(500, 600), _BEFORE_ANY_RECIPIENT, "configuration",
              "5yz before any recipient (the greeting, EHLO, STARTTLS, AUTH or MAIL FROM): "
              "the server refuses this client or this sender, so every message would fail"),
)
"""Replies outside every rule (a 2yz or 3yz where another was due) are transient: a
confused server or a proxy in the way, worth one more try later."""

_ANSWERING = {"greeting": "the greeting", "ehlo": "EHLO", "starttls": "STARTTLS",
              "auth": "AUTH", "mail": "MAIL FROM", "rcpt": "RCPT TO", "data": "DATA",
              "message": "the message content"}
_ADDRESS_LIKE = re.compile(r"\S*@\S*")
_MAX_REPLY_TEXT = 200


def redacted_reply(text: bytes | str) -> str:
    """The server's reply text, one line, at most 200 characters, with every word holding
    an ``@`` (an address, even inside <...>) replaced by ``<address>``."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    one_line = " ".join(_ADDRESS_LIKE.sub("<address>", text).split())
    return one_line[:_MAX_REPLY_TEXT]


def outcome_of(code: int, stage: str) -> Outcome:
    for rule in SMTP_REPLY_RULES:
        if code in rule.codes and stage in rule.stages:
            return rule.outcome
    return "transient"


def error_for_reply(code: int, reply: bytes | str, stage: str) -> ChannelError:
    """The channel error for an unwanted reply ``code`` (with its text) at ``stage``."""
    reason = f"SMTP {code} in reply to {_ANSWERING[stage]}: {redacted_reply(reply)}"
    outcome = outcome_of(code, stage)
    if outcome == "configuration":
        return ChannelConfigurationError(f"{reason} (check ORCHESTRATOR_SMTP_URL and the "
                                         "sender address)")
    if outcome == "permanent":
        return PermanentRejection(reason, provider_code=str(code))
    return TransientFailure(reason, provider_code=str(code))
