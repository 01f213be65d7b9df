"""What each policy rule id means, in a marketer's words (docs/decisions.md): printed
beside the id by the command line and the HTML report, so both say the same thing."""

from __future__ import annotations

PLAIN_WORDS = {
    "relationship.requires_marketing_consent": "no consent to marketing on a private channel",
    "relationship.requires_known_customer": "not a known customer (no purchase or verified "
                                            "identity)",
    "transactional.requires_transactional_consent": "no consent to service messages",
    "stakeholder.no_marketing": "press, regulator or competitor: no marketing",
    "public.segment_never_public": "a segment offer is never posted publicly",
    "public.no_personal_data": "a public post may not carry personal data",
    "mention.held_for_review": "reply to a hostile, press or competitor mention: a person "
                               "decides",
    "suppression.wins": "unsubscribed, bounced, complained or opted out on that channel",
    "suppression.erased": "the contact's data was erased",
    "sms.quiet_hours": "outside 08:00-21:00 in the recipient's time zone",
    "sms.timezone_unknown": "the recipient's time zone is unknown",
    "cap.daily": "daily frequency cap reached on that channel",
    "cap.weekly": "weekly frequency cap reached on that channel",
    "channel.unavailable": "no channel able to carry it is configured",
    "private.requires_recipient": "no address or number for a private channel",
}


def plain_words(rule: str) -> str:
    """A marketer's reading of a policy rule id ("" for one without)."""
    if rule.startswith("cap.") and rule not in PLAIN_WORDS:
        return "frequency cap reached on that channel"
    return PLAIN_WORDS.get(rule, "")
