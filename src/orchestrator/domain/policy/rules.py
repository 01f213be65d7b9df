"""The rules that can settle a message before any private channel is weighed.

Each rule looks at a ``Situation`` and returns a ``Decision`` when it settles the message,
or ``None`` to let the next rule speak. ``decide`` runs them in a fixed order (see
``orchestrator.domain.policy.decide``); the order is part of the policy.
"""

from __future__ import annotations

from orchestrator.domain.policy.decision import Decision
from orchestrator.domain.policy.situation import Situation
from orchestrator.domain.policy.vocabulary import (
    Audience,
    Channel,
    Intent,
    Rule,
    Status,
)


def erased_contact_receives_nothing(s: Situation) -> Decision | None:
    """SPEC rule 6: an erased contact receives nothing, on any channel, public included."""
    if s.contact is None or not s.contact.erased:
        return None
    return s.suppressed(
        Rule.SUPPRESSION_ERASED,
        f"Contact {s.contact.contact_id} was erased; an erased contact receives nothing on "
        "any channel.",
        {"contact_erased": True},
    )


def segment_offer_is_never_published(s: Situation) -> Decision | None:
    """SPEC rule 1: public discussion is public, so a value proposition meant for one
    segment would reach everyone else too (seed 001, the Chipotle example)."""
    if s.request.audience != Audience.SEGMENT:
        return None
    return s.suppressed(
        Rule.SEGMENT_NEVER_PUBLIC,
        f"This {s.request.intent} message is for a segment, and a message for a segment is "
        "never published on a public channel: everyone would see an offer meant for a few.",
    )


def public_message_carries_no_personal_data(s: Situation) -> Decision | None:
    """SPEC rule 1: a public post or reply never carries personal data."""
    if not s.request.carries_contact_data:
        return None
    return s.suppressed(
        Rule.PUBLIC_NO_PERSONAL_DATA,
        f"This {s.request.intent} message would go to public social, and its content uses "
        "contact data; a public message never carries personal data.",
    )


def social_suppression_wins(s: Situation) -> Decision | None:
    """SPEC rule 6: someone who asked us to stop (e.g. stop replying to them) gets
    nothing on social either."""
    suppression = s.contact.suppression_on(Channel.SOCIAL) if s.contact else None
    if suppression is None:
        return None
    return s.suppressed(
        Rule.SUPPRESSION_WINS,
        f"Contact {s.contact.contact_id} is suppressed on social ({suppression.reason} at "
        f"{suppression.at.isoformat()}, event {suppression.event_ref}); suppression wins over "
        "every other rule.",
        {
            "social.suppression": suppression.reason,
            "social.suppression_at": suppression.at.isoformat(),
            "social.suppression_event_ref": suppression.event_ref,
        },
    )


def social_channel_can_carry_it(s: Situation) -> Decision | None:
    """Public intents have exactly one channel; without it there is nowhere to go."""
    missing = s.capabilities.missing_for(Channel.SOCIAL)
    if missing is None:
        return None
    return s.suppressed(
        Rule.CHANNEL_UNAVAILABLE,
        f"A {s.request.intent} message goes only to public social, and {missing}.",
        {"social.outcome": "unavailable"},
    )


def reply_needing_review_is_held(s: Situation) -> Decision | None:
    """SPEC rule 4: a reply to a hostile mention, or to press or a competitor, is not
    sent automatically. Such a conversation may be an attack, and sometimes silence is
    the better answer (seed 001); a person decides.

    The author's kind comes from the mention's tag or, when the handle is linked, from
    the contact record: either is enough.
    """
    if not s.request.is_reply_to_mention or s.mention is None or s.request.released_by:
        return None
    why: list[str] = []
    if s.mention.stance in s.config.review_stances:
        why.append(f"the mention's stance is {s.mention.stance}")
    author_kinds = {s.mention.author_kind, s.contact.kind if s.contact else None}
    for kind in sorted(k for k in author_kinds if k in s.config.review_author_kinds):
        why.append(f"its author is {kind}")
    if not why:
        return None
    return s.decision(
        status=Status.HELD_FOR_REVIEW,
        # A public reply has its channel already; a private reply's channel is chosen
        # only when a reviewer releases it and the policy runs again.
        channel=Channel.SOCIAL if s.is_public else None,
        rule=Rule.MENTION_HELD_FOR_REVIEW,
        reason=(
            f"This replies to a mention on {s.mention.network} and {' and '.join(why)}; "
            "such replies are not sent automatically but held for a person to review."
        ),
    )


def no_marketing_to_stakeholders(s: Situation) -> Decision | None:
    """SPEC rule 4: press, regulators and competitors are stakeholders, not targets
    (seed 002); they receive no marketing, public replies included. Service and
    transactional messages still reach them."""
    if not s.is_marketing:
        return None
    kinds = {s.contact.kind, s.contact.stage} if s.contact else set()
    if s.request.is_reply_to_mention and s.mention is not None:
        kinds.add(s.mention.author_kind)
    blocked = sorted(k for k in kinds if k in s.config.no_marketing_kinds)
    if not blocked:
        return None
    stakeholders = ", ".join(sorted(s.config.no_marketing_kinds))
    return s.suppressed(
        Rule.STAKEHOLDER_NO_MARKETING,
        f"The recipient is {' and '.join(blocked)}: {stakeholders} contacts are stakeholders, "
        f"not marketing targets, so this {s.request.intent} message is not sent.",
    )


def relationship_needs_known_customer(s: Situation) -> Decision | None:
    """SPEC rule 2: relationship messages are for people we know are customers (seed 000:
    a social profile matching a customer record proves nothing). Known means a customer
    kind, or a handle tied to the contact by a verified identity link."""
    if s.request.intent != Intent.RELATIONSHIP:
        return None
    if s.contact is None:
        return s.suppressed(
            Rule.REQUIRES_KNOWN_CUSTOMER,
            "There is no contact record behind this relationship message (an unlinked social "
            "handle is not a known customer); it is suppressed, not moved to a public channel.",
        )
    if s.contact.kind in s.config.known_customer_kinds or s.contact.has_verified_identity:
        return None
    return s.suppressed(
        Rule.REQUIRES_KNOWN_CUSTOMER,
        f"Relationship messages go only to known customers (kind "
        f"{' or '.join(sorted(s.config.known_customer_kinds))}, or a verified identity "
        f"link); contact {s.contact.contact_id} is {s.contact.kind} (stage "
        f"{s.contact.stage}) with no verified link. It is suppressed, not moved to a public "
        "channel.",
    )


def private_message_needs_recipient(s: Situation) -> Decision | None:
    """A service or transactional message is about one person's business; without a
    contact there is nobody to send it to privately."""
    if s.contact is not None:
        return None
    return s.suppressed(
        Rule.REQUIRES_RECIPIENT,
        f"A {s.request.intent} message goes to one contact on a private channel, and there "
        "is no contact record behind it.",
    )


def publish_on_social(s: Situation) -> Decision:
    """SPEC rule 1: reach, activation and showcase belong on public social (seed 004)."""
    kind = "a public reply" if s.request.is_reply_to_mention else "a post on the brand's account"
    return s.decision(
        status=Status.SCHEDULED,
        channel=Channel.SOCIAL,
        rule=Rule.PUBLIC_CHANNEL_CHOSEN,
        reason=(
            f"{s.request.intent.capitalize()} is a public intent: scheduled on social as "
            f"{kind}, with no personal data and not for a segment."
        ),
        facts={"social.outcome": "sendable"},
    )
