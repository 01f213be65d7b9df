"""Pacing and hand-overs at once for the live HTTP providers, read from the environment:
the defaults without it, the operator's values with it, a clear refusal of a bad value."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.providers.channels import (
    EMAIL_FROM,
    MASTODON_ACCESS_TOKEN,
    SENDGRID_API_KEY,
    TWILIO_ACCOUNT_SID,
    TWILIO_AUTH_TOKEN,
    TWILIO_FROM,
)

from orchestrator.application.running import close_all
from orchestrator.bootstrap import live, read_settings
from orchestrator.errors import UsageError

PROVIDERS = {"SENDGRID_API_KEY": SENDGRID_API_KEY, "ORCHESTRATOR_EMAIL_FROM": EMAIL_FROM,
             "ORCHESTRATOR_SENDGRID_URL": "http://127.0.0.1:1",
             "TWILIO_ACCOUNT_SID": TWILIO_ACCOUNT_SID, "TWILIO_AUTH_TOKEN": TWILIO_AUTH_TOKEN,
             "TWILIO_FROM": TWILIO_FROM, "ORCHESTRATOR_TWILIO_URL": "http://127.0.0.1:1",
             "MASTODON_BASE_URL": "http://127.0.0.1:1",
             "MASTODON_ACCESS_TOKEN": MASTODON_ACCESS_TOKEN}
RATES = ("ORCHESTRATOR_SENDGRID_PER_SECOND", "ORCHESTRATOR_TWILIO_PER_SECOND",
         "ORCHESTRATOR_MASTODON_PER_SECOND")


def adapters(extra: dict[str, str]) -> dict[str, object]:
    settings = read_settings({**PROVIDERS, **extra}, channel_set="live")
    channels = live.live_channels(settings, lambda: datetime(2026, 1, 1, tzinfo=UTC))
    close_all(channels.values())  # nothing was sent: only the settings are looked at
    return {name: channels[name] for name in ("email", "sms", "social")}


def test_without_settings_each_provider_keeps_its_real_pacing():
    found = adapters({})
    assert found["email"].max_per_second == live.SENDGRID_PER_SECOND
    assert found["sms"].max_per_second == live.TWILIO_PER_SECOND
    assert found["social"].max_per_second == live.MASTODON_PER_SECOND
    assert found["email"].max_concurrency == found["sms"].max_concurrency == 16
    assert found["social"].max_concurrency == live.MASTODON_CONCURRENCY


def test_the_operator_sets_each_rate_and_the_concurrency():
    found = adapters({"ORCHESTRATOR_SENDGRID_PER_SECOND": "2000",
                      "ORCHESTRATOR_TWILIO_PER_SECOND": "1.5",
                      "ORCHESTRATOR_MASTODON_PER_SECOND": "300",
                      "ORCHESTRATOR_HTTP_CONCURRENCY": "24"})
    assert found["email"].max_per_second == 2000
    assert found["sms"].max_per_second == 1.5
    assert found["social"].max_per_second == 300
    assert {a.max_concurrency for a in found.values()} == {24}
    # Twilio's kept-alive connections match the hand-overs at once, on http and https.
    session = found["sms"]._http.session
    assert {session.get_adapter(f"{s}://x")._pool_maxsize for s in ("http", "https")} == {24}


@pytest.mark.parametrize("name", RATES)
@pytest.mark.parametrize("value", ["fast", "0", "-5", "inf", "nan", "1e400"])
def test_a_bad_rate_is_refused_naming_the_variable(name, value):
    with pytest.raises(UsageError) as refused:
        read_settings({**PROVIDERS, name: value}, channel_set="live")
    assert str(refused.value).startswith(f"{name}: expected a positive number")
    assert refused.value.exit_code == 2


@given(st.text(max_size=6).filter(lambda t: not (t.isascii() and t.isdigit()
                                                 and len(t) <= 3 and 1 <= int(t) <= 256)))
def test_a_bad_concurrency_is_refused_naming_the_variable(text):
    if text == "":  # empty counts as unset, like every other variable
        return
    with pytest.raises(UsageError) as refused:
        read_settings({"ORCHESTRATOR_HTTP_CONCURRENCY": text})
    assert str(refused.value).startswith("ORCHESTRATOR_HTTP_CONCURRENCY: expected a whole")
