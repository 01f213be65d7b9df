"""Input the policy refuses to judge: it fails loudly instead of deciding on nonsense."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from tests.unit.policy.builders import NOW, consent, contact, reply, request, run

from orchestrator.domain.policy import (
    FrequencyCap,
    MentionFacts,
    PolicyConfig,
    PolicyInputError,
    SuppressionFact,
)
from orchestrator.errors import OrchestratorError


def test_policy_input_errors_belong_to_the_product_error_tree() -> None:
    assert issubclass(PolicyInputError, OrchestratorError)


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(PolicyInputError, match="timezone-aware"):
        run(request(), contact(), now=datetime(2026, 5, 12, 10, 0))


def test_a_reply_needs_its_mention() -> None:
    with pytest.raises(PolicyInputError, match="no mention facts"):
        run(reply(), contact(), mention=None)


@pytest.mark.parametrize(("build", "message"), [
    (lambda: request("newsletter"), "intent"),
    (lambda: request(audience="everyone"), "audience"),
    (lambda: contact(kind="influencer"), "kind"),
    (lambda: contact(stage="vip"), "stage"),
    (lambda: contact(consents={("fax", "marketing"): consent()}), "consent channel"),
    (lambda: contact(consents={("email", "profiling"): consent()}), "consent purpose"),
    (lambda: contact(recent_marketing_sends=(("email", datetime(2026, 5, 1)),)), "aware"),
    (lambda: consent(at=datetime(2026, 5, 1)), "aware"),
    (lambda: SuppressionFact(reason="bored", at=NOW, event_ref="e"), "reason"),
    (lambda: MentionFacts(network="mastodon", stance="furious"), "stance"),
], ids=["intent", "audience", "kind", "stage", "consent-channel", "consent-purpose",
        "naive-send", "naive-consent", "suppression-reason", "stance"])
def test_facts_outside_the_contract_are_refused(build, message: str) -> None:
    with pytest.raises(PolicyInputError, match=message):
        build()


@pytest.mark.parametrize(("settings", "message"), [
    ({"private_channel_order": ()}, "at least one"),
    ({"private_channel_order": ("email", "email")}, "distinct"),
    ({"private_channel_order": ("email", "social")}, "distinct"),
    ({"sms_window_start": time(21), "sms_window_end": time(8)}, "before"),
    ({"sms_fallback_timezones": ("Europe/Atlantis",)}, "unknown IANA zone"),
    ({"frequency_caps": (FrequencyCap(name="d", limit=1, window=timedelta(hours=1),
                                      max_deferral=timedelta(0)),) * 2}, "distinct"),
], ids=["empty-order", "duplicate-channel", "public-channel", "window", "zone", "caps"])
def test_bad_configuration_fails_when_built(settings: dict, message: str) -> None:
    with pytest.raises(PolicyInputError, match=message):
        PolicyConfig(**settings)


def test_a_frequency_cap_needs_a_positive_limit() -> None:
    with pytest.raises(PolicyInputError, match="limit"):
        FrequencyCap(name="daily", limit=0, window=timedelta(hours=24),
                     max_deferral=timedelta(hours=24))


def test_configuration_accepts_plain_sets_and_lists() -> None:
    config = PolicyConfig(private_channel_order=["mail", "email"],
                          no_marketing_kinds={"press"})
    assert config.private_channel_order == ("mail", "email")
    assert config.no_marketing_kinds == frozenset({"press"})
