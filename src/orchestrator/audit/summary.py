"""Population summary: stages, consents, suppressions and mentions, from the whole log."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from orchestrator.domain import events as ev
from orchestrator.domain import subjects
from orchestrator.domain.contact import fold
from orchestrator.domain.events import ERASED
from orchestrator.domain.stages import StageThresholds
from orchestrator.domain.time_range import unusable_time
from orchestrator.store import Store
from orchestrator.store.reader import read_log


def population_summary(store: Store, as_of: datetime,
                       thresholds: StageThresholds) -> dict[str, Any]:
    facts_by_contact: dict[str, list[Any]] = defaultdict(list)
    phone_facts: dict[Any, list[Any]] = defaultdict(list)
    linked_handles: set[Any] = set()
    mention_handles: set[Any] = set()
    stances: Counter[str] = Counter()
    authors: Counter[str] = Counter()
    events = 0
    failures: list[dict[str, Any]] = []
    for recorded in read_log(store):
        events += 1
        fact = recorded.event
        reason = unusable_time(fact)
        if reason is not None:
            failures.append({"position": recorded.position, "type": type(fact).__name__,
                             "reason": reason})
            continue
        contact = getattr(fact, "contact", None)
        if isinstance(fact, ev.InboundSmsReceived):
            phone_facts[fact.originator_id].append(fact)
        elif isinstance(fact, ev.SocialMentionReceived):
            mention_handles.add(fact.originator_id)
            stances[fact.stance or "unstated"] += 1
            if fact.author_kind:
                authors[fact.author_kind] += 1
        elif contact is not None and isinstance(fact, ev.TouchpointRecorded | ev.ContactErased):
            facts_by_contact[contact].append(fact)
            if isinstance(fact, ev.IdentityLinked) and fact.handle != ERASED:
                linked_handles.add(subjects.handle_stream(fact.network, fact.handle))
    stages: Counter[str] = Counter()
    consents: Counter[str] = Counter()
    suppressions: Counter[str] = Counter()
    for contact, facts in facts_by_contact.items():
        phones = {f.phone for f in facts
                  if isinstance(f, ev.ContactDetailsRecorded) and f.phone not in (None, ERASED)}
        for phone in phones:
            facts = facts + phone_facts.get(subjects.phone_stream(phone), [])
        state = fold(contact, facts, as_of)
        stages[state.stage(as_of, thresholds)] += 1
        for consent in state.consents.values():
            if consent.granted:
                consents[f"{consent.channel}/{consent.purpose}"] += 1
        for suppression in state.suppressions.values():
            suppressions[f"{suppression.channel}/{suppression.reason}"] += 1
    return {
        "as_of": as_of.isoformat(),
        "events": events,
        "contacts": len(facts_by_contact),
        "stages": dict(sorted(stages.items())),
        "unknown_handles": len(mention_handles - linked_handles),
        "consents_granted": dict(sorted(consents.items())),
        "suppressions": dict(sorted(suppressions.items())),
        "mentions_by_stance": dict(sorted(stances.items())),
        "mentions_by_author_kind": dict(sorted(authors.items())),
        # Facts every consumer skips (read models, runs, views) rather than crash on.
        "processing_failures": failures,
    }
