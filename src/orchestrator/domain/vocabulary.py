"""The closed word lists of the product contract (SPEC)."""

from __future__ import annotations

CONTACT_KINDS = frozenset({"customer", "prospect", "partner", "employee", "press", "regulator",
                           "competitor", "unknown"})
STAKEHOLDER_KINDS = frozenset({"partner", "employee", "press", "regulator", "competitor"})
VERIFICATION_METHODS = frozenset({"oauth", "customer_confirmed", "agent"})
CONSENT_CHANNELS = frozenset({"email", "sms", "mail"})
CONSENT_PURPOSES = frozenset({"marketing", "transactional"})
STANCES = frozenset({"positive", "neutral", "negative", "hostile"})
STAGES = ("unknown", "prospect", "light_buyer", "regular_buyer", "partner", "employee", "press",
          "regulator", "competitor")

SMS_OPT_OUT = frozenset({"STOP", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "STOPALL"})
SMS_OPT_IN = frozenset({"START", "UNSTOP"})
SMS_HELP = frozenset({"HELP"})


def sms_keyword(body: str) -> str | None:
    """The carrier-standard meaning of an inbound SMS: the whole body, trimmed and
    case-folded, must be the keyword ("stop please" is a conversation, not an opt-out)."""
    word = body.strip().upper()
    if word in SMS_OPT_OUT:
        return "opt_out"
    if word in SMS_OPT_IN:
        return "opt_in"
    if word in SMS_HELP:
        return "help"
    return None
