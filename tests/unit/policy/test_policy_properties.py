"""Properties that hold for any facts: the promises the policy makes to auditors.

Random contacts, requests, mentions, channel set-ups, configurations and instants
(biased towards daylight-saving changes) go through ``decide``; whatever it answers must
keep the thesis: nothing private in public, nothing private without consent, suppression
always wins, the same facts give the same answer, and a deferral is honest.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.domain.policy import (
    ChannelCapabilities,
    ConsentFact,
    ContactFacts,
    Decision,
    MentionFacts,
    PolicyConfig,
    SendRequest,
    Status,
    SuppressionFact,
    decide,
)
from orchestrator.domain.policy.local_time import is_inside_window, load_zone
from orchestrator.domain.policy.vocabulary import (
    ALL_CHANNELS,
    AUDIENCES,
    CONSENT_CHANNELS,
    CONSENT_PURPOSES,
    CONTACT_KINDS,
    INTENTS,
    MARKETING_INTENTS,
    POLICY_STATUSES,
    PRIVATE_CHANNELS,
    PUBLIC_INTENTS,
    RULES,
    STAGES,
    STANCES,
    SUPPRESSION_REASONS,
    Channel,
    Purpose,
    Rule,
)

# deadline=None: the first use of a time zone loads it from disk, which is slow once.
PROPERTY = settings(max_examples=100, deadline=None)

DST_CHANGES = [
    datetime(2026, 3, 8, 7, tzinfo=UTC),  # New York springs forward
    datetime(2026, 3, 29, 1, tzinfo=UTC),  # London springs forward
    datetime(2026, 10, 25, 1, tzinfo=UTC),  # London falls back
    datetime(2026, 11, 1, 6, tzinfo=UTC),  # New York falls back
    datetime(2026, 4, 5, 15, 30, tzinfo=UTC),  # Lord Howe: a 30-minute change
]
ZONE_NAMES = [None, "Europe/London", "America/New_York", "Asia/Tokyo", "Australia/Lord_Howe",
              "Pacific/Kiritimati", "America/St_Johns", "Not/AZone"]
FALLBACK_SETS = [(), ("Europe/London",), ("America/New_York", "America/Los_Angeles"),
                 ("Europe/Paris", "Asia/Tokyo")]

instants = st.one_of(
    st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31),
                 timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5))])),
    st.builds(lambda change, shift: change + shift, st.sampled_from(DST_CHANGES),
              st.timedeltas(min_value=timedelta(hours=-30), max_value=timedelta(hours=30))),
)
refs = st.sampled_from(["ev-1", "ev-2", "ev-3"])


def before(now: datetime, most: timedelta, *, future: timedelta = timedelta(0)):
    """Instants from ``most`` before ``now`` to ``future`` after it."""
    return st.timedeltas(min_value=-future, max_value=most).map(lambda age: now - age)


def mostly(usual, other: st.SearchStrategy) -> st.SearchStrategy:
    """``usual`` about three times in four, else anything from ``other``. Uniform draws
    would stop most examples at the first suppressing rule and leave channel choice,
    caps and quiet hours barely tested."""
    return st.one_of(st.just(usual), st.just(usual), st.just(usual), other)


@st.composite
def contacts(draw, now: datetime) -> ContactFacts:
    # Half the facts are from around the decision time, some of them recorded just after
    # it: the edge where "as of now" matters.
    recorded = before(now, timedelta(days=400)) | before(now, timedelta(hours=2),
                                                         future=timedelta(hours=2))
    consent = st.builds(ConsentFact, granted=mostly(True, st.booleans()), at=recorded,
                        source=st.just("web-form"), event_ref=refs)
    suppression = st.builds(SuppressionFact, reason=st.sampled_from(sorted(SUPPRESSION_REASONS)),
                            at=recorded, event_ref=refs)
    consent_keys = [(c, p) for c in sorted(CONSENT_CHANNELS) for p in sorted(CONSENT_PURPOSES)]
    return ContactFacts(
        contact_id=draw(st.sampled_from(["C1", "C2"])),
        kind=draw(mostly("customer", st.sampled_from(sorted(CONTACT_KINDS)))),
        stage=draw(mostly("light_buyer", st.sampled_from(STAGES))),
        has_verified_identity=draw(st.booleans()),
        consents=draw(st.dictionaries(st.sampled_from(consent_keys), consent, min_size=1,
                                      max_size=6)),
        suppressions=draw(mostly({}, st.dictionaries(st.sampled_from(sorted(ALL_CHANNELS)),
                                                     suppression, max_size=2))),
        timezone=draw(st.sampled_from(ZONE_NAMES)),
        erased=draw(mostly(False, st.booleans())),
        # Sends are facts of the past (the re-decision property relies on that), many of
        # them recent enough for the caps to bite.
        recent_marketing_sends=tuple(draw(st.lists(
            st.tuples(mostly(Channel.EMAIL, st.sampled_from(sorted(ALL_CHANNELS))),
                      before(now, timedelta(days=8)) | before(now, timedelta(hours=30))),
            max_size=6))),
    )


mentions = st.builds(MentionFacts, network=st.just("mastodon"),
                     stance=st.none() | st.sampled_from(sorted(STANCES)),
                     author_kind=st.none() | st.sampled_from(["press", "competitor",
                                                              "regulator", "customer"]))
channel_sets = st.frozensets(st.sampled_from(sorted(ALL_CHANNELS)))
capabilities = mostly(
    ChannelCapabilities.all_channels(),
    st.builds(lambda templates, live: ChannelCapabilities(with_template=templates, live=live),
              channel_sets, channel_sets),
)
configs = st.builds(
    lambda order, fallback, review: PolicyConfig(
        private_channel_order=order, sms_fallback_timezones=fallback,
        review_stances=frozenset({"hostile"}) if review else frozenset(),
    ),
    st.permutations(PRIVATE_CHANNELS).flatmap(
        lambda channels: st.integers(1, 3).map(lambda n: tuple(channels[:n]))),
    st.sampled_from(FALLBACK_SETS),
    st.booleans(),
)


@st.composite
def situations(draw) -> dict:
    now = draw(instants)
    is_reply = draw(mostly(False, st.booleans()))
    return {
        "request": SendRequest(
            message_id="M1", intent=draw(st.sampled_from(sorted(INTENTS))),
            audience=draw(mostly("personal", st.sampled_from(sorted(AUDIENCES)))),
            journey_id="j", journey_version=1, step_id="s", is_reply_to_mention=is_reply,
            carries_contact_data=draw(mostly(False, st.booleans())),
        ),
        "contact": draw(st.one_of(contacts(now), contacts(now), contacts(now), st.none())),
        "mention": draw(mentions if is_reply else st.none() | mentions),
        "capabilities": draw(capabilities),
        "config": draw(configs),
        "now": now,
    }


@st.composite
def private_sends(draw) -> dict:
    """A known, living customer and a personal private message: the path through
    channel choice, caps and quiet hours, where deferrals happen."""
    now = draw(instants)
    intent = draw(st.sampled_from(["relationship", "service", "transactional"]))
    return {
        "request": SendRequest(message_id="M1", intent=intent, journey_id="j",
                               journey_version=1, step_id="s"),
        "contact": replace(draw(contacts(now)), kind="customer", erased=False),
        "mention": None,
        "capabilities": draw(capabilities),
        "config": draw(configs),
        "now": now,
    }


any_case = st.one_of(situations(), private_sends())


def sends_something(decision: Decision) -> bool:
    return decision.status in (Status.SCHEDULED, Status.DEFERRED)


@PROPERTY
@given(any_case)
def test_segment_offers_and_contact_data_never_reach_the_public_channel(case: dict) -> None:
    decision = decide(**case)
    request = case["request"]
    if request.audience == "segment" or request.carries_contact_data:
        assert decision.channel != Channel.SOCIAL


@PROPERTY
@given(any_case)
def test_no_private_channel_without_matching_consent_and_without_suppression(case) -> None:
    decision = decide(**case)
    if decision.channel not in PRIVATE_CHANNELS or not sends_something(decision):
        return
    contact, now = case["contact"], case["now"]
    purpose = (Purpose.MARKETING if case["request"].intent in MARKETING_INTENTS
               else Purpose.TRANSACTIONAL)
    consent = contact.consent_for(decision.channel, purpose)
    assert consent is not None and consent.granted and consent.at <= now
    assert contact.suppression_on(decision.channel) is None
    assert not contact.erased
    assert case["capabilities"].missing_for(decision.channel) is None


@PROPERTY
@given(any_case)
def test_suppression_wins_over_everything(case: dict) -> None:
    decision = decide(**case)
    contact = case["contact"]
    if contact is not None and contact.erased:
        assert decision.status == Status.SUPPRESSED
    if contact is not None and decision.channel is not None and sends_something(decision):
        assert contact.suppression_on(decision.channel) is None


@PROPERTY
@given(any_case)
def test_intents_stay_on_their_side(case: dict) -> None:
    decision = decide(**case)
    if decision.channel is None:
        return
    if case["request"].intent in PUBLIC_INTENTS:
        assert decision.channel == Channel.SOCIAL
    else:
        assert decision.channel in PRIVATE_CHANNELS


@PROPERTY
@given(any_case)
def test_decide_is_deterministic(case: dict) -> None:
    first = decide(**case)
    # Equal but distinct inputs: nothing may depend on object identity or call order.
    copies = {**case, "request": replace(case["request"]), "config": replace(case["config"])}
    if case["contact"] is not None:
        copies["contact"] = replace(case["contact"])
    second = decide(**copies)
    assert first == second
    assert first.as_payload() == second.as_payload()


@PROPERTY
@given(any_case)
def test_a_deferral_points_to_the_future(case: dict) -> None:
    decision = decide(**case)
    if decision.status == Status.DEFERRED:
        assert decision.not_before > case["now"]
    else:
        assert decision.not_before is None


@PROPERTY
@given(any_case)
def test_a_deferred_message_is_scheduled_when_due_on_unchanged_facts(case: dict) -> None:
    decision = decide(**case)
    if decision.status != Status.DEFERRED:
        return
    due_case = {**case, "now": decision.not_before}
    when_due = decide(**due_case)
    assert when_due.status == Status.SCHEDULED, when_due.reason
    assert_sms_only_in_window(due_case, when_due)


@PROPERTY
@given(any_case)
def test_scheduled_sms_is_inside_the_recipient_window(case: dict) -> None:
    assert_sms_only_in_window(case, decide(**case))


def assert_sms_only_in_window(case: dict, decision: Decision) -> None:
    if (decision.status, decision.channel) != (Status.SCHEDULED, Channel.SMS):
        return
    config = case["config"]
    own = load_zone(case["contact"].timezone)
    zones = (own,) if own else tuple(map(load_zone, config.sms_fallback_timezones))
    assert zones
    for zone in zones:
        assert is_inside_window(case["now"], zone, config.sms_window_start,
                                config.sms_window_end)


@PROPERTY
@given(any_case)
def test_every_decision_is_explained_in_primitives(case: dict) -> None:
    decision = decide(**case)
    assert decision.status in POLICY_STATUSES
    assert decision.rule in RULES or decision.rule.startswith(Rule.CAP_PREFIX)
    assert decision.reason.strip()
    assert decision.facts["intent"] == case["request"].intent
    payload = decision.as_payload()
    assert json.loads(json.dumps(payload)) == payload
