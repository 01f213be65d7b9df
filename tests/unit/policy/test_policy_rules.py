"""Every channel-policy rule, with cases where it fires and cases where it must not.

One row a case: the facts, the request, and the decision expected (status, channel, rule,
words the auditor-facing reason must contain, facts it must record).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from tests.unit.policy.builders import (
    DEFAULT_CONFIG,
    EVERY_CHANNEL,
    NOW,
    consent,
    contact,
    granted,
    mention,
    reply,
    request,
    run,
    suppression,
)

from orchestrator.domain.policy import (
    ChannelCapabilities,
    ContactFacts,
    MentionFacts,
    PolicyConfig,
    SendRequest,
    Status,
)
from orchestrator.domain.policy import Rule as R

PRIVATE_ONLY = ChannelCapabilities.of("email", "sms", "mail")
MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@dataclass(frozen=True, kw_only=True)
class Case:
    name: str
    request: SendRequest
    contact: ContactFacts | None = None
    mention: MentionFacts | None = None
    capabilities: ChannelCapabilities = EVERY_CHANNEL
    config: PolicyConfig = DEFAULT_CONFIG
    now: datetime = NOW
    status: str
    channel: str | None
    rule: str
    reason_mentions: tuple[str, ...] = ()
    not_before: datetime | None = None
    facts: Mapping[str, object] = field(default_factory=dict)


def sms_only(**overrides) -> ContactFacts:
    return contact(consents=granted("sms:marketing"), **overrides)


PUBLIC = [
    Case(name="activation post goes to social",
         request=request("activation", audience="public"),
         status=Status.SCHEDULED, channel="social", rule=R.PUBLIC_CHANNEL_CHOSEN,
         reason_mentions=("public intent", "post")),
    Case(name="reach reply to a neutral mention by a prospect goes to social",
         request=reply("reach"), contact=contact(kind="prospect", stage="prospect"),
         mention=mention("neutral"),
         status=Status.SCHEDULED, channel="social", rule=R.PUBLIC_CHANNEL_CHOSEN,
         reason_mentions=("public reply",)),
    Case(name="a negative but not hostile mention is still answered",
         request=reply(), mention=mention("negative"),
         status=Status.SCHEDULED, channel="social", rule=R.PUBLIC_CHANNEL_CHOSEN),
    Case(name="segment offer in a broadcast is never published",
         request=request("activation", audience="segment"),
         status=Status.SUPPRESSED, channel=None, rule=R.SEGMENT_NEVER_PUBLIC,
         reason_mentions=("segment", "never published")),
    Case(name="public message using contact data is not published",
         request=request("showcase", audience="public", carries_contact_data=True),
         status=Status.SUPPRESSED, channel=None, rule=R.PUBLIC_NO_PERSONAL_DATA,
         reason_mentions=("personal data",)),
    Case(name="public intent without a social template",
         request=request("reach", audience="public"), capabilities=PRIVATE_ONLY,
         status=Status.SUPPRESSED, channel=None, rule=R.CHANNEL_UNAVAILABLE,
         reason_mentions=("no social template",)),
    Case(name="public intent with social not live",
         request=request("reach", audience="public"),
         capabilities=ChannelCapabilities(with_template=frozenset({"social"}),
                                          live=frozenset()),
         status=Status.SUPPRESSED, channel=None, rule=R.CHANNEL_UNAVAILABLE,
         reason_mentions=("not live",)),
    Case(name="reply to a hostile mention is held for review",
         request=reply(), mention=mention("hostile"),
         status=Status.HELD_FOR_REVIEW, channel="social", rule=R.MENTION_HELD_FOR_REVIEW,
         reason_mentions=("hostile", "review"), facts={"mention_stance": "hostile"}),
    Case(name="reply to a mention by press is held for review",
         request=reply(), mention=mention("positive", author_kind="press"),
         status=Status.HELD_FOR_REVIEW, channel="social", rule=R.MENTION_HELD_FOR_REVIEW,
         reason_mentions=("press",)),
    Case(name="reply to a mention by a competitor is held for review",
         request=reply(), mention=mention(None, author_kind="competitor"),
         status=Status.HELD_FOR_REVIEW, channel="social", rule=R.MENTION_HELD_FOR_REVIEW,
         reason_mentions=("competitor",)),
    Case(name="reply to a linked press contact is held though the mention is untagged",
         request=reply(), contact=contact(kind="press", stage="press"), mention=mention(),
         status=Status.HELD_FOR_REVIEW, channel="social", rule=R.MENTION_HELD_FOR_REVIEW),
    Case(name="hostile mentions are answered when review is switched off",
         request=reply(), mention=mention("hostile"),
         config=PolicyConfig(review_stances=frozenset()),
         status=Status.SCHEDULED, channel="social", rule=R.PUBLIC_CHANNEL_CHOSEN),
    Case(name="reply to a regulator's mention is marketing to a stakeholder",
         request=reply("activation"), mention=mention(author_kind="regulator"),
         status=Status.SUPPRESSED, channel=None, rule=R.STAKEHOLDER_NO_MARKETING,
         reason_mentions=("regulator",)),
    Case(name="a segment offer replying to a hostile mention is suppressed, not reviewed",
         request=reply(audience="segment"), mention=mention("hostile"),
         status=Status.SUPPRESSED, channel=None, rule=R.SEGMENT_NEVER_PUBLIC),
    Case(name="reply to a contact suppressed on social",
         request=reply(), mention=mention(),
         contact=contact(suppressions={"social": suppression("unsubscribed")}),
         status=Status.SUPPRESSED, channel=None, rule=R.SUPPRESSION_WINS,
         reason_mentions=("unsubscribed",), facts={"social.suppression": "unsubscribed"}),
    Case(name="reply to an erased contact",
         request=reply(), mention=mention(), contact=contact(erased=True),
         status=Status.SUPPRESSED, channel=None, rule=R.SUPPRESSION_ERASED,
         reason_mentions=("erased",)),
]

RELATIONSHIP = [
    Case(name="known customer with email consent gets email",
         request=request(), contact=contact(consents=granted("email:marketing")),
         status=Status.SCHEDULED, channel="email", rule=R.PRIVATE_CHANNEL_CHOSEN,
         reason_mentions=("Known customer C1", "marketing consent", "ev-email-marketing"),
         facts={"email.consent_event_ref": "ev-email-marketing", "stage": "light_buyer"}),
    Case(name="light buyer with no consent is suppressed, never moved to public",
         request=request(), contact=contact(),
         status=Status.SUPPRESSED, channel=None, rule=R.REQUIRES_MARKETING_CONSENT,
         reason_mentions=("no marketing consent on record", "never moved to a public channel"),
         facts={"email.outcome": "no_consent", "mail.outcome": "no_consent"}),
    Case(name="consent withdrawn one minute before the send",
         request=request(),
         contact=contact(consents={("email", "marketing"): consent(granted=False,
                                                                    at=NOW - MINUTE)}),
         status=Status.SUPPRESSED, channel=None, rule=R.REQUIRES_MARKETING_CONSENT,
         reason_mentions=("withdrawn at 2026-05-12T09:59:00+00:00",),
         facts={"email.consent_granted": False}),
    Case(name="consent granted one minute before the send",
         request=request(),
         contact=contact(consents={("email", "marketing"): consent(at=NOW - MINUTE)}),
         status=Status.SCHEDULED, channel="email", rule=R.PRIVATE_CHANNEL_CHOSEN),
    Case(name="consent recorded one minute after the decision does not count yet",
         request=request(),
         contact=contact(consents={("email", "marketing"): consent(at=NOW + MINUTE)}),
         status=Status.SUPPRESSED, channel=None, rule=R.REQUIRES_MARKETING_CONSENT,
         reason_mentions=("after this decision",)),
    Case(name="customer with only mail consent gets mail",
         request=request(), contact=contact(consents=granted("mail:marketing")),
         status=Status.SCHEDULED, channel="mail", rule=R.PRIVATE_CHANNEL_CHOSEN,
         reason_mentions=("Passed over: email: no marketing consent",)),
    Case(name="prospect with email consent is not a known customer",
         request=request(),
         contact=contact(kind="prospect", stage="prospect", consents=granted("email:marketing")),
         status=Status.SUPPRESSED, channel=None, rule=R.REQUIRES_KNOWN_CUSTOMER,
         reason_mentions=("known customers", "prospect", "not moved to a public channel")),
    Case(name="unknown social handle without a verified link",
         request=request(),
         contact=contact(kind="unknown", stage="unknown", consents=granted("email:marketing")),
         status=Status.SUPPRESSED, channel=None, rule=R.REQUIRES_KNOWN_CUSTOMER),
    Case(name="the same handle once a verified link ties it to the contact",
         request=request(),
         contact=contact(kind="unknown", stage="unknown", has_verified_identity=True,
                         consents=granted("email:marketing")),
         status=Status.SCHEDULED, channel="email", rule=R.PRIVATE_CHANNEL_CHOSEN,
         reason_mentions=("verified identity link",)),
    Case(name="no contact record behind a relationship message",
         request=request(), contact=None,
         status=Status.SUPPRESSED, channel=None, rule=R.REQUIRES_KNOWN_CUSTOMER,
         reason_mentions=("no contact record",)),
    Case(name="transactional consent does not allow relationship messages",
         request=request(), contact=contact(consents=granted("email:transactional")),
         status=Status.SUPPRESSED, channel=None, rule=R.REQUIRES_MARKETING_CONSENT),
    Case(name="preference order is configuration",
         request=request(), contact=contact(consents=granted("email:marketing",
                                                             "mail:marketing")),
         config=PolicyConfig(private_channel_order=("mail", "email")),
         status=Status.SCHEDULED, channel="mail", rule=R.PRIVATE_CHANNEL_CHOSEN,
         facts={"channel_order": "mail,email"}),
    Case(name="a channel without a template is passed over",
         request=request(),
         contact=contact(consents=granted("email:marketing", "sms:marketing")),
         capabilities=ChannelCapabilities.of("sms", "mail", "social"),
         status=Status.SCHEDULED, channel="sms", rule=R.PRIVATE_CHANNEL_CHOSEN,
         reason_mentions=("email: this message has no email template",)),
    Case(name="the only consented channel has no template",
         request=request(), contact=contact(consents=granted("email:marketing")),
         capabilities=ChannelCapabilities.of("sms", "mail"),
         status=Status.SUPPRESSED, channel=None, rule=R.CHANNEL_UNAVAILABLE),
    *[
        Case(name=f"no relationship marketing to {kind}",
             request=request(),
             contact=contact(kind=kind, stage=kind, has_verified_identity=True,
                             consents=granted("email:marketing")),
             status=Status.SUPPRESSED, channel=None, rule=R.STAKEHOLDER_NO_MARKETING,
             reason_mentions=(kind,))
        for kind in ("press", "regulator", "competitor")
    ],
    Case(name="a partner with a verified link and consent is a known recipient",
         request=request(),
         contact=contact(kind="partner", stage="partner", has_verified_identity=True,
                         consents=granted("email:marketing")),
         status=Status.SCHEDULED, channel="email", rule=R.PRIVATE_CHANNEL_CHOSEN),
]

TRANSACTIONAL = [
    Case(name="transactional with transactional consent",
         request=request("transactional"), contact=contact(consents=granted("email:transactional")),
         status=Status.SCHEDULED, channel="email", rule=R.PRIVATE_CHANNEL_CHOSEN,
         reason_mentions=("transactional consent",)),
    Case(name="service needs transactional consent; marketing consent is not enough",
         request=request("service"), contact=contact(consents=granted("email:marketing")),
         status=Status.SUPPRESSED, channel=None, rule=R.REQUIRES_TRANSACTIONAL_CONSENT,
         reason_mentions=("no transactional consent",)),
    Case(name="transactional messages do not require a known customer",
         request=request("transactional"),
         contact=contact(kind="prospect", stage="prospect",
                         consents=granted("email:transactional")),
         status=Status.SCHEDULED, channel="email", rule=R.PRIVATE_CHANNEL_CHOSEN),
    Case(name="press contacts still get service messages",
         request=request("service"),
         contact=contact(kind="press", stage="press", consents=granted("mail:transactional")),
         status=Status.SCHEDULED, channel="mail", rule=R.PRIVATE_CHANNEL_CHOSEN),
    Case(name="transactional messages are not frequency capped",
         request=request("transactional"),
         contact=contact(consents=granted("email:transactional"),
                         recent_marketing_sends=tuple(("email", NOW - k * HOUR)
                                                      for k in range(1, 6))),
         status=Status.SCHEDULED, channel="email", rule=R.PRIVATE_CHANNEL_CHOSEN),
    Case(name="service message without a contact",
         request=request("service"), contact=None,
         status=Status.SUPPRESSED, channel=None, rule=R.REQUIRES_RECIPIENT),
]

SUPPRESSION = [
    Case(name="unsubscribed from email, consented to sms: sms",
         request=request(),
         contact=contact(consents=granted("email:marketing", "sms:marketing"),
                         suppressions={"email": suppression("unsubscribed")}),
         status=Status.SCHEDULED, channel="sms", rule=R.PRIVATE_CHANNEL_CHOSEN,
         reason_mentions=("email: suppressed (unsubscribed",),
         facts={"email.suppression": "unsubscribed", "email.outcome": "suppressed"}),
    Case(name="hard bounce on the only consented channel",
         request=request(),
         contact=contact(consents=granted("email:marketing"),
                         suppressions={"email": suppression("hard_bounce")}),
         status=Status.SUPPRESSED, channel=None, rule=R.SUPPRESSION_WINS,
         reason_mentions=("hard_bounce",)),
    Case(name="complaint on email blocks even transactional email",
         request=request("transactional"),
         contact=contact(consents=granted("email:transactional"),
                         suppressions={"email": suppression("complaint")}),
         status=Status.SUPPRESSED, channel=None, rule=R.SUPPRESSION_WINS),
    Case(name="sms STOP blocks even transactional sms",
         request=request("transactional"),
         contact=contact(consents=granted("sms:transactional"),
                         suppressions={"sms": suppression("sms_stop")}),
         status=Status.SUPPRESSED, channel=None, rule=R.SUPPRESSION_WINS,
         reason_mentions=("sms_stop",)),
    Case(name="an erased contact gets nothing, not even transactional",
         request=request("transactional"),
         contact=contact(erased=True, consents=granted("email:transactional")),
         status=Status.SUPPRESSED, channel=None, rule=R.SUPPRESSION_ERASED),
    Case(name="an opt-out is the rule named even when other channels lack consent",
         request=request(),
         contact=contact(consents=granted("email:marketing"),
                         suppressions={"email": suppression("unsubscribed")}),
         status=Status.SUPPRESSED, channel=None, rule=R.SUPPRESSION_WINS,
         reason_mentions=("unsubscribed", "sms: no marketing consent")),
]

# 2026-03-29: Europe/London springs forward at 01:00 UTC (01:00 GMT -> 02:00 BST).
# 2026-03-08: America/New_York springs forward at 07:00 UTC (02:00 EST -> 03:00 EDT), so
# 02:30 does not exist there; a naive "02:30" resolves to 03:30 EDT.
# 2026-10-25: London falls back at 01:00 UTC; 01:30 happens twice.
SMS_WINDOW = [
    Case(name="London, DST day: 02:30 local is deferred to 08:00 local",
         request=request(), contact=sms_only(), now=utc(2026, 3, 29, 1, 30),
         status=Status.DEFERRED, channel="sms", rule=R.SMS_QUIET_HOURS,
         not_before=utc(2026, 3, 29, 7, 0),  # 08:00 BST
         reason_mentions=("02:30 in Europe/London", "2026-03-29 08:00 in Europe/London"),
         facts={"sms.local_time": "2026-03-29T02:30+01:00 Europe/London",
                "sms.not_before": "2026-03-29T07:00:00+00:00"}),
    Case(name="New York, DST day: 01:30 EST is deferred to 08:00 EDT",
         request=request(), contact=sms_only(timezone="America/New_York"),
         now=utc(2026, 3, 8, 6, 30),
         status=Status.DEFERRED, channel="sms", rule=R.SMS_QUIET_HOURS,
         not_before=utc(2026, 3, 8, 12, 0)),
    Case(name="New York, DST day: the nonexistent 02:30 (read as 03:30 EDT) waits for 08:00",
         request=request(), contact=sms_only(timezone="America/New_York"),
         now=datetime(2026, 3, 8, 2, 30).replace(tzinfo=UTC) + timedelta(hours=5),
         status=Status.DEFERRED, channel="sms", rule=R.SMS_QUIET_HOURS,
         not_before=utc(2026, 3, 8, 12, 0), reason_mentions=("03:30 in America/New_York",)),
    Case(name="22:00 the night before the change waits 9 hours, not 10",
         request=request(), contact=sms_only(), now=utc(2026, 3, 28, 22, 0),
         status=Status.DEFERRED, channel="sms", rule=R.SMS_QUIET_HOURS,
         not_before=utc(2026, 3, 29, 7, 0)),
    Case(name="London, fall-back day: the first 01:30 waits for 08:00 GMT",
         request=request(), contact=sms_only(), now=utc(2026, 10, 25, 0, 30),
         status=Status.DEFERRED, channel="sms", rule=R.SMS_QUIET_HOURS,
         not_before=utc(2026, 10, 25, 8, 0)),
    Case(name="08:00 local sharp is inside the window",
         request=request(), contact=sms_only(), now=utc(2026, 5, 12, 7, 0),
         status=Status.SCHEDULED, channel="sms", rule=R.PRIVATE_CHANNEL_CHOSEN),
    Case(name="20:59 local is inside the window",
         request=request(), contact=sms_only(), now=utc(2026, 5, 12, 19, 59),
         status=Status.SCHEDULED, channel="sms", rule=R.PRIVATE_CHANNEL_CHOSEN),
    Case(name="21:00 local sharp is outside the window",
         request=request(), contact=sms_only(), now=utc(2026, 5, 12, 20, 0),
         status=Status.DEFERRED, channel="sms", rule=R.SMS_QUIET_HOURS,
         not_before=utc(2026, 5, 13, 7, 0)),
    Case(name="quiet hours on preferred sms: a consented email goes now",
         request=request(), now=utc(2026, 5, 12, 23, 0),
         contact=contact(consents=granted("email:marketing", "sms:marketing")),
         config=PolicyConfig(private_channel_order=("sms", "email", "mail")),
         status=Status.SCHEDULED, channel="email", rule=R.PRIVATE_CHANNEL_CHOSEN,
         reason_mentions=("Passed over: sms: it is 00:00 in Europe/London",)),
    Case(name="time zone unknown and no fallback zones: SMS is not used",
         request=request(), contact=sms_only(timezone=None),
         status=Status.SUPPRESSED, channel=None, rule=R.SMS_TIMEZONE_UNKNOWN,
         reason_mentions=("time zone is unknown",), facts={"sms.timezone_source": "none"}),
    Case(name="time zone unknown: the next consented channel is used instead",
         request=request(), contact=contact(timezone=None,
                                            consents=granted("sms:marketing", "mail:marketing")),
         status=Status.SCHEDULED, channel="mail", rule=R.PRIVATE_CHANNEL_CHOSEN),
    Case(name="an invalid time zone name counts as unknown",
         request=request(), contact=sms_only(timezone="Mars/Olympus_Mons"),
         status=Status.SUPPRESSED, channel=None, rule=R.SMS_TIMEZONE_UNKNOWN,
         facts={"sms.contact_timezone": "Mars/Olympus_Mons"}),
    Case(name="unknown zone with fallback zones: waits until daytime in all of them",
         request=request(), contact=sms_only(timezone=None),
         config=PolicyConfig(sms_fallback_timezones=("America/New_York",
                                                     "America/Los_Angeles")),
         now=utc(2026, 5, 12, 12, 30),  # 08:30 in New York, 05:30 in Los Angeles
         status=Status.DEFERRED, channel="sms", rule=R.SMS_QUIET_HOURS,
         not_before=utc(2026, 5, 12, 15, 0),  # 08:00 in Los Angeles, 11:00 in New York
         facts={"sms.timezone_source": "fallback"}),
    Case(name="unknown zone with fallback zones: daytime in all of them is sent",
         request=request(), contact=sms_only(timezone=None),
         config=PolicyConfig(sms_fallback_timezones=("America/New_York",
                                                     "America/Los_Angeles")),
         now=utc(2026, 5, 12, 16, 0),
         status=Status.SCHEDULED, channel="sms", rule=R.PRIVATE_CHANNEL_CHOSEN),
    Case(name="a window opening inside the DST gap opens at the jump",
         request=request(), contact=sms_only(), now=utc(2026, 3, 29, 0, 15),
         config=PolicyConfig(sms_window_start=datetime(2000, 1, 1, 1, 30).time()),
         status=Status.DEFERRED, channel="sms", rule=R.SMS_QUIET_HOURS,
         not_before=utc(2026, 3, 29, 1, 0)),  # 01:30 GMT never happens; 02:00 BST does
]

CAPS = [
    Case(name="second marketing email within 24 h waits for the slot",
         request=request(),
         contact=contact(consents=granted("email:marketing"),
                         recent_marketing_sends=(("email", NOW - 5 * HOUR),)),
         status=Status.DEFERRED, channel="email", rule=R.CAP_DAILY,
         not_before=NOW + 19 * HOUR,
         reason_mentions=("1 marketing email message(s) in the last 24 h", "daily cap of 1"),
         facts={"email.daily_count": 1, "email.daily_limit": 1, "email.weekly_count": 1}),
    Case(name="a send exactly 24 h ago no longer counts",
         request=request(),
         contact=contact(consents=granted("email:marketing"),
                         recent_marketing_sends=(("email", NOW - DAY),)),
         status=Status.SCHEDULED, channel="email", rule=R.PRIVATE_CHANNEL_CHOSEN,
         facts={"email.daily_count": 0}),
    Case(name="the 4th message in 7 days is suppressed when the slot is days away",
         request=request(),
         contact=contact(consents=granted("email:marketing"),
                         recent_marketing_sends=tuple(("email", NOW - k * DAY)
                                                      for k in (5, 3, 2))),
         status=Status.SUPPRESSED, channel=None, rule=R.CAP_WEEKLY,
         reason_mentions=("3 marketing email message(s) in the last 7 days", "weekly cap of 3",
                          "more than 24 h away"),
         facts={"email.weekly_count": 3, "email.weekly_limit": 3}),
    Case(name="the 4th message in 7 days is deferred when the slot frees within 24 h",
         request=request(),
         contact=contact(consents=granted("email:marketing"),
                         recent_marketing_sends=(("email", NOW - 6 * DAY - 12 * HOUR),
                                                 ("email", NOW - 3 * DAY),
                                                 ("email", NOW - 2 * DAY))),
         status=Status.DEFERRED, channel="email", rule=R.CAP_WEEKLY,
         not_before=NOW + 12 * HOUR),
    Case(name="the 3rd message in 7 days is fine",
         request=request(),
         contact=contact(consents=granted("email:marketing"),
                         recent_marketing_sends=(("email", NOW - 5 * DAY),
                                                 ("email", NOW - 3 * DAY))),
         status=Status.SCHEDULED, channel="email", rule=R.PRIVATE_CHANNEL_CHOSEN,
         facts={"email.weekly_count": 2}),
    Case(name="capped email: a consented sms that can go now is used",
         request=request(),
         contact=contact(consents=granted("email:marketing", "sms:marketing"),
                         recent_marketing_sends=(("email", NOW - HOUR),)),
         status=Status.SCHEDULED, channel="sms", rule=R.PRIVATE_CHANNEL_CHOSEN,
         reason_mentions=("Passed over: email: 1 marketing email message(s)",)),
    Case(name="capped email and quiet sms: deferred on the preferred channel",
         request=request(), now=utc(2026, 5, 12, 22, 0),  # 23:00 in London
         contact=contact(consents=granted("email:marketing", "sms:marketing"),
                         recent_marketing_sends=(("email", utc(2026, 5, 12, 3, 0)),)),
         status=Status.DEFERRED, channel="email", rule=R.CAP_DAILY,
         not_before=utc(2026, 5, 13, 3, 0),
         reason_mentions=("No other channel can carry it now: sms: it is 23:00",)),
    Case(name="an sms slot freeing at night waits for the window",
         request=request(), now=utc(2026, 5, 12, 12, 0),
         contact=sms_only(recent_marketing_sends=(("sms", utc(2026, 5, 11, 21, 30)),)),
         status=Status.DEFERRED, channel="sms", rule=R.SMS_QUIET_HOURS,
         not_before=utc(2026, 5, 13, 7, 0),
         reason_mentions=("daily cap of 1", "which is 22:30 in Europe/London")),
    Case(name="caps count per channel",
         request=request(),
         contact=contact(consents=granted("email:marketing"),
                         recent_marketing_sends=(("sms", NOW - HOUR), ("mail", NOW - HOUR))),
         status=Status.SCHEDULED, channel="email", rule=R.PRIVATE_CHANNEL_CHOSEN),
    Case(name="caps are configuration",
         request=request(),
         contact=contact(consents=granted("email:marketing"),
                         recent_marketing_sends=(("email", NOW - HOUR),)),
         config=PolicyConfig(frequency_caps=()),
         status=Status.SCHEDULED, channel="email", rule=R.PRIVATE_CHANNEL_CHOSEN),
]

CASES = PUBLIC + RELATIONSHIP + TRANSACTIONAL + SUPPRESSION + SMS_WINDOW + CAPS


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_policy_rule(case: Case) -> None:
    decision = run(case.request, case.contact, case.mention, capabilities=case.capabilities,
                   config=case.config, now=case.now)

    assert (decision.status, decision.channel, decision.rule) == (
        case.status, case.channel, case.rule), decision.reason
    assert decision.not_before == case.not_before, decision.reason
    for words in case.reason_mentions:
        assert words in decision.reason
    for key, value in case.facts.items():
        assert decision.facts.get(key, "<missing>") == value, (key, dict(decision.facts))


def test_every_rule_id_is_exercised_by_the_table() -> None:
    exercised = {case.rule for case in CASES}
    assert exercised == R_ALL


R_ALL = {value for name, value in vars(R).items() if name.isupper() and name != "CAP_PREFIX"}
