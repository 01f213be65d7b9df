"""What a what-if run (``orchestrator simulate``) came to for one journey.

A pure function of the facts the run computed (in the order it emitted them) and of what
the in-memory hand-over made of the chosen messages. Each message's status is folded by
:mod:`orchestrator.domain.message_lifecycle`, the same fold the ``messages`` read model
uses, so a summary counts what ``orchestrator messages --json`` would show after the same
run had really happened on dry-run channels.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from orchestrator.domain import journey_events as je
from orchestrator.domain.message_lifecycle import (
    DEFERRED,
    FAILED,
    HELD_FOR_REVIEW,
    SENT,
    SUPPRESSED,
    MessageStanding,
    advance,
)

# Statuses whose reason is a policy rule: the rule ids are counted in ``by_reason``.
KEPT_BACK = frozenset({SUPPRESSED, DEFERRED, HELD_FOR_REVIEW})
SUMMARY_KEYS = ("journey", "version", "enrolled", "messages", "by_channel", "by_status",
                "by_reason", "goals")


def journey_summary(journey: str, version: int, facts: Iterable[Any],
                    handed_over: Mapping[str, str | None]) -> dict[str, Any]:
    """``enrolled``, ``messages``, ``by_channel``, ``by_status``, ``by_reason`` and
    ``goals`` of ``journey`` in one run. ``handed_over`` maps each chosen message that was
    rendered for its channel to None (sent) or to why it could not be (failed); a chosen
    message not in it stays ``scheduled`` (its journey is paused)."""
    enrolments: set[str] = set()
    goals = 0
    standings: dict[str, MessageStanding] = {}
    for fact in facts:
        if isinstance(fact, je.ContactEnrolled) and fact.journey == journey:
            enrolments.add(fact.enrolment)
        elif isinstance(fact, je.EnrolmentEnded):
            goals += fact.enrolment in enrolments and fact.reason == "goal"
        elif isinstance(fact, je.MessageScheduled) and fact.journey == journey:
            standings[fact.message] = MessageStanding()
        elif isinstance(fact, je.MessageDecided) and fact.message in standings:
            standings[fact.message] = advance(standings[fact.message], fact)
    for message, failure in handed_over.items():
        standing = standings.get(message)
        if standing is not None:
            standings[message] = (replace(standing, status=SENT) if failure is None else
                                  replace(standing, status=FAILED, reason=failure))
    by_channel = Counter(s.channel for s in standings.values() if s.channel)
    by_status = Counter(s.status for s in standings.values())
    by_reason = Counter(rule_of(s.reason) for s in standings.values()
                        if s.status in KEPT_BACK)
    return {"journey": journey, "version": version, "enrolled": len(enrolments),
            "messages": len(standings), "by_channel": dict(sorted(by_channel.items())),
            "by_status": dict(sorted(by_status.items())),
            "by_reason": dict(sorted(by_reason.items())), "goals": goals}


def rule_of(reason: str | None) -> str:
    """The rule id of a message's reason (``rule: why``)."""
    return (reason or "").partition(": ")[0]
