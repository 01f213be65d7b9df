"""Hard bounces stop a channel; soft ones do not (domain/suppressions.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.domain.suppressions import bounce_is_hard


@pytest.mark.parametrize("reason", [
    None, "", "bounce", "550 5.1.1 <a@example.com>: user unknown", "5.7.1 rejected",
    "554 permanent failure", "mailbox does not exist"])
def test_hard(reason):
    assert bounce_is_hard(reason)


@pytest.mark.parametrize("reason", [
    "deferred", "blocked", "421 4.7.0 try again later", "4.2.2 mailbox full",
    "452 too many recipients", "Soft bounce", "temporary failure", "quota exceeded"])
def test_soft(reason):
    assert not bounce_is_hard(reason)


@given(st.sampled_from(["4", "5"]), st.integers(0, 9), st.integers(0, 9),
       st.text(alphabet="abcdefghij klmnop", max_size=30))
def test_an_smtp_status_decides_whatever_the_words(klass, second, third, words):
    assert bounce_is_hard(f"{klass}.{second}.{third} {words}") == (klass == "5")


@pytest.mark.parametrize("code", ["21610", "21211", "21614", "30004", "30005", "30006"])
def test_a_twilio_code_that_says_the_number_cannot_receive_is_hard(code):
    assert bounce_is_hard(f"twilio {code}: undelivered")
    assert bounce_is_hard(f"twilio {code}: failed")


@pytest.mark.parametrize("code", ["30003", "30007", "30008", "30001"])
def test_other_twilio_codes_are_soft_even_without_a_soft_word(code):
    # Without the Twilio rule these read as hard (no status code, no soft word).
    assert not bounce_is_hard(f"twilio {code}: undelivered")


def test_the_twilio_code_decides_before_any_smtp_looking_number():
    assert not bounce_is_hard("twilio 30003: failed (550 at the carrier)")
    assert bounce_is_hard("twilio 30005: temporary wording")
