"""``decide``: which channel may carry one message, and why.

The rules run in a fixed order and the first that settles the message wins.

Public intents (reach, activation, showcase):
  erased contact -> segment audience -> personal data -> social suppression ->
  social not available -> reply needing review -> stakeholder -> scheduled on social.
Private intents (relationship, service, transactional):
  erased contact -> reply needing review -> stakeholder (relationship only) ->
  known customer (relationship only) -> a recipient at all -> private channel choice
  (suppression, consent, template and live channel, caps, SMS window; see ``channels``).

Why this order: what can never be sent (an erased person, a segment offer in public,
personal data in public, an opt-out) is settled before anything that could be sent
later, so a person is never asked to review a message that is not allowed anyway. A reply
to press or a competitor is held for review rather than suppressed as marketing to a
stakeholder, because the SPEC names that case explicitly. For private replies the
channel is chosen only after review, so a released reply goes through every channel
rule, suppression included, when the policy runs again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from orchestrator.domain.policy.channels import choose_private_channel
from orchestrator.domain.policy.config import PolicyConfig
from orchestrator.domain.policy.decision import Decision
from orchestrator.domain.policy.errors import PolicyInputError
from orchestrator.domain.policy.facts import (
    ChannelCapabilities,
    ContactFacts,
    MentionFacts,
    SendRequest,
    require_aware,
)
from orchestrator.domain.policy.rules import (
    erased_contact_receives_nothing,
    no_marketing_to_stakeholders,
    private_message_needs_recipient,
    public_message_carries_no_personal_data,
    publish_on_social,
    relationship_needs_known_customer,
    reply_needing_review_is_held,
    segment_offer_is_never_published,
    social_channel_can_carry_it,
    social_suppression_wins,
)
from orchestrator.domain.policy.situation import Situation

PolicyRule = Callable[[Situation], Decision | None]

PUBLIC_RULES: tuple[PolicyRule, ...] = (
    erased_contact_receives_nothing,
    segment_offer_is_never_published,
    public_message_carries_no_personal_data,
    social_suppression_wins,
    social_channel_can_carry_it,
    reply_needing_review_is_held,
    no_marketing_to_stakeholders,
)
PRIVATE_RULES: tuple[PolicyRule, ...] = (
    erased_contact_receives_nothing,
    reply_needing_review_is_held,
    no_marketing_to_stakeholders,
    relationship_needs_known_customer,
    private_message_needs_recipient,
)


def decide(request: SendRequest, contact: ContactFacts | None, mention: MentionFacts | None,
           capabilities: ChannelCapabilities, config: PolicyConfig, now: datetime) -> Decision:
    """Decide the status and channel of one message as of ``now``.

    Pure: the same arguments always give the same decision; nothing is read from a
    clock, a store or the network. ``contact`` is ``None`` for a public post (or a reply
    to a handle with no contact record); ``mention`` is required when the request is a
    reply to a mention. Raises ``PolicyInputError`` for input the policy cannot judge.
    """
    require_aware(now, "now")
    if request.is_reply_to_mention and mention is None:
        raise PolicyInputError(
            f"message {request.message_id} replies to a mention, but no mention facts were given"
        )
    situation = Situation(request, contact, mention, capabilities, config, now)
    if situation.is_public:
        rules, settle = PUBLIC_RULES, publish_on_social
    else:
        rules, settle = PRIVATE_RULES, choose_private_channel
    for rule in rules:
        decision = rule(situation)
        if decision is not None:
            return decision
    return settle(situation)
