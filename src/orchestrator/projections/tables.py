"""Read-model tables (SQLAlchemy Core), in the same database as the events.

They hold no personal data (no email, phone, address, name, free text): only keys,
kinds, times and flags, so erasure never has to reach into them. Every row can be dropped
and rebuilt from the events (``orchestrator projections rebuild``).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
)

metadata = MetaData()

tracking = Table(
    "rm_tracking", metadata,
    Column("projection", String, nullable=False),
    Column("application", String, nullable=False),
    Column("position", BigInteger, nullable=False),
    PrimaryKeyConstraint("projection", "application"),
)

contacts = Table(
    "rm_contacts", metadata,
    Column("contact", String, primary_key=True),
    Column("kind", String, nullable=False),
    Column("known", Boolean, nullable=False),
    Column("erased", Boolean, nullable=False),
    Column("verified_identities", Integer, nullable=False),
    Column("first_at", String, nullable=False),
    Column("last_at", String, nullable=False),
    Column("touchpoints", Integer, nullable=False),
    Column("timezone", String),
)

purchases = Table(
    "rm_purchases", metadata,
    Column("touchpoint", String, primary_key=True),
    Column("contact", String, nullable=False, index=True),
    Column("at_utc", String, nullable=False),  # ISO-8601 in UTC: sorts as time does
)

consents = Table(
    "rm_consents", metadata,
    Column("contact", String, nullable=False),
    Column("channel", String, nullable=False),
    Column("purpose", String, nullable=False),
    Column("granted", Boolean, nullable=False),
    Column("at_utc", String, nullable=False),
    Column("touchpoint", String, nullable=False),
    PrimaryKeyConstraint("contact", "channel", "purpose"),
)

contact_phones = Table(
    "rm_contact_phones", metadata,
    Column("contact", String, nullable=False),
    Column("phone_stream", String, nullable=False),
    PrimaryKeyConstraint("contact", "phone_stream"),
)

sms_opt_outs = Table(
    "rm_sms_opt_outs", metadata,
    Column("phone_stream", String, primary_key=True),
    Column("opted_out", Boolean, nullable=False),
    Column("at_utc", String, nullable=False),
    Column("touchpoint", String, nullable=False),
)

messages = Table(
    "rm_messages", metadata,
    Column("message", String, primary_key=True),
    Column("contact", String, index=True),
    Column("journey", String, nullable=False),
    Column("version", Integer, nullable=False),
    Column("step", String, nullable=False),
    Column("intent", String, nullable=False),
    Column("audience", String, nullable=False),
    Column("channel", String),
    Column("status", String, nullable=False),
    Column("reason", String),
    Column("provider_id", String),
    Column("dead_letter", Boolean, nullable=False, default=False, index=True),
    Column("at", String, nullable=False),
    Column("at_utc", String, nullable=False),
)

# What is left to send: one row per message the policy chose and no outcome ended yet
# (sent, failed), so finding due work reads pending rows only, never the history
# (docs/workers.md). The projection keeps the first columns; ``taken_by``/``taken_until``
# (a worker picked the row) and ``parked_until`` (a worker left it in doubt for a
# person) are written by workers and never by the projection.
dispatch_queue = Table(
    "rm_dispatch_queue", metadata,
    Column("message", String, primary_key=True),
    Column("order_key", String, nullable=False),  # the contact, or the message (public)
    Column("journey", String, nullable=False),
    Column("channel", String),
    Column("decided_at", String, nullable=False),  # UTC ISO-8601: the decision's moment
    Column("not_before", String),  # a provider's "later": no hand-over before this
    Column("lease_until", String),  # a recorded claim runs until this (then: in doubt)
    Column("taken_by", String),
    Column("taken_until", String),
    Column("parked_until", String),
    Index("ix_rm_dispatch_queue_order", "order_key", "decided_at"),
    Index("ix_rm_dispatch_queue_decided", "decided_at", "message"),
)

# Each journey's lifecycle state (paused, archived) once it was changed; never changed:
# absent (active). Workers leave the messages of a journey that is not active.
journey_states = Table(
    "rm_journey_states", metadata,
    Column("journey", String, primary_key=True),
    Column("state", String, nullable=False),
)

# Channels stopped for a contact by feedback on its messages (hard bounce, complaint,
# unsubscribe: domain/suppressions.py). SMS STOP is kept per phone in rm_sms_opt_outs.
channel_suppressions = Table(
    "rm_channel_suppressions", metadata,
    Column("contact", String, primary_key=True),
    Column("channel", String, primary_key=True),
    Column("reason", String, nullable=False),
    Column("at_utc", String, nullable=False),
    Column("touchpoint", String, nullable=False),
)

# Recorded facts the directory could not apply (e.g. a time outside the supported range),
# kept so that they are visible instead of stopping every later page.
processing_failures = Table(
    "rm_processing_failures", metadata,
    Column("stream", String, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("event_type", String, nullable=False),
    Column("reason", String, nullable=False),
)

VIEW_TABLES = (processing_failures, contacts, purchases, consents, contact_phones,
               sms_opt_outs, messages, channel_suppressions, dispatch_queue, journey_states)
