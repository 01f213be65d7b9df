"""The channel policy: for one message, which channel may carry it, and why.

A step states an *intent*; this package decides the channel and records the rule that
fired, a reason an auditor can read, and the facts it used (SPEC "Channel policy").
It is pure domain code: facts and "now" come in as arguments, a ``Decision`` goes out;
no clock, store or network is touched, so every decision can be replayed.

The thesis behind the rules (``/seeds``): social media is a channel, not a
relationship. Public social is for reach, activating light buyers and showcasing
service; deepening a relationship with a *known* customer belongs on private channels
with consent; a public answer is seen by everyone, so segment offers and personal data
stay off it; and sometimes the right answer is silence.

Influence scores are not an input, on purpose: they can be gamed, and giving better
treatment to "influential" people is privileged treatment built into software. No
rule can favour anyone for their reach, because no rule is told it.

Public API::

    decide(request, contact, mention, capabilities, config, now) -> Decision
    ContactFacts, ConsentFact, SuppressionFact, MentionFacts, SendRequest,
    ChannelCapabilities, PolicyConfig, FrequencyCap, Decision, PolicyInputError,
    and the vocabulary namespaces Channel, Intent, Audience, Purpose, Status, Rule,
    SuppressionReason.
"""

from orchestrator.domain.policy.config import DAILY_CAP, WEEKLY_CAP, FrequencyCap, PolicyConfig
from orchestrator.domain.policy.decide import decide
from orchestrator.domain.policy.decision import Decision
from orchestrator.domain.policy.errors import PolicyInputError
from orchestrator.domain.policy.facts import (
    ChannelCapabilities,
    ConsentFact,
    ContactFacts,
    MentionFacts,
    SendRequest,
    SuppressionFact,
)
from orchestrator.domain.policy.vocabulary import (
    Audience,
    Channel,
    Intent,
    Purpose,
    Rule,
    Status,
    SuppressionReason,
)

__all__ = [
    "DAILY_CAP",
    "WEEKLY_CAP",
    "Audience",
    "Channel",
    "ChannelCapabilities",
    "ConsentFact",
    "ContactFacts",
    "Decision",
    "FrequencyCap",
    "Intent",
    "MentionFacts",
    "PolicyConfig",
    "PolicyInputError",
    "Purpose",
    "Rule",
    "SendRequest",
    "Status",
    "SuppressionFact",
    "SuppressionReason",
    "decide",
]
