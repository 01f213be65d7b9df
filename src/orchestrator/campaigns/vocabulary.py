"""The closed word lists of the journey language (SPEC: "Journeys: YAML" and "Templates")."""

from __future__ import annotations

from orchestrator.domain.vocabulary import STAGES as STAGES  # one list for the whole product

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

AUDIENCES = ("personal", "segment", "public")
DEFAULT_AUDIENCE = "personal"

# Which files of a template folder let a channel carry the message. An email needs a
# body; its subject file alone is not enough.
CHANNEL_FILES = {
    "email": ("email.html", "email.txt"),
    "sms": ("sms.txt",),
    "mail": ("letter.html",),
    "social": ("social.txt",),
}
TEMPLATE_FILES = ("email.subject.txt", "email.html", "email.txt", "sms.txt", "letter.html",
                  "social.txt")
PUBLIC_CHANNELS = ("social",)
PRIVATE_CHANNELS = ("email", "sms", "mail")
