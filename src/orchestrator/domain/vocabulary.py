"""The closed word lists of the product contract (SPEC), written once for the whole product:
the ingest validator, the journey language, the policy, the read models and the reports
all use these."""

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

# Touchpoint types in the order of the SPEC's ingest table.
TOUCHPOINT_TYPES = (
    "contact.upserted",
    "identity.linked",
    "consent.granted",
    "consent.withdrawn",
    "purchase.recorded",
    "social.mention",
    "sms.inbound",
    "message.delivered",
    "message.bounced",
    "message.opened",
    "message.clicked",
    "message.complained",
    "message.unsubscribed",
)
# Not a touchpoint but a change of the stage projection; needs `stage:` to say which.
STAGE_ENTERED = "stage.entered"

PUBLIC_INTENTS = ("reach", "activation", "showcase")
PRIVATE_INTENTS = ("relationship", "service", "transactional")
INTENTS = PUBLIC_INTENTS + PRIVATE_INTENTS
SERVICE_INTENTS = ("service", "transactional")
# Marketing is everything that pushes the brand rather than answering a need the person
# already has; it is what stakeholder rules and frequency caps are about.
MARKETING_INTENTS = (*PUBLIC_INTENTS, "relationship")

AUDIENCES = ("personal", "segment", "public")
DEFAULT_AUDIENCE = "personal"

PRIVATE_CHANNELS = ("email", "sms", "mail")
PUBLIC_CHANNELS = ("social",)
CHANNELS = frozenset({*PRIVATE_CHANNELS, *PUBLIC_CHANNELS})

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
